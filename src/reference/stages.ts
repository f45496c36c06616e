// The stages a prefuse implementation can be checked at, and the reference's answer for each:
// the golden corpus stores these answers and the release gate compares candidates against them.
//   prefuse          oQ's `_prefuse_moe_experts_for_vlm(weights, config)`: bf16/f16/f32 in, fused out
//   dequant          FP8 block dequantization alone
//   dequant+prefuse  FP8 per-expert in, dequantized and fused out (oQ's whole FP8 path)
//   switch_mlp       the final sanitized layout (`<mlp>.switch_mlp.{gate,up,down}_proj.weight`)

import type { ModelConfig } from "./checkpoint.js";
import { UsageError } from "./errors.js";
import { planDequant } from "./fp8/plan.js";
import type { DequantPool } from "./fp8/pool.js";
import { dequantView } from "./fp8/view.js";
import { type FusePlan, planPrefuse } from "./prefuse/plan.js";
import { prefuse } from "./prefuse/prefuse.js";
import type { PrefuseReadings } from "./prefuse/readings.js";
import type { TensorMap, TensorSpec } from "./tensor.js";
import { loadAll, memoryWeights } from "./weights.js";

export const STAGES = ["prefuse", "dequant", "dequant+prefuse", "switch_mlp"] as const;
export type Stage = (typeof STAGES)[number];

export function parseStage(text: string): Stage {
  if (!(STAGES as readonly string[]).includes(text)) throw new UsageError("INVALID_ARGUMENT", `stage must be one of ${STAGES.join(", ")}, got '${text}'`);
  return text as Stage;
}

export interface StageResult {
  readonly weights: TensorMap;
  /** The config that goes with the output (dequantizing drops quantization_config). */
  readonly config: ModelConfig;
}

export interface StageOptions {
  /** The worker pool FP8 dequantization runs on (default: the process's, one thread per core). */
  readonly pool?: DequantPool;
  /** How the prefuse reads the points oQ's contract leaves open (default: the reference's reading). */
  readonly readings?: PrefuseReadings;
}

/** FP8 dequantization in memory, its kernel on the worker pool (the same bytes as dequantFp8). */
async function dequantized(weights: TensorMap, config: ModelConfig, pool: DequantPool | undefined): Promise<StageResult> {
  const view = dequantView(memoryWeights(weights), config, { checkpoint: "<memory>", pool });
  return { weights: await loadAll(view), config: view.config ?? config };
}

/** The reference output of `stage` for a weight dict and its config. */
export async function runStage(stage: Stage, weights: TensorMap, config: ModelConfig, options: StageOptions = {}): Promise<StageResult> {
  const read = options.readings === undefined ? {} : { readings: options.readings };
  switch (stage) {
    case "prefuse":
      return { weights: (await prefuse(weights, config, { target: "fused", ...read })).weights, config };
    case "switch_mlp":
      return { weights: (await prefuse(weights, config, { target: "switch_mlp" })).weights, config };
    case "dequant":
      return dequantized(weights, config, options.pool);
    case "dequant+prefuse": {
      const d = await dequantized(weights, config, options.pool);
      return { weights: (await prefuse(d.weights, d.config, { target: "fused", ...read })).weights, config: d.config };
    }
  }
}

/**
 * The reference's prefuse plan for a stage's input (names, dtypes and shapes only): what it fuses,
 * leaves untouched and why. Undefined for `dequant`, which fuses nothing. Throws what the stage
 * would throw on a bad config or FP8 layout.
 */
export function planStage(stage: Stage, specs: ReadonlyMap<string, TensorSpec>, config: ModelConfig, readings?: PrefuseReadings): FusePlan | undefined {
  const read = readings === undefined ? {} : { readings };
  switch (stage) {
    case "prefuse":
      return planPrefuse(specs, config, { target: "fused", ...read });
    case "switch_mlp":
      return planPrefuse(specs, config, { target: "switch_mlp" });
    case "dequant":
      return undefined;
    case "dequant+prefuse":
      return planPrefuse(planDequant(specs, config, { checkpoint: "<memory>", configFile: "config.json" }).specs, config, { target: "fused", ...read });
  }
}
