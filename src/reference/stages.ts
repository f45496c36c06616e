// The stages a prefuse implementation can be checked at, and the reference's answer for each:
// the golden corpus stores these answers and the release gate compares candidates against them.
//   prefuse          oQ's `_prefuse_moe_experts_for_vlm(weights, config)`: bf16/f16/f32 in, fused out
//   dequant          FP8 block dequantization alone
//   dequant+prefuse  FP8 per-expert in, dequantized and fused out (oQ's whole FP8 path)
//   switch_mlp       the final sanitized layout (`<mlp>.switch_mlp.{gate,up,down}_proj.weight`)

import type { ModelConfig } from "./checkpoint.js";
import { UsageError } from "./errors.js";
import { dequantFp8 } from "./fp8/dequant.js";
import { planDequant } from "./fp8/plan.js";
import { type FusePlan, planPrefuse } from "./prefuse/plan.js";
import { prefuse } from "./prefuse/prefuse.js";
import type { PrefuseReadings } from "./prefuse/readings.js";
import type { TensorMap, TensorSpec } from "./tensor.js";

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

/** The reference output of `stage` for a weight dict and its config; `readings` change how the prefuse reads the open points. */
export async function runStage(stage: Stage, weights: TensorMap, config: ModelConfig, readings?: PrefuseReadings): Promise<StageResult> {
  const read = readings === undefined ? {} : { readings };
  switch (stage) {
    case "prefuse":
      return { weights: (await prefuse(weights, config, { target: "fused", ...read })).weights, config };
    case "switch_mlp":
      return { weights: (await prefuse(weights, config, { target: "switch_mlp" })).weights, config };
    case "dequant": {
      const d = dequantFp8(weights, config);
      return { weights: d.weights, config: d.config ?? config };
    }
    case "dequant+prefuse": {
      const d = dequantFp8(weights, config);
      const c = d.config ?? config;
      return { weights: (await prefuse(d.weights, c, { target: "fused", ...read })).weights, config: c };
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
