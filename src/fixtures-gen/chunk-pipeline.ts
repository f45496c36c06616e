// Streaming producers to the checkpoint writer, computing ahead. The writer asks for chunks in
// a known order (its file layout) and awaits each write, which runs on libuv's thread pool; the
// pipeline uses that wait to compute the next chunk into a second buffer (a setImmediate task),
// so generating and writing overlap on two cores. Two reused buffers bound the memory; a
// request out of the expected order is simply computed on the spot.

import type { TensorSource } from "../reference/safetensors/source.js";
import type { TensorProducer } from "./producers.js";

/** Chunk size: a multiple of every sign-pattern period in bytes, large enough to amortise syscalls. */
const GEN_CHUNK = 8 << 20;

interface Pending {
  readonly index: number;
  readonly buffer: 0 | 1;
  handle: NodeJS.Immediate | undefined;
  error?: unknown;
}

export class ChunkPipeline {
  private readonly schedule: { name: string; offset: number; length: number }[] = [];
  private readonly position = new Map<string, number>();
  private readonly buffers: [Uint8Array, Uint8Array];
  private held: 0 | 1 = 1;
  private pending: Pending | undefined;

  constructor(
    private readonly producers: ReadonlyMap<string, TensorProducer>,
    order: readonly string[],
    private readonly chunkSize = GEN_CHUNK,
  ) {
    let largest = 0;
    for (const name of order) {
      const n = producers.get(name)!.byteLength;
      for (let offset = 0; offset < n; offset += chunkSize) {
        this.position.set(`${name}\0${offset}`, this.schedule.length);
        this.schedule.push({ name, offset, length: Math.min(chunkSize, n - offset) });
      }
      largest = Math.max(largest, Math.min(chunkSize, n));
    }
    this.buffers = [new Uint8Array(largest), new Uint8Array(largest)];
  }

  private fillInto(buffer: 0 | 1, name: string, offset: number, length: number): Uint8Array {
    const view = this.buffers[buffer].subarray(0, length);
    this.producers.get(name)!.fill(view, offset);
    return view;
  }

  private chunk(name: string, offset: number, length: number): Uint8Array {
    const index = this.position.get(`${name}\0${offset}`) ?? -1;
    let buffer: 0 | 1;
    const p = this.pending;
    this.pending = undefined;
    if (p !== undefined && p.index === index) {
      if (p.error !== undefined) throw p.error;
      buffer = p.buffer;
      if (p.handle !== undefined) {
        // Not computed yet (the writer did not wait): compute it now.
        clearImmediate(p.handle);
        this.fillInto(buffer, name, offset, length);
      }
    } else {
      if (p?.handle !== undefined) clearImmediate(p.handle);
      buffer = this.held === 0 ? 1 : 0;
      this.fillInto(buffer, name, offset, length);
    }
    // The consumer asked for this chunk, so it is done with the one it held: compute ahead into it.
    this.held = buffer;
    const next = this.schedule[index + 1];
    if (index >= 0 && next !== undefined) {
      const ahead: Pending = { index: index + 1, buffer: buffer === 0 ? 1 : 0, handle: undefined };
      ahead.handle = setImmediate(() => {
        ahead.handle = undefined;
        try {
          this.fillInto(ahead.buffer, next.name, next.offset, next.length);
        } catch (e) {
          ahead.error = e;
        }
      });
      this.pending = ahead;
    }
    return this.buffers[buffer].subarray(0, length);
  }

  source(name: string): TensorSource {
    const p = this.producers.get(name)!;
    const pipeline = this;
    return {
      dtype: p.dtype,
      shape: p.shape,
      byteLength: p.byteLength,
      async *chunks() {
        for (let offset = 0; offset < p.byteLength; offset += pipeline.chunkSize) {
          yield pipeline.chunk(name, offset, Math.min(pipeline.chunkSize, p.byteLength - offset));
        }
      },
    };
  }

  /** Cancels any computation still scheduled (after a failed write). */
  close(): void {
    if (this.pending?.handle !== undefined) clearImmediate(this.pending.handle);
    this.pending = undefined;
  }
}
