// Sharding a generated checkpoint into exactly N files. Tensors stay in name order, as
// transformers shards them; the split first takes the foundation's greedy split at the
// smallest size that needs at most N shards (the greedy shard count never grows with the
// size), then, when the greedy split jumps past N, halves the largest shards until there are
// exactly N. Any N from 1 to the number of tensors works.

import { planShards } from "../reference/checkpoint-writer.js";
import { UsageError } from "../reference/errors.js";

type Sized = ReadonlyMap<string, { readonly byteLength: number }>;

function bytesOf(tensors: Sized, group: readonly string[]): number {
  return group.reduce((a, n) => a + tensors.get(n)!.byteLength, 0);
}

/** Splits `group` where the larger half is smallest (first such point). */
function halve(tensors: Sized, group: readonly string[]): [string[], string[]] {
  const total = bytesOf(tensors, group);
  let best = 1;
  let bestMax = Infinity;
  let left = 0;
  for (let k = 1; k < group.length; k++) {
    left += tensors.get(group[k - 1]!)!.byteLength;
    const max = Math.max(left, total - left);
    if (max < bestMax) {
      bestMax = max;
      best = k;
    }
  }
  return [group.slice(0, best), group.slice(best)];
}

/** The tensors of each of `shards` files, in name order; undefined for a single file. */
export function shardGroupsFor(tensors: Sized, shards: number): string[][] | undefined {
  if (shards === 1) return undefined;
  if (tensors.size < shards)
    throw new UsageError("INVALID_ARGUMENT", `cannot split ${tensors.size} tensors into ${shards} shards (one tensor per shard at most)`);
  const sizes = [...tensors.values()].map((t) => t.byteLength);
  const total = sizes.reduce((a, b) => a + b, 0);
  let lo = Math.max(1, ...sizes, Math.ceil(total / shards));
  let hi = Math.max(lo, total);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (planShards(tensors, mid).length <= shards) hi = mid;
    else lo = mid + 1;
  }
  const groups = planShards(tensors, lo);
  while (groups.length < shards) {
    let widest = -1;
    for (let k = 0; k < groups.length; k++) {
      if (groups[k]!.length > 1 && (widest < 0 || bytesOf(tensors, groups[k]!) > bytesOf(tensors, groups[widest]!))) widest = k;
    }
    groups.splice(widest, 1, ...halve(tensors, groups[widest]!));
  }
  return groups;
}
