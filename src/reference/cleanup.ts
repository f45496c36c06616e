// Temporary outputs that must not survive the process. Every atomic write registers its
// temporary path here; on SIGINT, SIGTERM or SIGHUP (a closed terminal, an ssh session that
// drops) they are removed before the process exits, so an interrupted run leaves neither a
// partial output nor its scaffolding. Hooks registered with `beforeCleanup` run first (the gate
// kills its candidates' process groups there, so nothing writes into a directory while it is
// removed). What a SIGKILL leaves behind (nothing can run then) is removed by the next run that
// writes the same target: temporaries are named `<prefix><pid>-<8 hex><suffix>`, and one whose
// process is gone is ours to remove.

import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { lstat, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

const pending = new Set<string>();
const hooks = new Set<() => void>();
let installed = false;

function removeAll(): void {
  for (const h of hooks) h();
  for (const p of pending) rmSync(p, { recursive: true, force: true });
  pending.clear();
}

/** The signals that end a run, with the exit status a shell reports for each (128 + number). */
const ENDING_SIGNALS = [
  ["SIGHUP", 129],
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const;

function install(): void {
  if (installed) return;
  installed = true;
  for (const [signal, code] of ENDING_SIGNALS) {
    process.once(signal, () => {
      removeAll();
      process.exit(code);
    });
  }
  process.once("exit", removeAll);
}

export function registerTemp(path: string): void {
  install();
  pending.add(path);
}

export function releaseTemp(path: string): void {
  pending.delete(path);
}

/** A fresh temporary name `<prefix><our pid>-<8 hex><suffix>` (removeStaleTemps recognises it). */
export function tempName(prefix: string, suffix = ""): string {
  return `${prefix}${process.pid}-${randomBytes(4).toString("hex")}${suffix}`;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Whether process `pid` exists (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Removes from `dir` the temporaries `tempName(prefix, suffix)` made by processes that no longer
 * run: only names that match exactly, only files and directories (never a symlink, which we
 * never make and must not follow), only those owned by this user. A live pid (ours, or a
 * process that reused a dead one's number) keeps its temporary.
 */
export async function removeStaleTemps(dir: string, prefix: string, suffix = ""): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  const ours = new RegExp(`^${escapeRe(prefix)}(\\d+)-[0-9a-f]{8}${escapeRe(suffix)}$`);
  for (const name of names) {
    const pid = Number(ours.exec(name)?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    const path = join(dir, name);
    try {
      const s = await lstat(path);
      if (!(s.isDirectory() || s.isFile()) || (process.getuid !== undefined && s.uid !== process.getuid())) continue;
      await rm(path, { recursive: true, force: true });
      removed++;
    } catch {
      // Gone already, or not ours to remove: either way nothing to do.
    }
  }
  return removed;
}

/** Runs `hook` (synchronously) when the process exits or is interrupted, before temporary paths are removed. */
export function beforeCleanup(hook: () => void): void {
  install();
  hooks.add(hook);
}
