// The generator's two entry points. generateCheckpoint builds a small checkpoint in memory (a
// weight dict plus config, for property tests: microseconds to milliseconds per case);
// writeGeneratedCheckpoint streams one of any size to a directory through the foundation's
// atomic writer, computing each chunk while the previous one is written, with bounded memory.
// Both draw from the same plan, so the bytes on disk are exactly the in-memory tensors.

import { type CheckpointWriteResult, writeCheckpoint } from "../reference/checkpoint-writer.js";
import type { ModelConfig } from "../reference/checkpoint.js";
import { UsageError } from "../reference/errors.js";
import { layoutFile } from "../reference/safetensors/layout.js";
import type { TensorMap } from "../reference/tensor.js";
import { ChunkPipeline } from "./chunk-pipeline.js";
import { type FixturePlan, planBytes, planFixture } from "./plan.js";
import { produce } from "./producers.js";
import { shardGroupsFor } from "./shards.js";
import type { FixtureSpec, ResolvedSpec } from "./spec.js";

export interface GeneratedCheckpoint {
  readonly spec: ResolvedSpec;
  readonly config: ModelConfig;
  /** The safetensors `__metadata__` (as transformers writes it). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Every tensor, in name order. */
  readonly tensors: TensorMap;
  /** The tensors of each of the `spec.shards` files (writeCheckpoint's `shardGroups`); undefined for one file. */
  readonly shardGroups: string[][] | undefined;
}

/** Default cap of in-memory generation (larger checkpoints are meant to be streamed to disk). */
export const IN_MEMORY_LIMIT = 2 ** 31;

/** `memoryLimit`: refuse checkpoints with more tensor bytes than this (default IN_MEMORY_LIMIT). */
export function generateCheckpoint(spec: FixtureSpec, options: { readonly memoryLimit?: number } = {}): GeneratedCheckpoint {
  const plan = planFixture(spec);
  const bytes = planBytes(plan);
  const limit = options.memoryLimit ?? IN_MEMORY_LIMIT;
  if (bytes > limit) {
    throw new UsageError(
      "INVALID_ARGUMENT",
      `${bytes} bytes of tensors is more than the in-memory limit of ${limit}; raise memoryLimit or use writeGeneratedCheckpoint`,
    );
  }
  const tensors: TensorMap = new Map();
  for (const [name, p] of plan.tensors) tensors.set(name, { dtype: p.dtype, shape: p.shape, data: produce(p) });
  return { spec: plan.spec, config: plan.config, metadata: plan.metadata, tensors, shardGroups: shardGroupsFor(plan.tensors, plan.spec.shards) };
}

export interface GeneratedWriteResult extends CheckpointWriteResult {
  readonly spec: ResolvedSpec;
  readonly config: ModelConfig;
  readonly tensorCount: number;
}

/** The order in which writeCheckpoint will ask for the tensors (its shards, then each file's layout). */
function writeOrder(plan: FixturePlan, groups: readonly (readonly string[])[]): string[] {
  return groups.flatMap((g) => layoutFile(g.map((n) => [n, plan.tensors.get(n)!] as const)).placed.map((p) => p.name));
}

/**
 * Writes the checkpoint of `spec` to `dir` (which must not exist or be empty): config.json and
 * model.safetensors, or `spec.shards` shards and their index. The directory appears whole or
 * not at all.
 */
export async function writeGeneratedCheckpoint(dir: string, spec: FixtureSpec): Promise<GeneratedWriteResult> {
  const plan = planFixture(spec);
  const shardGroups = shardGroupsFor(plan.tensors, plan.spec.shards);
  const pipeline = new ChunkPipeline(plan.tensors, writeOrder(plan, shardGroups ?? [[...plan.tensors.keys()]]));
  const sources = new Map([...plan.tensors.keys()].map((n) => [n, pipeline.source(n)] as const));
  try {
    const result = await writeCheckpoint(dir, sources, { config: plan.config, metadata: plan.metadata, ...(shardGroups !== undefined ? { shardGroups } : {}) });
    return { ...result, spec: plan.spec, config: plan.config, tensorCount: plan.tensors.size };
  } finally {
    pipeline.close();
  }
}
