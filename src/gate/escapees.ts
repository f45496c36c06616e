// Processes a candidate started that left its process group (setsid, a daemon's double fork):
// killing the group cannot reach them, and once their parent has exited nothing links them to
// the gate. Each gate run marks its candidates' environment (RUN_MARK_VAR, a fresh random value
// per run) and every descendant inherits it, so at the run's end, and when the gate is
// interrupted, every process still carrying the mark is found and killed: through
// /proc/<pid>/environ on Linux, through `ps` printing each process's environment elsewhere (macOS
// included, where oQ's release gate runs). procps's `ps` (Linux's) is the tests' stand-in for
// macOS's, and the fallback where /proc cannot be listed (where it fails too, and says why).
//
// Best effort, and said so (docs/gate-protocols.md): a process can exec with an emptied
// environment to drop the mark, and one of another user cannot be read. Confining a hostile
// candidate is a container's job; this makes sure an ordinary escaped helper does not outlive
// the run that started it. When no lister works, the sweep says so instead of finding nothing.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { beforeCleanup } from "../reference/cleanup.js";

/** The environment variable that carries a run's mark to its candidates and their descendants. */
export const RUN_MARK_VAR = "MOE_PREFUSE_GATE_RUN";

/**
 * How long a sweep goes on while it still finds marked processes: a killed process is listed
 * until it has died (SIGKILL takes effect when it is next scheduled), and one that forks as fast
 * as it is killed is given up on then.
 */
const SWEEP_MS = 1000;
const PAUSE_MS = 10;

/** Marks of the runs still going, swept if the gate exits or is interrupted first. */
const live = new Set<string>();
let hooked = false;

/** A fresh mark for a gate run, swept at the process's exit unless `sweepRun` came first. */
export function markRun(): string {
  const mark = randomBytes(8).toString("hex");
  live.add(mark);
  if (!hooked) {
    hooked = true;
    beforeCleanup(() => {
      for (const m of live) killMarked(m);
    });
  }
  return mark;
}

/**
 * `env` with `name`=mark as its first variable, whatever `env` held under that name (a gate run
 * inside another marks its own candidates). First, because `ps` cuts a long environment short
 * (procps at about 128 KiB) and the mark must not fall past the cut.
 */
export function markedEnv(env: Readonly<Record<string, string | undefined>>, mark: string, name = RUN_MARK_VAR): Record<string, string> {
  const out: Record<string, string> = { [name]: mark };
  for (const [k, v] of Object.entries(env)) if (k !== name && v !== undefined) out[k] = v;
  return out;
}

/** What a sweep did: the processes it killed, or that it could not list processes at all. */
export type Sweep = { readonly listed: true; readonly killed: number } | { readonly listed: false; readonly why: string };

/** Kills what still carries the run's mark, and forgets the run. */
export function sweepRun(mark: string): Sweep {
  live.delete(mark);
  return killMarked(mark);
}

/** The pids (other than ours) whose environment holds a variable = mark, or why they cannot be listed. */
export type MarkedLister = (mark: string) => number[] | { readonly why: string };

/** Linux: each process's environment as exec gave it; undefined where /proc cannot be listed. */
function procMarked(name: string, mark: string): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  // environ is NUL-separated and NUL-ended; a leading NUL lets the first variable match like the others.
  const wanted = Buffer.from(`\0${name}=${mark}\0`);
  const found: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      if (Buffer.concat([Buffer.of(0), readFileSync(`/proc/${pid}/environ`)]).includes(wanted)) found.push(pid);
    } catch {
      // Gone, or another user's: not ours to judge.
    }
  }
  return found;
}

const PS_PLAIN = ["ps", "-A", "-ww", "-o", "pid=,command="] as const;
/**
 * `ps` listing every process's pid and command, and the same with its environment after the
 * command: procps spells the environment `e`, macOS `-E`.
 */
export const PS: { readonly plain: readonly string[]; readonly environment: readonly string[] } = {
  plain: PS_PLAIN,
  environment: [...PS_PLAIN, process.platform === "linux" ? "e" : "-E"],
};

/** Each pid's one line of `argv`'s output (a pid on two lines, a command with a line break in it, is dropped). */
function psLines(argv: readonly string[]): Map<number, string> | { readonly why: string } {
  let out: string;
  try {
    out = execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 10_000, maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "ignore"] });
  } catch (e) {
    return { why: `${argv.join(" ")} failed: ${(e as Error).message.split("\n")[0]}` };
  }
  const lines = new Map<number, string>();
  const twice = new Set<number>();
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+) (.*)$/.exec(line);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (lines.has(pid)) twice.add(pid);
    lines.set(pid, m[2]!);
  }
  for (const pid of twice) lines.delete(pid);
  return lines;
}

/**
 * The processes whose environment, as `ps` shows it after the command, has a word that is
 * exactly name=mark. The command is what `ps` shows without the environment, so the mark in a
 * process's arguments does not count; a process whose command changed between the two listings
 * waits for the next sweep.
 */
export function psMarked(name: string, ps = PS): MarkedLister {
  return (mark) => {
    const plain = psLines(ps.plain);
    const withEnvironment = psLines(ps.environment);
    if (!(plain instanceof Map)) return plain;
    if (!(withEnvironment instanceof Map)) return withEnvironment;
    const word = `${name}=${mark}`;
    const found: number[] = [];
    for (const [pid, line] of withEnvironment) {
      const command = plain.get(pid);
      if (pid === process.pid || command === undefined || !line.startsWith(command)) continue;
      if (line.slice(command.length).split(/\s+/).includes(word)) found.push(pid);
    }
    return found;
  };
}

/** The processes whose environment holds name=mark: from /proc on Linux where it can be listed, else from `ps`. */
export function processesMarked(name: string): MarkedLister {
  return (mark) => (process.platform === "linux" ? procMarked(name, mark) : undefined) ?? psMarked(name)(mark);
}

/** The processes carrying a gate run's mark. */
export const markedProcesses: MarkedLister = processesMarked(RUN_MARK_VAR);

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Kills every process `list` finds carrying `mark`, and lists again until none is left (or
 * SWEEP_MS has passed), so that what it killed is dead when it returns. Synchronous: it also
 * runs in the exit hooks.
 */
export function killMarked(mark: string, list: MarkedLister = markedProcesses): Sweep {
  const killed = new Set<number>();
  const until = performance.now() + SWEEP_MS;
  for (;;) {
    const found = list(mark);
    if (!Array.isArray(found)) return killed.size > 0 ? { listed: true, killed: killed.size } : { listed: false, why: found.why };
    if (found.length === 0) break;
    for (const pid of found) {
      try {
        process.kill(pid, "SIGKILL");
        killed.add(pid);
      } catch {
        // exited between the listing and the kill
      }
    }
    // What the last listing found is killed too, past the deadline.
    if (performance.now() > until) break;
    Atomics.wait(pause, 0, 0, PAUSE_MS);
  }
  return { listed: true, killed: killed.size };
}
