// Outputs appear whole or not at all: everything is written under a hidden temporary name in
// the destination's own directory (so the final rename never crosses filesystems), then renamed
// into place. On failure or interruption the temporary is removed.

import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { MoePrefuseError, OutputError } from "./errors.js";
import { registerTemp, releaseTemp } from "./cleanup.js";

function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
}

function writeFailed(target: string, e: unknown): OutputError {
  const code = (e as NodeJS.ErrnoException).code;
  const what = code === "ENOSPC" ? "no space left on device" : code === "EFBIG" ? "file too large for this filesystem or limit" : (e as Error).message;
  return new OutputError("WRITE_FAILED", `write failed: ${what}; nothing was written`, { file: target }, { cause: e });
}

/** Runs `build(tempPath)`, then renames the temporary onto `target`. */
async function atomically<T>(target: string, build: (temp: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(target), { recursive: true });
  const temp = tempName(target);
  registerTemp(temp);
  try {
    const result = await build(temp);
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
 * the rename replaces); `build` fills the temporary directory it is given.
 */
export async function writeDirAtomically<T>(target: string, build: (tempDir: string) => Promise<T>): Promise<T> {
  await assertEmptyOrMissing(target);
  return atomically(target, async (temp) => {
    await mkdir(temp);
    return build(temp);
  });
}

export async function assertEmptyOrMissing(target: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR") throw new OutputError("OUTPUT_EXISTS", "output exists and is not a directory", { file: target });
    throw writeFailed(target, e);
  }
  if (entries.length > 0) throw new OutputError("OUTPUT_EXISTS", "output directory exists and is not empty", { file: target });
}
