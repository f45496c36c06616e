// The gate's scratch directory: `moe-prefuse-gate-<pid>-<8 hex>` under the system's temp
// directory, removed at the end of the run and on SIGINT/SIGTERM/SIGHUP (reference/cleanup.ts).
// A gate killed with SIGKILL (or a machine that lost power) cannot clean up, so each run first
// removes the work directories of gate processes that no longer exist, by the same rule as every
// other temporary of this project (removeStaleTemps: exact names, this user's, never a symbolic
// link). `--keep-temp` directories have another name and are never removed.

import { mkdir, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { removeStaleTemps, tempName } from "../reference/cleanup.js";

const PREFIX = "moe-prefuse-gate-";

/** A new work directory in `tmp`, private to this user. */
export async function makeWorkDir(tmp: string, kept: boolean): Promise<string> {
  if (kept) return await mkdtemp(join(tmp, `${PREFIX}kept-`));
  const dir = join(tmp, tempName(PREFIX));
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/** Removes the work directories in `tmp` of gate processes that are gone; returns how many. */
export function removeStaleWorkDirs(tmp: string): Promise<number> {
  return removeStaleTemps(tmp, PREFIX);
}
