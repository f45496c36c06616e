// The chunk size: how many experts one step stacks (oQ's `_DiscoveredPlan._STACK_CHUNK` is 16).
// It shapes the work and the peak memory of a step, never the bytes written.

import { UsageError } from "../errors.js";

export const DEFAULT_CHUNK = 16;

export function checkChunk(chunk: number): number {
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new UsageError("INVALID_ARGUMENT", `chunk size ${chunk} must be a whole number of experts, at least 1`);
  return chunk;
}

/** The expert ranges [first, first + count) of E experts taken `chunk` at a time. */
export function* chunkRanges(E: number, chunk: number): Generator<{ first: number; count: number }> {
  for (let first = 0; first < E; first += chunk) yield { first, count: Math.min(chunk, E - first) };
}
