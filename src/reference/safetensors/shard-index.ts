// The sharded-checkpoint index, `model.safetensors.index.json`:
// `{"metadata": {"total_size": N}, "weight_map": {tensor: shard file}}`. Parsing checks its shape
// and that every shard name stays inside the checkpoint directory; writing it is deterministic.

import { isAbsolute, relative, resolve, sep } from "node:path";
import { SafetensorsError } from "../errors.js";
import { compareNames } from "./layout.js";

export const INDEX_FILE = "model.safetensors.index.json";

export interface ShardIndex {
  readonly totalSize: number | undefined;
  /** tensor name -> shard file name, as written in the index. */
  readonly weightMap: ReadonlyMap<string, string>;
}

export function parseShardIndex(text: string, file: string): ShardIndex {
  const bad = (detail: string) => new SafetensorsError("INVALID_INDEX", detail, { file });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw bad("not a JSON object");
  const { weight_map: map, metadata } = json as Record<string, unknown>;
  if (typeof map !== "object" || map === null || Array.isArray(map)) throw bad("'weight_map' must be an object of tensor name -> shard file");
  const weightMap = new Map<string, string>();
  const entries = map as Record<string, unknown>;
  for (const tensor in entries) {
    const shard = entries[tensor];
    if (typeof shard !== "string" || shard === "") throw new SafetensorsError("INVALID_INDEX", "weight_map entry must name a shard file", { file, tensor });
    weightMap.set(tensor, shard);
  }
  const total = typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>).total_size : undefined;
  return { totalSize: typeof total === "number" ? total : undefined, weightMap };
}

/** The absolute path of a shard, refusing names that leave the checkpoint directory. */
export function shardPath(dir: string, shard: string, indexFile: string): string {
  const full = resolve(dir, shard);
  const rel = relative(resolve(dir), full);
  if (isAbsolute(shard) || rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) {
    throw new SafetensorsError("SHARD_OUTSIDE_CHECKPOINT", `shard '${shard}' is outside the checkpoint directory`, { file: indexFile });
  }
  return full;
}

export function shardFileName(k: number, n: number): string {
  const pad = (x: number) => String(x).padStart(5, "0");
  return `model-${pad(k)}-of-${pad(n)}.safetensors`;
}

export function serializeShardIndex(totalSize: number, weightMap: ReadonlyMap<string, string>): string {
  const names = [...weightMap.keys()].sort(compareNames);
  const entries = Object.fromEntries(names.map((n) => [n, weightMap.get(n)!]));
  return `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: entries }, null, 2)}\n`;
}
