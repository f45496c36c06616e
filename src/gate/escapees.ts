// Processes a candidate started that left its process group (setsid, a daemon's double fork):
// killing the group cannot reach them, and once their parent has exited nothing links them to
// the gate. Each gate run marks its candidates' environment (RUN_MARK_VAR, a fresh random value
// per run) and every descendant inherits it, so at the run's end, and when the gate is
// interrupted, every process still carrying the mark is found and killed: through
// /proc/<pid>/environ on Linux, through `ps` printing each process's environment elsewhere (macOS
// included, where oQ's release gate runs), and through procps's `ps` on a Linux without /proc.
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

/** What a sweep did: the processes it killed, or that it could not list processes at all. */
export type Sweep = { readonly listed: true; readonly killed: number } | { readonly listed: false; readonly why: string };

/** Kills what still carries the run's mark, and forgets the run. */
export function sweepRun(mark: string): Sweep {
  live.delete(mark);
  return killMarked(mark);
}

/** The pids (other than ours) whose environment holds RUN_MARK_VAR=mark, or why they cannot be listed. */
export type MarkedLister = (mark: string) => number[] | { readonly why: string };

/** Linux: each process's environment as exec gave it; undefined where /proc cannot be listed. */
function procMarked(mark: string): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  // environ is NUL-separated and NUL-ended; a leading NUL lets the first variable match like the others.
  const wanted = Buffer.from(`\0${RUN_MARK_VAR}=${mark}\0`);
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

/** `ps` printing every process's pid, command and environment, one a line: procps spells the environment `e`, BSD and macOS `-E`. */
export const PS_ENVIRONMENT: readonly string[] =
  process.platform === "linux" ? ["ps", "-A", "-ww", "-o", "pid=,command=", "e"] : ["ps", "-A", "-E", "-ww", "-o", "pid=,command="];

/** The processes `ps` (run as `argv`) shows with a word that is exactly RUN_MARK_VAR=mark. */
export function psMarked(argv: readonly string[] = PS_ENVIRONMENT): MarkedLister {
  return (mark) => {
    let out: string;
    try {
      out = execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 10_000, maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "ignore"] });
    } catch (e) {
      return { why: `${argv.join(" ")} failed: ${(e as Error).message.split("\n")[0]}` };
    }
    const word = `${RUN_MARK_VAR}=${mark}`;
    const found: number[] = [];
    for (const line of out.split("\n")) {
      const [pid, ...words] = line.trim().split(/\s+/);
      const n = Number(pid);
      if (Number.isSafeInteger(n) && n > 0 && n !== process.pid && words.includes(word)) found.push(n);
    }
    return found;
  };
}

/** The processes carrying `mark`: from /proc on Linux where it can be listed, else from `ps`. */
export const markedProcesses: MarkedLister = (mark) => (process.platform === "linux" ? procMarked(mark) : undefined) ?? psMarked()(mark);

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
