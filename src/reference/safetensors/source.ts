// What the writer consumes: a tensor spec plus its bytes as a stream of chunks. Sources can be
// in-memory tensors, ranges of a file on disk, or computed (a fused tensor assembled expert by
// expert), so a checkpoint is written without ever being held in memory.

import type { Tensor, TensorSpec } from "../tensor.js";
import type { SafetensorsFile } from "./reader.js";

export interface TensorSource extends TensorSpec {
  readonly byteLength: number;
  /**
   * The tensor's bytes, in order. A yielded buffer belongs to the consumer only until it asks
   * for the next one, so a source may refill one buffer again and again.
   */
  chunks(): AsyncIterable<Uint8Array>;
  /**
   * A hint that `chunks()` will be asked for next: a source that computes its bytes may start
   * (read ahead, compute its first chunks) so that it overlaps the write of the tensor before.
   * Never changes the bytes; sources that only move bytes leave it out.
   */
  prefetch?(): void;
  /**
   * Gives back what `prefetch` started when `chunks()` will not be asked for after all (the
   * write failed first): waits for the work in flight and returns its buffers. A no-op when
   * nothing was started. Sources with `prefetch` have it, so a failed write leaves nothing held.
   */
  cancel?(): Promise<void>;
  /**
   * Bytes [offset, offset + target.length) of the tensor, read into `target`: a consumer that
   * needs the bytes in buffers of its own (shared memory for worker threads) reads them there in
   * bounded pieces instead of copying each chunk. Sources that compute their bytes leave it out.
   */
  readRange?(target: Uint8Array, offset: number): Promise<void>;
}

export function tensorSource(t: Tensor): TensorSource {
  return {
    dtype: t.dtype,
    shape: t.shape,
    byteLength: t.data.length,
    async *chunks() {
      yield t.data;
    },
    async readRange(target, offset) {
      if (offset < 0 || offset + target.length > t.data.length)
        throw new RangeError(`bytes [${offset}, ${offset + target.length}) are outside the tensor's ${t.data.length}`);
      target.set(t.data.subarray(offset, offset + target.length));
    },
  };
}

/** Chunk size of file-to-file copies: large enough to amortise syscalls, small against RSS. */
export const COPY_CHUNK = 8 << 20;

/** A tensor read from a safetensors file in bounded chunks through one reused buffer. */
export function fileTensorSource(file: SafetensorsFile, name: string, spec: TensorSpec = file.entry(name)): TensorSource {
  const entry = file.entry(name);
  const byteLength = entry.end - entry.begin;
  return {
    dtype: spec.dtype,
    shape: spec.shape,
    byteLength,
    readRange: (target, offset) => file.readInto(name, target, 0, offset, target.length),
    async *chunks() {
      const buf = new Uint8Array(Math.min(COPY_CHUNK, byteLength));
      for (let off = 0; off < byteLength; off += buf.length) {
        const len = Math.min(buf.length, byteLength - off);
        await file.readInto(name, buf, 0, off, len);
        yield buf.subarray(0, len);
      }
    },
  };
}
