// Where `fuse` and `dequant` may write: a new or empty directory that is neither the input checkpoint nor
// inside it (symlinks resolved), so the input is never written to, even by a temporary, and that
// the final rename can replace (not a symlink, not a mount point): all refused before the input
// is even opened, not after gigabytes are written.

import { realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { assertReplaceableDir } from "./atomic.js";
import { CheckpointError, OutputError } from "./errors.js";

/** realpath of a path that may not exist yet: its nearest existing ancestor resolved, the rest appended. */
async function resolveLeniently(path: string): Promise<string> {
  const full = resolve(path);
  try {
    return await realpath(full);
  } catch {
    const parent = dirname(full);
    return parent === full ? full : join(await resolveLeniently(parent), basename(full));
  }
}

/** The checkpoint directory of an input path (a directory, or a .safetensors file's directory). */
async function checkpointDir(input: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(input);
  } catch {
    throw new CheckpointError("NOT_FOUND", "no such file or directory", { file: input });
  }
  return (await stat(real)).isDirectory() ? real : dirname(real);
}

export async function checkOutputPath(input: string, output: string): Promise<void> {
  const inDir = await checkpointDir(input);
  const out = await resolveLeniently(output);
  if (out === inDir || out.startsWith(inDir.endsWith(sep) ? inDir : inDir + sep)) {
    const where = out === inDir ? "is the input checkpoint" : `is inside the input checkpoint ${inDir}`;
    throw new OutputError("OUTPUT_INSIDE_INPUT", `output ${where}; choose a directory outside it`, { file: output });
  }
  await assertReplaceableDir(output);
}
