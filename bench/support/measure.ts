// Measuring helpers for the benchmark scripts: medians, `--name value` options, and running a
// command in a child process for its wall time, CPU time and peak resident memory (from
// `/usr/bin/time -v` when the machine has it, else, for node commands, from the child's own
// `process.resourceUsage().maxRSS` at exit).

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { performance } from "node:perf_hooks";

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface ChildRun {
  readonly wallMs: number;
  /** Peak resident set size of the child, KiB (NaN when it cannot be measured). */
  readonly maxRssKiB: number;
  /** CPU time of the child (user + system), ms: less distorted than wall time on a busy machine. */
  readonly cpuMs: number;
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

const TIME = "/usr/bin/time";
const RSS_MARK = "__moe_prefuse_maxrss__";
// Loaded into a node child with --import when /usr/bin/time is missing.
const REPORT_RSS = `data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();process.stderr.write("\\n${RSS_MARK} "+u.maxRSS+" "+(u.userCPUTime+u.systemCPUTime)/1000+"\\n")})`;

export function runMeasured(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildRun {
  const viaTime = existsSync(TIME);
  const [file, argv] = viaTime ? [TIME, ["-v", cmd, ...args]] : cmd === process.execPath ? [cmd, ["--import", REPORT_RSS, ...args]] : [cmd, [...args]];
  const t0 = performance.now();
  const r = spawnSync(file, argv, { encoding: "utf8", env, maxBuffer: 256 << 20 });
  const wallMs = performance.now() - t0;
  const stderr = r.stderr ?? "";
  const field = (re: RegExp) => Number(re.exec(stderr)?.[1] ?? NaN);
  const own = new RegExp(`${RSS_MARK} (\\d+) ([\\d.]+)`).exec(stderr);
  const maxRssKiB = viaTime ? field(/Maximum resident set size \(kbytes\): (\d+)/) : Number(own?.[1] ?? NaN);
  const cpuMs = viaTime ? (field(/User time \(seconds\): ([\d.]+)/) + field(/System time \(seconds\): ([\d.]+)/)) * 1000 : Number(own?.[2] ?? NaN);
  return { wallMs, maxRssKiB, cpuMs, status: r.status ?? -1, stdout: r.stdout ?? "", stderr };
}

export const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
export const fmtMiB = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

/** runMeasured, failing loudly on a non-zero exit (a benchmark of a failed run means nothing). */
export function runChecked(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildRun {
  const r = runMeasured(cmd, args, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r;
}

/** `--name value` options with defaults. */
export function options<T extends Record<string, string>>(defaults: T, argv = process.argv.slice(2)): T {
  const out: Record<string, string> = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, "");
    if (!(key in defaults) || argv[i + 1] === undefined)
      throw new Error(`unknown or incomplete option ${argv[i]} (known: ${Object.keys(defaults).join(", ")})`);
    out[key] = argv[i + 1]!;
  }
  return out as T;
}

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;
