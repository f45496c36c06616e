// Processes a candidate started that left its process group (setsid, a daemon's double fork):
// killing the group cannot reach them, and once their parent has exited nothing links them to
// the gate. Each gate run marks its candidates' environment (RUN_MARK_VAR, a fresh random value
// per run) and every descendant inherits it, so at the run's end, and when the gate is
// interrupted, every process still carrying the mark is found and killed: through
// /proc/<pid>/environ on Linux, through `ps -E` (which prints each process's environment after
// its command) elsewhere, macOS included, where oQ's release gate runs.
//
// Best effort, and said so (docs/gate-protocols.md): a process can exec with an emptied
// environment to drop the mark, and one of another user cannot be read. Confining a hostile
// candidate is a container's job; this makes sure an ordinary escaped helper does not outlive
// the run that started it.

import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { beforeCleanup } from "../reference/cleanup.js";

/** The environment variable that carries a run's mark to its candidates and their descendants. */
export const RUN_MARK_VAR = "MOE_PREFUSE_GATE_RUN";

/** Sweeps, at most: a process that forks as fast as it is killed is given up on after this many. */
const PASSES = 5;

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

/** Kills what still carries the run's mark and forgets the run: the number of processes killed. */
export function sweepRun(mark: string): number {
  live.delete(mark);
  return killMarked(mark);
}

/** Lists the pids (other than ours) whose environment holds RUN_MARK_VAR=mark. */
export type MarkedLister = (mark: string) => number[];

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

/**
 * `ps` printing each process's command followed by its environment, one process a line, the pid
 * first: BSD's and macOS's `-E` by default (procps on Linux spells it `e`; its tests use that).
 * A line counts when one of its words is exactly RUN_MARK_VAR=mark; nothing when `ps` fails.
 */
export function psMarked(argv: readonly string[] = ["ps", "-A", "-E", "-ww", "-o", "pid=,command="]): MarkedLister {
  return (mark) => {
    let out: string;
    try {
      out = execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 10_000, maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      return [];
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

/** The processes carrying `mark`, from /proc where there is one, else from `ps`. */
export const markedProcesses: MarkedLister = (mark) => procMarked(mark) ?? psMarked()(mark);

/** Kills every process `list` finds carrying `mark`, sweeping again while it finds more: the number killed. */
export function killMarked(mark: string, list: MarkedLister = markedProcesses): number {
  // A process killed in one pass may still be listed in the next (it dies when next scheduled).
  const killed = new Set<number>();
  for (let pass = 0; pass < PASSES; pass++) {
    const found = list(mark);
    if (found.length === 0) break;
    for (const pid of found) {
      try {
        process.kill(pid, "SIGKILL");
        killed.add(pid);
      } catch {
        // exited between the scan and the kill
      }
    }
  }
  return killed.size;
}
