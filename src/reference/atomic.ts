// Outputs appear whole or not at all: everything is written under a hidden temporary name in
// the destination's own directory (so the final rename never crosses filesystems), then renamed
// into place. On failure or interruption the temporary is removed, and the temporaries of runs
// that were killed outright are removed by the next write of the same target (cleanup.ts).
//
// A target that exists keeps its permissions: the rename replaces the inode, so the temporary
// takes the old one's mode first. Keeping is better than refusing: `mkdir -m 700 out` before a
// run is the ordinary way to keep an output private, and it should work, not be opened up to
// 0755 or turned down. (ACLs and extended attributes of the old directory are not carried over.)
// A directory is given its mode before anything is written into it, so its contents are never
// readable through a laxer temporary.

import type { Stats } from "node:fs";
import { chmod, lstat, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { MoePrefuseError, OutputError } from "./errors.js";
import { registerTemp, releaseTemp, removeStaleTemps, tempName } from "./cleanup.js";

const tempPrefix = (target: string) => `.${basename(target)}.tmp-`;

/** Permission bits (with setuid, setgid and sticky) of an existing target. */
const modeOf = (s: Stats) => s.mode & 0o7777;

/**
 * Gives `temp` the permissions of the file or directory it is about to replace, if there is
 * one. A symlink target is left alone: the rename replaces the link, and chmod would follow it.
 */
export async function keepMode(temp: string, target: string): Promise<void> {
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isFile() || existing?.isDirectory()) await chmod(temp, modeOf(existing));
}

function writeFailed(target: string, e: unknown): OutputError {
  const code = (e as NodeJS.ErrnoException).code;
  const what = code === "ENOSPC" ? "no space left on device" : code === "EFBIG" ? "file too large for this filesystem or limit" : (e as Error).message;
  return new OutputError("WRITE_FAILED", `write failed: ${what}; nothing was written`, { file: target }, { cause: e });
}

/** Runs `build(tempPath)`, then renames the temporary onto `target` (which keeps its mode, if it exists). */
async function atomically<T>(target: string, build: (temp: string) => Promise<T>): Promise<T> {
  const dir = dirname(target);
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(dir, tempPrefix(target));
  const temp = join(dir, tempName(tempPrefix(target)));
  registerTemp(temp);
  try {
    const result = await build(temp);
    await keepMode(temp, target);
    await rename(temp, target);
    return result;
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    // The harness's own errors (a bad input tensor, a read failure) keep their type and message.
    if (e instanceof MoePrefuseError) throw e;
    throw writeFailed(target, e);
  } finally {
    releaseTemp(temp);
  }
}

/** Writes one file atomically; `write` receives the temporary path to create. */
export function writeFileAtomically<T>(target: string, write: (temp: string) => Promise<T>): Promise<T> {
  return atomically(target, write);
}

/**
 * Builds a whole directory atomically. `target` must not exist or be an empty directory (which
 * the rename replaces, keeping its mode); `build` fills the temporary directory it is given.
 */
export async function writeDirAtomically<T>(target: string, build: (tempDir: string) => Promise<T>): Promise<T> {
  const existing = await assertReplaceableDir(target);
  return atomically(target, async (temp) => {
    await mkdir(temp);
    if (existing !== undefined) await chmod(temp, modeOf(existing));
    return build(temp);
  });
}

/**
 * Refuses, before anything is written, a directory target the final rename cannot replace: one
 * that exists and is not an empty directory, a symbolic link (rename would replace the link,
 * not fill what it points to), or a mount point (rename cannot replace it; EBUSY or EXDEV only
 * after all the work). Returns the empty directory's stats, or undefined when there is none.
 */
export async function assertReplaceableDir(output: string): Promise<Stats | undefined> {
  // Without a trailing slash, which would make lstat follow a symlink.
  const target = resolve(output);
  let s: Stats;
  try {
    s = await lstat(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw writeFailed(output, e);
  }
  if (s.isSymbolicLink())
    throw new OutputError("OUTPUT_UNREPLACEABLE", "output is a symbolic link; name a new directory, or the directory it points to", { file: output });
  if (!s.isDirectory()) throw new OutputError("OUTPUT_EXISTS", "output exists and is not a directory", { file: output });
  const parent = await stat(dirname(target));
  if (parent.dev !== s.dev || parent.ino === s.ino) {
    throw new OutputError("OUTPUT_UNREPLACEABLE", "output is a mount point, which the final rename cannot replace; name a new directory inside it", {
      file: output,
    });
  }
  let entries: string[];
  try {
    entries = await readdir(target);
  } catch (e) {
    throw writeFailed(output, e);
  }
  if (entries.length > 0) throw new OutputError("OUTPUT_EXISTS", "output directory exists and is not empty", { file: output });
  return s;
}
