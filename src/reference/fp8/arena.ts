// The kernel memory: one shared WebAssembly memory that holds every buffer the FP8 pipeline
// computes in (the FP8 pieces read from files, the BF16 results written to them, each thread's
// kernel scratch). The main thread and every pool worker instantiate the kernel over this same
// memory, so a piece read from a file into it is dequantized in place by whichever thread takes
// it, and written to the output file from there: no copy into or out of a module's own memory.
//
// Only the main thread allocates. Blocks come in size classes, kept per class once given back, so
// a dequantization reuses the same few blocks for every piece; the memory grows to the most the
// pipeline ever holds at once (a few pieces, a bounded prefetch, the fuse's two step buffers) and
// never shrinks. Up to PIECE_CLASS_LIMIT the classes are powers of two (the view's pieces, whose
// tails come in every size, share a few classes); above it they are multiples of it, so that a
// fuse's step buffer of 80 MiB takes 80 MiB of the limit and not 128. Past ARENA_LIMIT, or on a
// runtime without WebAssembly, buffers are plain SharedArrayBuffers, which every kernel accepts
// (the WebAssembly one stages them through its scratch); they too are kept per class once given
// back, so that a long run past the limit reuses them instead of leaving one per piece to the
// garbage collector (measured: 90 new 4 MiB buffers and a peak of 467 MiB in a fuse whose steps
// had filled the old 256 MiB limit).

import { type SharedMemory, WEBASSEMBLY } from "./wasm-api.js";

const PAGE = 65536;
/** Smallest block; below PIECE_CLASS_LIMIT every block is a power of two so that a freed one serves any later request of its class. */
const MIN_BLOCK = 64 << 10;
/** Largest power-of-two class: the view's largest buffer (a BF16 piece of DEQUANT_CHUNK_ELEMENTS). */
export const PIECE_CLASS_LIMIT = 8 << 20;
/**
 * The most the buffers of the kernel memory grow to; past it, `take` gives plain
 * SharedArrayBuffers. Room for two step buffers of the largest experts shipped in FP8 and the
 * pieces in flight beside them.
 */
export const ARENA_LIMIT = 1 << 30;
/**
 * The memory's maximum, 1.5 GiB: the buffers' limit plus a scratch block (2 MiB) for each of up
 * to 256 threads, every offset below 2^31 (the work queue holds them as int32).
 */
export const KERNEL_MEMORY_PAGES = (3 << 29) / PAGE;

/** The size class of a request: a power of two from 64 KiB up to PIECE_CLASS_LIMIT, a multiple of it above. */
export const blockSize = (bytes: number): number =>
  bytes > PIECE_CLASS_LIMIT ? Math.ceil(bytes / PIECE_CLASS_LIMIT) * PIECE_CLASS_LIMIT : Math.max(MIN_BLOCK, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));

export class Arena {
  private readonly free = new Map<number, number[]>();
  /** The SharedArrayBuffers the memory has returned (a new one after each growth); views over them are the arena's. */
  private readonly generations = new WeakSet<ArrayBufferLike>();
  /** Plain buffers `take` made past the limit, and those of them given back, by class. */
  private readonly outside = new WeakSet<ArrayBufferLike>();
  private readonly spare = new Map<number, Uint8Array[]>();
  private top = 0;

  constructor(readonly memory: SharedMemory | undefined) {}

  /** A buffer of at least `bytes`, in the kernel memory when it has room (its length is the block's). */
  take(bytes: number): Uint8Array {
    const size = blockSize(bytes);
    const at = this.free.get(size)?.pop() ?? this.grow(size, ARENA_LIMIT);
    if (at !== undefined) return this.view(at, size);
    const spare = this.spare.get(size)?.pop();
    if (spare !== undefined) return spare;
    const b = new Uint8Array(new SharedArrayBuffer(size));
    this.outside.add(b.buffer);
    return b;
  }

  /** A thread's kernel scratch (wasm-kernel.ts): always in the kernel memory, whatever the buffers hold. */
  takeScratch(bytes: number): Uint8Array {
    const size = blockSize(bytes);
    const at = this.free.get(size)?.pop() ?? this.grow(size, KERNEL_MEMORY_PAGES * PAGE);
    if (at === undefined) throw new RangeError("the FP8 kernel memory has no room for another thread's scratch");
    return this.view(at, size);
  }

  /** Gives back a buffer from `take` (a buffer it did not make is left to the collector). */
  give(b: Uint8Array): void {
    const inside = this.offsetOf(b) !== undefined;
    if (!inside && !this.outside.has(b.buffer)) return;
    if (b.length !== blockSize(b.length) || (!inside && b.byteLength !== b.buffer.byteLength))
      throw new RangeError(`give back the whole block take returned, not a view of ${b.length} bytes`);
    if (inside) pushTo(this.free, b.length, b.byteOffset);
    else pushTo(this.spare, b.length, b);
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

function pushTo<T>(lists: Map<number, T[]>, size: number, item: T): void {
  const list = lists.get(size) ?? [];
  list.push(item);
  lists.set(size, list);
}

let processArena: Arena | undefined;

/** The process's kernel memory, created on first use by the main thread (workers adopt it: wasm-kernel.ts). */
export function kernelArena(): Arena {
  processArena ??= new Arena(WEBASSEMBLY === undefined ? undefined : new WEBASSEMBLY.Memory({ initial: 1, maximum: KERNEL_MEMORY_PAGES, shared: true }));
  return processArena;
}
