// Lazy safetensors reading. Opening a file reads its header only; tensor bytes are read on demand
// with positioned reads, so inspecting a checkpoint of any size costs a few kilobytes of I/O and
// streaming a fuse never holds more than the slice it is copying.

import type { FileHandle } from "node:fs/promises";
import { MoePrefuseError, SafetensorsError } from "../errors.js";
import { openRegularFile } from "../input-file.js";
import { type SafetensorsHeader, type TensorEntry, parseHeader, readHeaderSize } from "./header.js";

/** Reads exactly `length` bytes at `position` into `target` at `offset`, looping over short reads. */
export async function readFully(handle: FileHandle, target: Uint8Array, offset: number, length: number, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(target, offset + done, length - done, position + done));
    } catch (e) {
      throw new SafetensorsError(
        "READ_FAILED",
        `read failed at byte ${position + done} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        { file },
        { cause: e },
      );
    }
    if (bytesRead === 0) {
      throw new SafetensorsError("READ_FAILED", `unexpected end of file at byte ${position + done}`, { file });
    }
    done += bytesRead;
  }
}

export class SafetensorsFile {
  readonly tensors: ReadonlyMap<string, TensorEntry>;

  private constructor(
    readonly path: string,
    readonly header: SafetensorsHeader,
    private readonly handle: FileHandle,
  ) {
    const tensors = new Map<string, TensorEntry>();
    for (const t of header.tensors) tensors.set(t.name, t);
    this.tensors = tensors;
  }

  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await openRegularFile(path);
    } catch (e) {
      if (e instanceof MoePrefuseError) throw e;
      throw new SafetensorsError("READ_FAILED", `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file: path });
    }
    try {
      const { size } = await handle.stat();
      const prefix = new Uint8Array(Math.min(8, size));
      await readFully(handle, prefix, 0, prefix.length, 0, path);
      const n = readHeaderSize(prefix, size, path);
      const bytes = new Uint8Array(8 + n);
      bytes.set(prefix);
      await readFully(handle, bytes, 8, n, 8, path);
      return new SafetensorsFile(path, parseHeader(bytes, size, path), handle);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  get metadata(): Readonly<Record<string, string>> | undefined {
    return this.header.metadata;
  }

  entry(name: string): TensorEntry {
    const t = this.tensors.get(name);
    if (t === undefined) throw new SafetensorsError("TENSOR_NOT_FOUND", "no such tensor", { file: this.path, tensor: name });
    return t;
  }

  /** Reads `length` bytes of the tensor starting `offset` bytes into it, into `target` at `targetOffset`. */
  async readInto(name: string, target: Uint8Array, targetOffset = 0, offset = 0, length?: number): Promise<void> {
    const t = this.entry(name);
    const size = t.end - t.begin;
    const len = length ?? size - offset;
    if (offset < 0 || len < 0 || offset + len > size || targetOffset + len > target.length) {
      throw new SafetensorsError("READ_FAILED", `read of ${len} bytes at ${offset} is outside the tensor's ${size} bytes`, { file: this.path, tensor: name });
    }
    await readFully(this.handle, target, targetOffset, len, this.header.dataStart + t.begin + offset, this.path);
  }

  /** The whole tensor's bytes, freshly allocated. */
  async read(name: string): Promise<Uint8Array> {
    const t = this.entry(name);
    const out = new Uint8Array(t.end - t.begin);
    await this.readInto(name, out);
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
