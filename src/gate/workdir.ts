// The gate's scratch directory: `moe-prefuse-gate-<pid>-XXXXXX` under the system's temp directory,
// removed at the end of the run and on SIGINT/SIGTERM/SIGHUP (reference/cleanup.ts). A gate
// killed with SIGKILL (or a machine that lost power) cannot clean up, so each run first removes
// the work directories of gate processes that no longer exist. Only directories this user owns,
// named exactly as the gate names them, that are not symbolic links, are touched; `--keep-temp`
// directories have another name and are never removed.

import { lstat, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

const PREFIX = "moe-prefuse-gate-";
const KEPT_PREFIX = `${PREFIX}kept-`;
/** mkdtemp's suffix is six characters. */
const WORK_DIR = /^moe-prefuse-gate-(\d+)-[A-Za-z0-9]{6}$/;

/** The mkdtemp prefix of this run's work directory. */
export function workDirPrefix(kept: boolean): string {
  return kept ? KEPT_PREFIX : `${PREFIX}${process.pid}-`;
}

/** Whether process `pid` exists (EPERM: it does, but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the work directories in `tmp` of gate processes that are gone; returns how many. */
export async function removeStaleWorkDirs(tmp: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = WORK_DIR.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const path = join(tmp, name);
    try {
      const st = await lstat(path);
      if (!st.isDirectory() || (process.getuid !== undefined && st.uid !== process.getuid())) continue;
      await rm(path, { recursive: true, force: true });
      removed++;
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}
