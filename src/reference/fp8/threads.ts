// How many threads dequantize: one per core by default, what `--threads` may ask. Its own home
// because the kernel memory (arena.ts) sizes its threads' scratch by it, and the pool
// (pool.ts) starts its workers by it.

import { availableParallelism } from "node:os";
import { UsageError } from "../errors.js";

/** More threads than this is a typo, not a machine. */
export const MAX_THREADS = 256;

/** One worker per core (what the OS lets this process use), at most MAX_THREADS. */
export function defaultThreads(): number {
  return Math.min(availableParallelism(), MAX_THREADS);
}

export function checkThreads(threads: number): number {
  if (!(Number.isSafeInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    throw new UsageError("INVALID_ARGUMENT", `threads must be a whole number from 1 to ${MAX_THREADS}, got ${threads}`);
  }
  return threads;
}
