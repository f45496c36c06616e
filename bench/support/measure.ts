// Small helpers shared by the fuse benchmarks: medians, child processes timed by GNU time
// (wall seconds and peak RSS), argument parsing.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const GNU_TIME = "/usr/bin/time";

export interface Timed {
  /** Wall-clock seconds. */
  readonly seconds: number;
  /** User + system CPU seconds: less sensitive than wall time to other load on a shared machine. */
  readonly cpuSeconds: number;
  readonly maxRssKiB: number;
  readonly stdout: string;
}

/** Runs a command under GNU time; fails loudly on a non-zero exit. */
export function timed(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Timed {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} (GNU time) is needed to measure peak RSS`);
  const r = spawnSync(GNU_TIME, ["-f", "TIME %e %U %S %M", cmd, ...args], { encoding: "utf8", env, maxBuffer: 256 << 20 });
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || m === null) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { seconds: Number(m[1]), cpuSeconds: Number(m[2]) + Number(m[3]), maxRssKiB: Number(m[4]), stdout: r.stdout };
}

/** `--name value` options with defaults. */
export function options<T extends Record<string, string>>(defaults: T, argv = process.argv.slice(2)): T {
  const out: Record<string, string> = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, "");
    if (!(key in defaults) || argv[i + 1] === undefined) throw new Error(`unknown or incomplete option ${argv[i]} (known: ${Object.keys(defaults).join(", ")})`);
    out[key] = argv[i + 1]!;
  }
  return out as T;
}

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;
