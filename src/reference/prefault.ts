// Faulting in fresh output memory ahead of the copy. The first write to each 4 KiB page of a new
// buffer costs a page fault; for an in-memory fuse of a 1.5 GiB layer that is most of the time
// (about 0.9 s of faults against 0.15 s of copying on the 2-core VMs this project runs on), and
// it runs on the one thread that copies. Reading /dev/zero into a region makes the kernel fault
// its pages in from libuv's threadpool instead, so the faults of the regions ahead overlap with
// the copy into the current one: what torch gets by copying with several threads.
//
// Rule for callers: write a region only after `ready(start, end)` has resolved, or the zeros
// read into it could land after your bytes.

import { open } from "node:fs/promises";

const ZERO_DEVICE = "/dev/zero";
/** Below this, faulting in place costs less than the round trips to the threadpool. */
export const PREFAULT_MIN_BYTES = 64 << 20;
const PIECE = 16 << 20;

export interface Prefault {
  /** Resolves once every byte of [start, end) of `buffer` has been faulted in (zeroed). */
  ready(buffer: Uint8Array, start: number, end: number): Promise<void>;
  /** Waits for outstanding reads and releases the device. */
  close(): Promise<void>;
}

const NONE: Prefault = { ready: async () => {}, close: async () => {} };

/**
 * Starts faulting in `buffers` (fresh allocations), piece by piece, in order. The first piece
 * of the first buffer is left to the caller, who can start writing it at once. Without
 * /dev/zero (or for small buffers) it does nothing and every region is ready at once.
 */
export async function prefault(buffers: readonly Uint8Array[]): Promise<Prefault> {
  const total = buffers.reduce((a, b) => a + b.length, 0);
  if (total < PREFAULT_MIN_BYTES) return NONE;
  let zero;
  try {
    zero = await open(ZERO_DEVICE, "r");
  } catch {
    return NONE;
  }
  const handle = zero;
  const fill = async (buffer: Uint8Array, start: number, end: number) => {
    for (let at = start; at < end; ) at += (await handle.read(buffer, at, end - at, null)).bytesRead || end - at;
  };
  const pieces = new Map<Uint8Array, Promise<void>[]>();
  buffers.forEach((buffer, k) => {
    const list: Promise<void>[] = [];
    for (let start = 0; start < buffer.length; start += PIECE) {
      list.push(k === 0 && start === 0 ? Promise.resolve() : fill(buffer, start, Math.min(buffer.length, start + PIECE)));
    }
    pieces.set(buffer, list);
  });
  return {
    async ready(buffer, start, end) {
      const list = pieces.get(buffer) ?? [];
      await Promise.all(list.slice(Math.floor(start / PIECE), Math.ceil(end / PIECE)));
    },
    async close() {
      await Promise.all([...pieces.values()].flat());
      await handle.close();
    },
  };
}
