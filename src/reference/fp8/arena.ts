// The kernel memory: one shared WebAssembly memory that holds every buffer the FP8 pipeline
// computes in (the FP8 pieces read from files, the BF16 results written to them, each thread's
// kernel scratch). The main thread and every pool worker instantiate the kernel over this same
// memory, so a piece read from a file into it is dequantized in place by whichever thread takes
// it, and written to the output file from there: no copy into or out of a module's own memory.
//
// Only the main thread allocates. Blocks come in size classes, kept per class once given back, so
// a dequantization reuses the same few blocks for every piece; the memory grows to the most the
// pipeline ever holds at once (a few pieces, a bounded prefetch, the fuse's two step buffers).
// It never shrinks (WebAssembly memories cannot), but a block given back at the top brings the
// top down over it and over the free blocks below, so runs of other shapes one after another in
// a long-lived process reuse the same bytes: the memory is the most one run held, not the sum
// of every class any run used.
//
// A thread keeps its scratch block for its pool's life, so a scratch block lent above a run's
// buffers holds the top up until its pool closes, and for good for the default pool (never
// closed). The process's memory therefore reserves a scratch block per core (at most
// SCRATCH_UP_FRONT) at its bottom, for the main thread and the default pool's workers only;
// another pool takes its workers' scratch from the top when it is made, before the buffers of
// the runs it serves, and gives it back when it closes (pool.ts). Threads beyond SCRATCH_UP_FRONT
// take theirs as they start, above the buffers of the run then going. The reserve is grown at
// once: its pages are resident only once a thread computes, but Linux charges grown pages to the
// data segment (`ulimit -d`) and the commit limit at once, which is why, beyond the reserve, the
// memory grows only as far as it is used. (Scratch in a region of its own above the buffers'
// limit made a 1 GiB gap writable: `ulimit -d 512M` then failed the smallest dequantization.)
//
// Up to PIECE_CLASS_LIMIT the classes are powers of two (the view's pieces, whose tails come in
// every size, share a few classes); above it they are multiples of it, so that a fuse's step
// buffer of 80 MiB takes 80 MiB of the limit and not 128: with powers of two, two such buffers
// filled the limit and pushed every piece after them out of the memory, where no worker can
// compute it. Past ARENA_LIMIT, when the system refuses to grow the memory, or on a runtime
// without WebAssembly, buffers are plain SharedArrayBuffers, which every kernel accepts (the
// WebAssembly one stages them through its scratch); those of a piece's class are kept once given
// back too, so that a long run past the limit does not leave one per piece to the collector.
// Scratch blocks have free lists of their own, so buffers never take the room kept for threads.
// Every block handed out is recorded until it comes back: giving back twice, or a view that is
// not the whole block, is refused.

import { defaultThreads } from "./threads.js";
import { type SharedMemory, WEBASSEMBLY } from "./wasm-api.js";

const PAGE = 65536;
/** Smallest block; up to PIECE_CLASS_LIMIT every block is a power of two so that a freed one serves any later request of its class. */
const MIN_BLOCK = 64 << 10;
/** Largest power-of-two class: the view's largest buffer, a BF16 piece of DEQUANT_CHUNK_ELEMENTS (view.ts; its test holds the two together). */
export const PIECE_CLASS_LIMIT = 8 << 20;
/**
 * The most the buffers of the kernel memory take above the reserve; past it, `take` gives plain
 * SharedArrayBuffers. Room for a fuse's two step buffers of up to 480 MiB each (one expert's
 * gate_up of [2 x 24576, 5120] in BF16) beside the pieces of their readers.
 */
export const ARENA_LIMIT = 1 << 30;
/** A thread's scratch block: the class of wasm-kernel.ts's SCRATCH_BYTES (its test holds the two together). */
export const SCRATCH_BLOCK = 2 << 20;
/**
 * Scratch blocks taken up front, at most: the reserve holds this many (the main thread's and the
 * default pool's first workers') and a pool takes this many of its workers' when it is made; more
 * threads take theirs as they start. Up front, blocks cost the data segment before they are
 * resident: one a core would be 256 MiB for the reserve alone on 128 cores.
 */
export const SCRATCH_UP_FRONT = 16;
/**
 * The memory's maximum, 1.5 GiB: the reserve, the buffers' limit above it, and scratch for up to
 * 256 threads in all; every offset below 2^31 (the work queue holds them as int32).
 */
export const KERNEL_MEMORY_PAGES = (3 << 29) / PAGE;

/** The size class of a request: a power of two from 64 KiB up to PIECE_CLASS_LIMIT, a multiple of it above. */
export const blockSize = (bytes: number): number =>
  bytes > PIECE_CLASS_LIMIT ? Math.ceil(bytes / PIECE_CLASS_LIMIT) * PIECE_CLASS_LIMIT : Math.max(MIN_BLOCK, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));

export class Arena {
  /** Free blocks of the kernel memory by class, buffers' and scratch's; and the free blocks of the reserve. */
  private readonly free = new Map<number, number[]>();
  private readonly freeScratch = new Map<number, number[]>();
  private readonly reserve: number[] = [];
  /** Blocks of the kernel memory handed out, by offset: their class and kind. */
  private readonly lent = new Map<number, Block>();
  /** Free blocks above the reserve by their end, so that the top can come down over them. */
  private readonly freeEnds = new Map<number, Block & { readonly at: number }>();
  /** The SharedArrayBuffers the memory has returned (a new one after each growth); views over them are the arena's. */
  private readonly generations = new WeakSet<ArrayBufferLike>();
  /** Plain buffers `take` made past the limit, each with whether it is handed out now; those of a piece's class given back. */
  private readonly outside = new WeakMap<ArrayBufferLike, boolean>();
  private readonly spare = new Map<number, Uint8Array[]>();
  /** The end of the reserve; blocks are made from `top` up, and it never goes below `floor`. */
  private readonly floor: number;
  private top: number;

  /** Over `memory`, with `reservedScratch` scratch blocks at its bottom (grown now, resident once used). */
  constructor(
    readonly memory: SharedMemory | undefined,
    reservedScratch = 0,
  ) {
    const bytes = memory === undefined || reservedScratch <= 0 ? 0 : reservedScratch * SCRATCH_BLOCK;
    this.floor = this.top = 0;
    if (bytes > 0 && this.grow(bytes, bytes) === 0) {
      this.floor = bytes;
      for (let at = bytes - SCRATCH_BLOCK; at >= 0; at -= SCRATCH_BLOCK) this.reserve.push(at);
    }
  }

  /** A buffer of at least `bytes`, in the kernel memory when it has room (its length is the block's). */
  take(bytes: number): Uint8Array {
    const size = blockSize(bytes);
    const at = this.reuse(size, false) ?? this.grow(size, this.floor + ARENA_LIMIT);
    if (at !== undefined) return this.lend(at, size, false);
    const b = this.spare.get(size)?.pop() ?? new Uint8Array(new SharedArrayBuffer(size));
    this.outside.set(b.buffer, true);
    return b;
  }

  /**
   * A thread's kernel scratch (wasm-kernel.ts): always in the kernel memory, whatever the buffers
   * hold; from the reserve for `reserved` (the main thread's and the default pool's), while it lasts.
   */
  takeScratch(bytes: number, reserved = false): Uint8Array {
    const size = blockSize(bytes);
    const at = (reserved && size === SCRATCH_BLOCK ? this.reserve.pop() : undefined) ?? this.reuse(size, true) ?? this.grow(size, KERNEL_MEMORY_PAGES * PAGE);
    if (at === undefined) throw new RangeError("the FP8 kernel memory has no room for another thread's scratch");
    return this.lend(at, size, true);
  }

  /** Gives back a block from `take` or `takeScratch`, whole (a buffer the arena did not make is left to the collector). */
  give(b: Uint8Array): void {
    const refused = () => new RangeError(`give back the whole block take returned, once, not a view of ${b.length} bytes`);
    if (this.offsetOf(b) !== undefined) {
      const at = b.byteOffset;
      const lent = this.lent.get(at);
      if (lent === undefined || lent.size !== b.length) throw refused();
      this.lent.delete(at);
      if (at < this.floor) {
        this.reserve.push(at);
        return;
      }
      pushTo(lent.scratch ? this.freeScratch : this.free, lent.size, at);
      this.freeEnds.set(at + lent.size, { ...lent, at });
      // The top comes down over every free block that ends where it is.
      for (let f = this.freeEnds.get(this.top); f !== undefined; f = this.freeEnds.get(this.top)) {
        const list = (f.scratch ? this.freeScratch : this.free).get(f.size)!;
        list.splice(list.indexOf(f.at), 1);
        this.freeEnds.delete(this.top);
        this.top = f.at;
      }
      return;
    }
    const lent = this.outside.get(b.buffer);
    if (lent === undefined) return;
    if (!lent || b.byteOffset !== 0 || b.byteLength !== b.buffer.byteLength) throw refused();
    this.outside.set(b.buffer, false);
    // Pieces come back again and again; a larger buffer (a fuse's step, once a run) goes to the collector.
    if (b.length <= PIECE_CLASS_LIMIT) pushTo(this.spare, b.length, b);
  }

  /** The byte offset of `view` in the kernel memory, or undefined when it lies elsewhere. */
  offsetOf(view: ArrayBufferView): number | undefined {
    return this.generations.has(view.buffer) ? view.byteOffset : undefined;
  }

  /** A free block of the class and kind, taken off its lists. */
  private reuse(size: number, scratch: boolean): number | undefined {
    const at = (scratch ? this.freeScratch : this.free).get(size)?.pop();
    if (at !== undefined) this.freeEnds.delete(at + size);
    return at;
  }

  private lend(at: number, size: number, scratch: boolean): Uint8Array {
    this.lent.set(at, { size, scratch });
    const buffer = this.memory!.buffer;
    this.generations.add(buffer);
    return new Uint8Array(buffer, at, size);
  }

  /**
   * A fresh block at the top, growing the memory first; undefined past `limit`, or when the
   * system refuses the growth (a data-segment or commit limit), the top then left where it was.
   */
  private grow(size: number, limit: number): number | undefined {
    const memory = this.memory;
    const at = this.top;
    if (memory === undefined || at + size > limit) return undefined;
    const have = memory.buffer.byteLength;
    try {
      if (at + size > have) memory.grow(Math.ceil((at + size - have) / PAGE));
    } catch {
      return undefined;
    }
    this.top = at + size;
    return at;
  }
}

interface Block {
  readonly size: number;
  readonly scratch: boolean;
}

function pushTo<T>(lists: Map<number, T[]>, size: number, item: T): void {
  const list = lists.get(size) ?? [];
  list.push(item);
  lists.set(size, list);
}

let processArena: Arena | undefined;

/**
 * The process's kernel memory, created on first use by the main thread (workers adopt it:
 * wasm-kernel.ts), with a scratch block reserved for each of the default pool's first threads.
 */
export function kernelArena(): Arena {
  processArena ??= new Arena(
    WEBASSEMBLY === undefined ? undefined : new WEBASSEMBLY.Memory({ initial: 1, maximum: KERNEL_MEMORY_PAGES, shared: true }),
    Math.min(defaultThreads(), SCRATCH_UP_FRONT),
  );
  return processArena;
}
