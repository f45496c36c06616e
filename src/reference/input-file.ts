// Opening the files of a checkpoint someone else made. Each must be a regular file: a FIFO would
// block the open (or the read) forever, and a device like /dev/zero or /dev/urandom reads
// without end. So every input is opened non-blocking (a FIFO with no writer opens at once
// instead of waiting for one), checked with fstat on the very descriptor that will be read (no
// window between a check and the open), and refused in one line unless it is a regular file.
// O_NONBLOCK changes nothing for a regular file's reads. Symbolic links are followed: the
// Hugging Face cache is made of them.
//
// JSON read from such files (config.json) is parsed with bounded nesting: JSON.parse itself
// copes with any depth, but everything that walks the tree afterwards (JSON.stringify when the
// config is written back, the config readers) recurses, and a config nested thousands deep
// would overflow the stack far from the file that caused it.

import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { CheckpointError } from "./errors.js";

/** Opens `path` for reading, refusing (CheckpointError NOT_REGULAR_FILE) anything but a regular file. */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const s = await handle.stat();
    if (!s.isFile()) {
      const kind = s.isFIFO()
        ? "a FIFO"
        : s.isCharacterDevice()
          ? "a character device"
          : s.isBlockDevice()
            ? "a block device"
            : s.isSocket()
              ? "a socket"
              : s.isDirectory()
                ? "a directory"
                : "not a regular file";
      throw new CheckpointError("NOT_REGULAR_FILE", `is ${kind}, not a regular file; inputs must be regular files`, { file: path });
    }
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Largest JSON file (config.json, an index) read into memory. Real ones are kilobytes to a few MB. */
export const MAX_JSON_FILE_BYTES = 64 << 20;

/** The text of a regular file of at most `maxBytes` bytes (CheckpointError FILE_TOO_LARGE beyond). */
export async function readRegularFile(path: string, maxBytes = MAX_JSON_FILE_BYTES): Promise<string> {
  const handle = await openRegularFile(path);
  try {
    const { size } = await handle.stat();
    if (size > maxBytes)
      throw new CheckpointError("FILE_TOO_LARGE", `is ${size} bytes, more than the ${maxBytes} read for a file of this kind`, { file: path });
    // One byte more than fstat says: a file that grows meanwhile is caught, not read without end.
    const buffer = Buffer.alloc(size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, got, buffer.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > size) throw new CheckpointError("FILE_TOO_LARGE", `grew while it was read (fstat said ${size} bytes)`, { file: path });
    }
    return buffer.toString("utf8", 0, got);
  } finally {
    await handle.close();
  }
}

/** Deepest nesting of arrays and objects accepted in a config; real ones nest about five deep. */
export const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of arrays and objects in a JSON text, scanned without recursion (string
 * contents skipped). Stops counting at `limit` + 1.
 */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string: its closing quote is the first not escaped by an odd run of backslashes.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}
