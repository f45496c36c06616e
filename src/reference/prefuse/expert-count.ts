// Where the expert count comes from: config.json keys in oQ's precedence
// (`universal_quant_predicate`): num_local_experts, text_config.num_local_experts, num_experts,
// text_config.num_experts; then our extension, each top level then text_config:
// n_routed_experts (DeepSeek, Kimi, GLM, dots1, nemotron_h), moe_num_experts (ernie4_5_moe,
// step3p5: their loaders' ModelArgs field); then the selected family's own paths
// (`ffn_config.moe_num_experts` for dbrx). oQ's keys keep their precedence: an extension is
// read only in the order after them, so no checkpoint oQ counts is counted differently. The first key present wins; a later key holding a different value
// is reported as a warning, never silently ignored. A value that is not a positive integer is a
// broken config and an error naming the file and the key. The global chain's order and the meaning
// of a 0 are a `CountLookup` (data), so the release gate's readings of oQ's text can reorder them.

import type { ModelConfig } from "../checkpoint.js";
import { CONFIG_FILE } from "../checkpoint.js";
import { CheckpointError } from "../errors.js";
import { configPath } from "../config-path.js";

/** A dotted config path stating an expert count: the global chain's, or a family's own (`ffn_config.moe_num_experts`). */
export type ExpertCountKey = string;

export const EXPERT_COUNT_KEYS: readonly ExpertCountKey[] = [
  "num_local_experts",
  "text_config.num_local_experts",
  "num_experts",
  "text_config.num_experts",
  "n_routed_experts",
  "text_config.n_routed_experts",
  "moe_num_experts",
  "text_config.moe_num_experts",
];

/** The keys oQ itself reads; the rest of the chain is this project's extension. */
export const OQ_EXPERT_COUNT_KEYS: readonly ExpertCountKey[] = EXPERT_COUNT_KEYS.slice(0, 4);

/**
 * How the count is looked up, as data (the release gate's reading points set it; see readings.ts):
 * the global chain's keys in precedence order (a family's own paths still follow them), and what a
 * count of 0 means. `refuse`: a broken config (this project's rule); `skip`: absent, as Python's
 * `a or b or ...` chain skips a falsy 0; `stop`: the first key present decides, so the count is 0
 * and the checkpoint has no experts to fuse.
 */
export interface CountLookup {
  readonly keys: readonly ExpertCountKey[];
  readonly zero: "refuse" | "skip" | "stop";
  /** Keys never read, even where a family names them among its own paths (n_routed_experts for deepseek_v3). */
  readonly ignored?: readonly ExpertCountKey[];
}

export const DEFAULT_COUNT_LOOKUP: CountLookup = { keys: EXPERT_COUNT_KEYS, zero: "refuse" };

export interface ExpertCount {
  /** 0 only when the lookup stops at a 0 (`zero: "stop"`): no experts, nothing is fused. */
  readonly count: number;
  /** The config key that supplied the count. */
  readonly key: ExpertCountKey;
  /** Other keys holding a different count (the first key still wins). */
  readonly warnings: readonly string[];
}

function countAt(config: ModelConfig, key: string, file: string, zero: CountLookup["zero"] = "refuse"): number | undefined {
  const v = configPath(config, key);
  if (v === undefined || (v === 0 && zero === "skip")) return undefined;
  if (v === 0 && zero === "stop") return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
    throw new CheckpointError("CONFIG_INVALID", `'${key}' must be a positive integer expert count, got ${JSON.stringify(v)}`, { file });
  }
  return v;
}

/**
 * Resolves the expert count, or undefined when no key holds one (a dense checkpoint): the global
 * chain first (in `lookup`'s order), then `familyKeys` (the layout's own paths, which only extend
 * it). `file` names config.json in errors and warnings.
 */
export function resolveExpertCount(
  config: ModelConfig,
  file: string = CONFIG_FILE,
  familyKeys: readonly string[] = [],
  lookup: CountLookup = DEFAULT_COUNT_LOOKUP,
): ExpertCount | undefined {
  const found: { key: ExpertCountKey; count: number }[] = [];
  for (const key of new Set([...lookup.keys, ...familyKeys].filter((k) => !(lookup.ignored ?? []).includes(k)))) {
    const count = countAt(config, key, file, lookup.zero);
    if (count !== undefined) found.push({ key, count });
  }
  const first = found[0];
  if (first === undefined) return undefined;
  const warnings = found
    .filter((f) => f.count !== first.count)
    .map((f) => `${file}: '${f.key}' = ${f.count} disagrees with '${first.key}' = ${first.count}; using ${first.count} (the first key in precedence order)`);
  return { count: first.count, key: first.key, warnings };
}

/** The count of one sub-model (its own path only), or undefined when the config has none. */
export function resolveSubModelCount(config: ModelConfig, key: string, file: string = CONFIG_FILE): ExpertCount | undefined {
  const count = countAt(config, key, file);
  return count === undefined ? undefined : { count, key, warnings: [] };
}
