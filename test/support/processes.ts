// Whether a process still runs, for tests that kill processes: one that was killed stays a
// zombie until its reaper waits for it, and kill(pid, 0) cannot tell the two apart.

import { readFileSync } from "node:fs";

/** Whether `pid` runs: it exists and is not a zombie (Linux: /proc/<pid>/stat). */
export function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The pids of `pids` still running after up to `ms` (SIGKILL takes effect when a process is next scheduled). */
export async function stillRunning(pids: readonly number[], ms = 2000): Promise<number[]> {
  for (let waited = 0; waited < ms && pids.some(running); waited += 20) await new Promise((r) => setTimeout(r, 20));
  return pids.filter(running);
}
