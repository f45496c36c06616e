// Sharding a generated checkpoint into exactly N files. The foundation's writer shards by a
// maximum shard size (greedy, in name order, as transformers does); the number of shards it
// makes never grows as the size grows, so a binary search finds the smallest size that gives
// at most N shards, and that size gives exactly N whenever any size does.

import { planShards } from "../reference/checkpoint-writer.js";
import { UsageError } from "../reference/errors.js";

/** The max shard size that splits `tensors` into exactly `shards` files; undefined for one file. */
export function shardSizeFor(tensors: ReadonlyMap<string, { readonly byteLength: number }>, shards: number): number | undefined {
  if (shards === 1) return undefined;
  const sizes = [...tensors.values()].map((t) => t.byteLength);
  const total = sizes.reduce((a, b) => a + b, 0);
  const count = (size: number) => planShards(tensors, size).length;
  let lo = Math.max(1, ...sizes, Math.ceil(total / shards));
  let hi = Math.max(lo, total);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (count(mid) <= shards) hi = mid;
    else lo = mid + 1;
  }
  const got = count(lo);
  if (got !== shards) {
    throw new UsageError(
      "INVALID_ARGUMENT",
      `cannot split ${tensors.size} tensors (${total} bytes, largest ${Math.max(0, ...sizes)}) into exactly ${shards} shards in name order; ${got} is the nearest`,
    );
  }
  return lo;
}
