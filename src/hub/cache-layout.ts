// The Hugging Face cache layout, shared with Python's huggingface_hub:
//   <cache>/models--owner--name/blobs/<etag>            file contents (etag: LFS sha256 or git sha1)
//   <cache>/models--owner--name/snapshots/<commit>/<path> relative symlink to the blob
//   <cache>/models--owner--name/refs/<revision>          the commit a branch or tag pointed to
// Every write lands atomically (a temporary in the same directory, then a rename), and no
// repository path may leave its snapshot directory.

import { copyFile, mkdir, readdir, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { keepMode } from "../reference/atomic.js";
import { registerTemp, releaseTemp, removeStaleTemps, tempName } from "../reference/cleanup.js";
import { CONFIG_FILE, SINGLE_FILE } from "../reference/checkpoint.js";
import { readRegularFile } from "../reference/input-file.js";
import { INDEX_FILE, parseShardIndex } from "../reference/safetensors/shard-index.js";
import { HubError } from "./errors.js";
import { COMMIT_HASH } from "./repo-ref.js";

export function repoFolder(cacheDir: string, repo: string): string {
  return join(cacheDir, `models--${repo.split("/").join("--")}`);
}

export function snapshotDir(folder: string, commit: string): string {
  return join(folder, "snapshots", commit);
}

export function blobPath(folder: string, etag: string): string {
  return join(folder, "blobs", etag);
}

/** `base/rel` for a repository path, refusing absolute paths and any escape from `base`. */
export function insideDir(base: string, rel: string, where: string): string {
  const bad = rel === "" || rel.includes("\\") || rel.includes("\0") || isAbsolute(rel) || /^[A-Za-z]:/.test(rel) || rel.split("/").some((s) => s === "..");
  const full = resolve(base, rel);
  const back = relative(resolve(base), full);
  if (bad || back === "" || back.startsWith(`..${sep}`) || back === ".." || isAbsolute(back)) {
    throw new HubError("UNSAFE_PATH", `the repository lists '${rel}', a path outside its snapshot directory; nothing was downloaded`, { file: where });
  }
  return full;
}

export async function readRef(folder: string, revision: string): Promise<string | undefined> {
  try {
    const commit = (await readRegularFile(join(folder, "refs", revision), 1024)).trim();
    return COMMIT_HASH.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

export function writeRef(folder: string, revision: string, commit: string): Promise<void> {
  return installAtomically(join(folder, "refs", revision), ".tmp", (temp) => writeFile(temp, commit));
}

/** Size of the file at `path` (following symlinks), or undefined when there is none. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds `target` under a temporary name next to it (`suffix` marks what it is) and renames it
 * into place: `build` writes the temporary and may throw, and then (or on SIGINT, SIGTERM or
 * SIGHUP) the temporary is removed, so `target` is either whole or untouched. Temporaries of
 * `target` left by a killed run (`<target>.<pid>-<hex><suffix>`, pid gone) are removed first.
 */
export async function installAtomically(target: string, suffix: string, build: (temp: string) => Promise<void>): Promise<void> {
  const dir = dirname(target);
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(dir, `${basename(target)}.`, suffix);
  const temp = join(dir, tempName(`${basename(target)}.`, suffix));
  registerTemp(temp);
  try {
    await build(temp);
    await keepMode(temp, target);
    await rename(temp, target);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  } finally {
    releaseTemp(temp);
  }
}

/**
 * Points `pointer` at `blob` with a relative symlink (a copy where symlinks are not allowed),
 * replacing whatever was there in one rename.
 */
export function linkBlob(blob: string, pointer: string): Promise<void> {
  return installAtomically(pointer, ".tmp", async (temp) => {
    try {
      await symlink(relative(dirname(pointer), blob), temp);
    } catch {
      await copyFile(blob, temp);
    }
  });
}

/**
 * Whether a snapshot holds a whole checkpoint: config.json (the fetcher downloads it last) and
 * the weights as Checkpoint.open finds them (every shard of the index, model.safetensors, or a
 * single .safetensors file). Used to serve pinned commits without a request, including
 * snapshots Python downloaded.
 */
export async function snapshotComplete(dir: string): Promise<boolean> {
  if ((await fileSize(join(dir, CONFIG_FILE))) === undefined) return false;
  const indexFile = join(dir, INDEX_FILE);
  if ((await fileSize(indexFile)) !== undefined) {
    try {
      const index = parseShardIndex(await readRegularFile(indexFile), indexFile);
      for (const shard of new Set(index.weightMap.values())) {
        if ((await fileSize(insideDir(dir, shard, indexFile))) === undefined) return false;
      }
      return index.weightMap.size > 0;
    } catch {
      return false;
    }
  }
  if ((await fileSize(join(dir, SINGLE_FILE))) !== undefined) return true;
  const weights = (await readdir(dir)).filter((n) => n.endsWith(".safetensors"));
  return weights.length === 1 && (await fileSize(join(dir, weights[0]!))) !== undefined;
}
