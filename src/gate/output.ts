// Reading what a candidate left at {output}, as a hostile file: never following a symbolic link
// (O_NOFOLLOW), never blocking on a FIFO (O_NONBLOCK, then fstat), regular files only (no device
// such as /dev/zero, no directory or socket), at most `maxBytes` of it in memory (a larger file is
// refused before a byte is read), and within a deadline. The output's directory must
// still be the one the gate made (a candidate could swap it for a symbolic link).

import { constants } from "node:fs";
import { type FileHandle, lstat, open } from "node:fs/promises";
import { dirname } from "node:path";
import { formatBytes } from "../reference/size.js";

/** What the candidate left at {output}: the bytes, or why there are none. */
export type OutputRead = { readonly bytes: Uint8Array } | { readonly missing: true } | { readonly unreadable: string };

export interface OutputLimits {
  /** The largest output read (`--max-output-size`, else a multiple of the expected size). */
  readonly maxBytes: number;
  /** performance.now() past which reading stops (--timeout after the candidate's answer). */
  readonly deadline: number;
  /** Device and inode of the output directory the gate made. */
  readonly dir: { readonly dev: number; readonly ino: number };
}

const CHUNK = 1 << 20;

function kindOf(s: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (s.isDirectory()) return "a directory";
  if (s.isFIFO()) return "a FIFO";
  if (s.isCharacterDevice() || s.isBlockDevice()) return "a device";
  if (s.isSocket()) return "a socket";
  return "not a regular file";
}

export async function readCandidateOutput(path: string, limits: OutputLimits): Promise<OutputRead> {
  try {
    const d = await lstat(dirname(path));
    if (!d.isDirectory() || d.dev !== limits.dir.dev || d.ino !== limits.dir.ino) return { unreadable: "its directory was replaced (not followed)" };
  } catch {
    return { unreadable: "its directory was removed" };
  }
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { missing: true };
    if (code === "ELOOP") return { unreadable: "it is a symbolic link (not followed)" };
    if (code === "ENXIO") return { unreadable: "it is a socket or a FIFO" };
    return { unreadable: (e as Error).message };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { unreadable: `it is ${kindOf(st)}, not a regular file` };
    if (st.size > limits.maxBytes)
      return { unreadable: `it is ${formatBytes(st.size)}, more than the ${formatBytes(limits.maxBytes)} --max-output-size allows` };
    // Only the size fstat gave is read: a file still growing (an escaped child writing) is cut there.
    const bytes = new Uint8Array(st.size);
    let at = 0;
    while (at < bytes.length) {
      if (performance.now() > limits.deadline) return { unreadable: "reading it took longer than --timeout" };
      const { bytesRead } = await fh.read(bytes, at, Math.min(CHUNK, bytes.length - at), at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return { bytes: at === bytes.length ? bytes : bytes.subarray(0, at) };
  } catch (e) {
    return { unreadable: (e as Error).message };
  } finally {
    await fh.close();
  }
}
