// Where the expert count comes from: config.json keys in oQ's precedence
// (`universal_quant_predicate`): num_local_experts, text_config.num_local_experts, num_experts,
// text_config.num_experts; then our extension n_routed_experts (DeepSeek, Kimi, GLM families),
// top level then text_config. The first key present wins; a later key holding a different value
// is reported as a warning, never silently ignored. A value that is not a positive integer is a
// broken config and an error naming the file and the key. The keys and the meaning of a 0 are a
// `CountLookup` (data), so the release gate's readings of oQ's text can reorder them.

import type { ModelConfig } from "../checkpoint.js";
import { CONFIG_FILE } from "../checkpoint.js";
import { CheckpointError } from "../errors.js";

export const EXPERT_COUNT_KEYS = [
  "num_local_experts",
  "text_config.num_local_experts",
  "num_experts",
  "text_config.num_experts",
  "n_routed_experts",
  "text_config.n_routed_experts",
] as const;

export type ExpertCountKey = (typeof EXPERT_COUNT_KEYS)[number];

/** The keys oQ itself reads; `n_routed_experts` is this project's extension. */
export const OQ_EXPERT_COUNT_KEYS: readonly ExpertCountKey[] = EXPERT_COUNT_KEYS.slice(0, 4);

/**
 * How the count is looked up, as data (the release gate's reading points set it; see readings.ts):
 * the keys in precedence order, and what a count of 0 means. `refuse`: a broken config (this
 * project's rule); `skip`: absent, as Python's `a or b or ...` chain skips a falsy 0; `stop`: the
 * first key present decides, so the count is 0 and the checkpoint has no experts to fuse.
 */
export interface CountLookup {
  readonly keys: readonly ExpertCountKey[];
  readonly zero: "refuse" | "skip" | "stop";
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

function isObject(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The value at a dotted key (`text_config.x` looks inside a text_config object); null counts as absent. */
export function configValue(config: ModelConfig, key: string): unknown {
  const dot = key.indexOf(".");
  if (dot < 0) return config[key] ?? undefined;
  const inner = config[key.slice(0, dot)];
  return isObject(inner) ? (inner[key.slice(dot + 1)] ?? undefined) : undefined;
}

/**
 * Resolves the expert count, or undefined when no key holds one (a dense checkpoint).
 * `file` names config.json in errors and warnings.
 */
export function resolveExpertCount(config: ModelConfig, file: string = CONFIG_FILE, lookup: CountLookup = DEFAULT_COUNT_LOOKUP): ExpertCount | undefined {
  const found: { key: ExpertCountKey; count: number }[] = [];
  for (const key of lookup.keys) {
    const v = configValue(config, key);
    if (v === undefined || (v === 0 && lookup.zero === "skip")) continue;
    if (v === 0 && lookup.zero === "stop") {
      found.push({ key, count: 0 });
      continue;
    }
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
      throw new CheckpointError("CONFIG_INVALID", `'${key}' must be a positive integer expert count, got ${JSON.stringify(v)}`, { file });
    }
    found.push({ key, count: v });
  }
  const first = found[0];
  if (first === undefined) return undefined;
  const warnings = found
    .filter((f) => f.count !== first.count)
    .map((f) => `${file}: '${f.key}' = ${f.count} disagrees with '${first.key}' = ${first.count}; using ${first.count} (the first key in precedence order)`);
  return { count: first.count, key: first.key, warnings };
}
