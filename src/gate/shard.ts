// `--shard K/N`: the run's cases dealt round-robin over N machines (case i goes to shard
// i mod N + 1), so each shard gets a similar mix of golden and generated cases; every shard
// enumerates the same cases from the same corpus and seed, so the split is deterministic.

import { UsageError } from "../reference/errors.js";

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || count < 1 || index < 1 || index > count) throw new UsageError("INVALID_ARGUMENT", `--shard must be K/N with 1 <= K <= N, not '${text}'`);
  return { index, count };
}

export function inShard(caseIndex: number, shard: Shard): boolean {
  return caseIndex % shard.count === shard.index - 1;
}
