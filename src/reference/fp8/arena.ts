// The kernel memory: one shared WebAssembly memory that holds every buffer the FP8 pipeline
// computes in (the FP8 pieces read from files, the BF16 results written to them, each thread's
// kernel scratch). The main thread and every pool worker instantiate the kernel over this same
// memory, so a piece read from a file into it is dequantized in place by whichever thread takes
// it, and written to the output file from there: no copy into or out of a module's own memory.
//
// Only the main thread allocates. Blocks are powers of two from 64 KiB, kept per size once
// given back, so a dequantization reuses the same few blocks for every piece; the memory grows
// to the most the pipeline ever holds at once (a few pieces, a bounded prefetch) and never
// shrinks. Past ARENA_LIMIT, or on a runtime without WebAssembly, buffers are plain
// SharedArrayBuffers, which every kernel accepts (the WebAssembly one stages them through its
// scratch).

import { type SharedMemory, WEBASSEMBLY } from "./wasm-api.js";

const PAGE = 65536;
/** Smallest block; every block is a power of two so that a freed one serves any later request of its class. */
const MIN_BLOCK = 64 << 10;
/** The most the buffers of the kernel memory grow to; past it, `take` gives plain SharedArrayBuffers. */
export const ARENA_LIMIT = 256 << 20;
/** The memory's maximum, 1 GiB: the buffers' limit plus a scratch block (2 MiB) for each of up to 256 threads. */
const MAX_PAGES = (1 << 30) / PAGE;

const blockSize = (bytes: number): number => Math.max(MIN_BLOCK, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));

export class Arena {
  private readonly free = new Map<number, number[]>();
  /** The SharedArrayBuffers the memory has returned (a new one after each growth); views over them are the arena's. */
  private readonly generations = new WeakSet<ArrayBufferLike>();
  private top = 0;

  constructor(readonly memory: SharedMemory | undefined) {}

  /** A buffer of at least `bytes`, in the kernel memory when it has room (its length is the block's). */
  take(bytes: number): Uint8Array {
    const size = blockSize(bytes);
    const at = this.free.get(size)?.pop() ?? this.grow(size, ARENA_LIMIT);
    return at === undefined ? new Uint8Array(new SharedArrayBuffer(size)) : this.view(at, size);
  }

  /** A thread's kernel scratch (wasm-kernel.ts): always in the kernel memory, whatever the buffers hold. */
  takeScratch(bytes: number): Uint8Array {
    const size = blockSize(bytes);
    const at = this.free.get(size)?.pop() ?? this.grow(size, MAX_PAGES * PAGE);
    if (at === undefined) throw new RangeError("the FP8 kernel memory has no room for another thread's scratch");
    return this.view(at, size);
  }

  /** Gives back a buffer from `take` (one outside the kernel memory is left to the collector). */
  give(b: Uint8Array): void {
    if (this.offsetOf(b) === undefined) return;
    if (b.length !== blockSize(b.length)) throw new RangeError(`give back the whole block take returned, not a view of ${b.length} bytes`);
    const list = this.free.get(b.length) ?? [];
    list.push(b.byteOffset);
    this.free.set(b.length, list);
  }

  /** The byte offset of `view` in the kernel memory, or undefined when it lies elsewhere. */
  offsetOf(view: ArrayBufferView): number | undefined {
    return this.generations.has(view.buffer) ? view.byteOffset : undefined;
  }

  private view(at: number, size: number): Uint8Array {
    const buffer = this.memory!.buffer;
    this.generations.add(buffer);
    return new Uint8Array(buffer, at, size);
  }

  /** A fresh block at the top, growing the memory as needed; undefined past `limit`. */
  private grow(size: number, limit: number): number | undefined {
    const memory = this.memory;
    if (memory === undefined || this.top + size > limit) return undefined;
    const at = this.top;
    this.top += size;
    const have = memory.buffer.byteLength;
    if (this.top > have) memory.grow(Math.ceil((this.top - have) / PAGE));
    return at;
  }
}

let processArena: Arena | undefined;

/** The process's kernel memory, created on first use by the main thread (workers adopt it: wasm-kernel.ts). */
export function kernelArena(): Arena {
  processArena ??= new Arena(WEBASSEMBLY === undefined ? undefined : new WEBASSEMBLY.Memory({ initial: 1, maximum: MAX_PAGES, shared: true }));
  return processArena;
}
