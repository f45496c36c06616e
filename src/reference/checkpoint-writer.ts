// Writing a checkpoint directory: config.json plus model.safetensors, or shards and their index
// when the weights exceed the shard size. The directory appears whole, or not at all.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeDirAtomically } from "./atomic.js";
import { CONFIG_FILE, SINGLE_FILE, type ModelConfig } from "./checkpoint.js";
import { OutputError } from "./errors.js";
import { compareNames, layoutFile } from "./safetensors/layout.js";
import { INDEX_FILE, serializeShardIndex, shardFileName } from "./safetensors/shard-index.js";
import type { TensorSource } from "./safetensors/source.js";
import { writeLayout } from "./safetensors/writer.js";

/** transformers' and oQ's default shard limit. */
export const DEFAULT_MAX_SHARD_SIZE = 5_000_000_000;

export interface CheckpointWriteOptions {
  readonly config?: ModelConfig;
  /** config.json's exact text (say, an input's, copied verbatim); takes precedence over `config`. */
  readonly configText?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Split the weights into shards of at most this many data bytes (a larger tensor stands alone). */
  readonly maxShardSize?: number;
  /** Or say exactly which tensors each shard holds (every tensor in one shard); overrides maxShardSize. */
  readonly shardGroups?: readonly (readonly string[])[];
}

export interface CheckpointWriteResult {
  readonly files: readonly string[];
  readonly totalSize: number;
}

/** Assigns tensors (in name order) to shards greedily: deterministic for the same tensors. */
export function planShards<T extends { byteLength: number }>(tensors: ReadonlyMap<string, T>, maxShardSize: number): string[][] {
  const shards: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const name of [...tensors.keys()].sort(compareNames)) {
    const n = tensors.get(name)!.byteLength;
    if (current.length > 0 && size + n > maxShardSize) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(name);
    size += n;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

export function serializeConfig(config: ModelConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

export async function writeCheckpoint(
  outDir: string,
  tensors: ReadonlyMap<string, TensorSource>,
  options: CheckpointWriteOptions = {},
): Promise<CheckpointWriteResult> {
  const { maxShardSize } = options;
  if (maxShardSize !== undefined && !(Number.isSafeInteger(maxShardSize) && maxShardSize > 0)) {
    throw new OutputError("INVALID_SHARD_SIZE", `shard size ${maxShardSize} must be a positive whole number of bytes`, { file: outDir });
  }
  const totalSize = [...tensors.values()].reduce((a, t) => a + t.byteLength, 0);
  const groups = options.shardGroups ?? (maxShardSize === undefined || totalSize <= maxShardSize ? [[...tensors.keys()]] : planShards(tensors, maxShardSize));
  const assigned = groups.flat();
  if (
    options.shardGroups !== undefined &&
    (groups.some((g) => g.length === 0) ||
      assigned.length !== tensors.size ||
      new Set(assigned).size !== tensors.size ||
      !assigned.every((n) => tensors.has(n)))
  ) {
    throw new OutputError("INVALID_TENSOR", "shard groups must be non-empty and hold every tensor exactly once", { file: outDir });
  }
  const names = groups.length === 1 ? [SINGLE_FILE] : groups.map((_, k) => shardFileName(k + 1, groups.length));
  // Lay out every file before writing any, so a bad tensor spec fails before I/O starts.
  const layouts = groups.map((g, k) =>
    layoutFile(
      g.map((n) => [n, tensors.get(n)!] as const),
      options.metadata,
      join(outDir, names[k]!),
    ),
  );

  await writeDirAtomically(outDir, async (temp) => {
    const configText = options.configText ?? (options.config === undefined ? undefined : serializeConfig(options.config));
    if (configText !== undefined) await writeFile(join(temp, CONFIG_FILE), configText);
    for (let k = 0; k < layouts.length; k++) await writeLayout(join(temp, names[k]!), layouts[k]!, join(outDir, names[k]!));
    if (groups.length > 1) {
      const weightMap = new Map(groups.flatMap((g, k) => g.map((n) => [n, names[k]!] as const)));
      await writeFile(join(temp, INDEX_FILE), serializeShardIndex(totalSize, weightMap));
    }
  });
  return { files: groups.length > 1 ? [...names, INDEX_FILE] : names, totalSize };
}
