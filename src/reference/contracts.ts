// What each stage promises, and which inputs lie inside that promise. The gate gives a candidate
// only cases inside its stage's contract: the `prefuse` stage is exactly the semantics of oQ's
// `_prefuse_moe_experts_for_vlm(weights, config)`, so a faithful port of that function passes it.
// Where that function's text leaves a point open, the contract names it (its reading points,
// reading-points.ts) and the candidate is held to the alternative it shows or the one pinned; what no
// point covers (companions, switch_mlp tensors, broken counts) belongs to the
// stages that define it. Every check reads names, dtypes, shapes and the config only.

import type { ModelConfig } from "./checkpoint.js";
import { isFloat8 } from "./dtypes.js";
import { MoePrefuseError } from "./errors.js";
import { isRecord } from "./fp8/config-fields.js";
import { planDequant } from "./fp8/plan.js";
import { EXPERT_COUNT_KEYS, OQ_EXPERT_COUNT_KEYS, resolveExpertCount, resolveSubModelCount } from "./prefuse/expert-count.js";
import { type ExpertStorage, selectLayout } from "./prefuse/layouts.js";
import { scanExperts } from "./prefuse/scan.js";
import type { Stage } from "./stages.js";
import type { TensorSpec } from "./tensor.js";
import { type ReadingPoint, readingPoints } from "./reading-points.js";

type Specs = ReadonlyMap<string, TensorSpec>;

export interface StageContract {
  readonly stage: Stage;
  /** What a candidate of this stage must do, in one paragraph (README, --help, reports). */
  readonly summary: string;
  /** Why an input lies outside the contract, or undefined when it is inside. */
  outside(config: ModelConfig, specs: Specs): string | undefined;
  /** Where the contract's text leaves the answer open: named points, each with its alternatives. */
  readonly points: readonly ReadingPoint[];
}

/**
 * Expert storages the reading point family-layouts covers: per expert under gate/up/down names of
 * any family (oQ's pattern matches some, the registry knows all), or already fused. The others
 * (non-gated, interleaved, stacked under other names) are no prefuse oQ's text speaks of.
 */
const POINT_STORAGES: readonly ExpertStorage[] = ["per-expert", "fused"];

/** Count keys a reading point covers: oQ's four (count-key-order, count-zero) and n_routed_experts (n-routed-experts). */
const POINT_COUNT_KEYS: readonly string[] = [...OQ_EXPERT_COUNT_KEYS, "n_routed_experts", "text_config.n_routed_experts"];

function quantizationConfig(config: ModelConfig): unknown {
  return config.quantization_config ?? (isRecord(config.text_config) ? config.text_config.quantization_config : undefined);
}

/**
 * oQ's function on inputs already in 16/32-bit floats. What its text leaves open (the count keys'
 * order, a count of 0, n_routed_experts, other families' names, mixed dtypes, duplicate or extra
 * ids, MTP prefixes, already fused layers) is inside: reading points decide those cases
 * (reading-points.ts).
 */
function oqSemanticsOutside(config: ModelConfig, specs: Specs): string | undefined {
  const layout = selectLayout(config).layout;
  if (!POINT_STORAGES.includes(layout.storage)) {
    return `model_type '${layout.name}' stores its experts ${layout.storage}: not a gated per-expert prefuse oQ's text speaks of (the switch_mlp stage takes it)`;
  }
  let count;
  try {
    count = resolveExpertCount(config, "config.json", layout.countKeys, { keys: EXPERT_COUNT_KEYS, zero: "skip" });
    for (const s of layout.subModels ?? []) {
      if (resolveSubModelCount(config, s.countKey) !== undefined) return `sub-model expert counts (${s.countKey}): oQ's text reads one count per checkpoint`;
    }
  } catch (e) {
    if (e instanceof MoePrefuseError) return `${e.message}: how oQ fails on a broken count is not part of its contract`;
    throw e;
  }
  if (count !== undefined && !POINT_COUNT_KEYS.includes(count.key)) {
    return `the expert count comes only from ${count.key}, which no reading point covers (oQ reads ${OQ_EXPERT_COUNT_KEYS.join(", ")})`;
  }
  for (const g of scanExperts(specs)) {
    if (g.stacked.length > 0 || g.unrecognized.length > 0 || g.fusedCompanions.length > 0) {
      return `expert tensors of another form (${[...g.stacked, ...g.unrecognized, ...g.fusedCompanions][0]}): oQ's function matches gate/up/down experts only`;
    }
    const companion = g.perExpert.find((t) => t.kind !== "weight");
    if (companion !== undefined) return `per-expert companion tensors (${companion.name}): oQ's function fuses .weight tensors only`;
    if (g.switched.length > 0) return `switch_mlp tensors (${g.switched[0]!.name}): the final layout belongs to the switch_mlp stage`;
  }
  return undefined;
}

function floatInputsOutside(config: ModelConfig, specs: Specs): string | undefined {
  if (quantizationConfig(config) !== undefined) return "a quantized checkpoint (quantization_config): dequantize first (the dequant+prefuse stage)";
  for (const [name, s] of specs)
    if (isFloat8(s.dtype)) return `${name} is ${s.dtype}: inputs of this stage are 16/32-bit floats (the dequant+prefuse stage takes FP8)`;
  return undefined;
}

/** oQ's FP8 path: `quant_method: fp8`, E4M3 weights with `<W>_scale_inv` F32/BF16 block scales. */
function fp8BlockOutside(config: ModelConfig, specs: Specs): string | undefined {
  const q = quantizationConfig(config);
  if (!isRecord(q) || q.quant_method !== "fp8") return "not an FP8 block-quantized checkpoint (quantization_config.quant_method 'fp8')";
  if (q.fmt !== undefined && q.fmt !== "e4m3") return `FP8 format ${JSON.stringify(q.fmt)}: the FP8 stages take e4m3`;
  if (q.scale_fmt !== undefined && q.scale_fmt !== null) return `scale_fmt ${JSON.stringify(q.scale_fmt)}: the FP8 stages take float scales`;
  if (q.weight_block_size === null) return "weight_block_size null (one scale per tensor): the FP8 stages take block scales";
  for (const [name, s] of specs) {
    if (isFloat8(s.dtype) && s.dtype !== "F8_E4M3") return `${name} is ${s.dtype}: the FP8 stages take F8_E4M3 weights with F32 or BF16 scales`;
    if (name.endsWith("_scale") || (name.endsWith("_scale_inv") && s.dtype !== "F32" && s.dtype !== "BF16")) {
      return `${name} (${s.dtype}): the FP8 stages take <weight>_scale_inv scales in F32 or BF16`;
    }
  }
  return undefined;
}

export const STAGE_CONTRACTS: Readonly<Record<Stage, StageContract>> = {
  prefuse: {
    stage: "prefuse",
    summary:
      "oQ's _prefuse_moe_experts_for_vlm(weights, config) on BF16/F16/F32 inputs: the expert count from num_local_experts, " +
      "text_config.num_local_experts, num_experts, text_config.num_experts (none: nothing changes); " +
      "per layer prefix, <p>.experts.<e>.{gate,up,down}_proj.weight for e = 0..E-1 become <p>.experts.gate_up_proj [E, 2I, H] " +
      "(each expert's gate rows, then its up rows, experts in numeric order) and <p>.experts.down_proj [E, H, I]; " +
      "fused layers, incomplete ones (a missing expert or projection) and ones of the wrong shape stay as they are; every other tensor passes through. " +
      "Where the text is open (reading points: the keys' order, a count of 0, n_routed_experts, other families' names, mixed dtypes, duplicate ids, ids >= E, MTP prefixes, " +
      "one fused layer in a checkpoint), the candidate is held to the alternative it shows, or to the pinned one.",
    outside: (config, specs) => floatInputsOutside(config, specs) ?? oqSemanticsOutside(config, specs),
    points: readingPoints("prefuse"),
  },
  dequant: {
    stage: "dequant",
    summary:
      "FP8 block dequantization as MLX does it: every F8_E4M3 weight W with its W_scale_inv (F32 or BF16, blocks from weight_block_size, " +
      "default 128x128, partial edge blocks) becomes BF16 bf16_rne(f32(W) * f32(scale)); scales and activation scales are removed; " +
      "a weight without its scale, a scale without its weight or a scale grid that does not fit must be refused (non-zero exit).",
    outside: fp8BlockOutside,
    points: [],
  },
  "dequant+prefuse": {
    stage: "dequant+prefuse",
    summary: "oQ's whole FP8 path: the dequant stage, then the prefuse stage on its result (the same contract for each).",
    points: readingPoints("dequant+prefuse"),
    outside: (config, specs) => {
      const fp8 = fp8BlockOutside(config, specs);
      if (fp8 !== undefined) return fp8;
      let dequantized: Specs;
      try {
        dequantized = planDequant(specs, config, { checkpoint: "input", configFile: "config.json" }).specs;
      } catch (e) {
        if (e instanceof MoePrefuseError) return undefined; // a refusal the dequant stage defines
        throw e;
      }
      return oqSemanticsOutside(config, dequantized);
    },
  },
  switch_mlp: {
    stage: "switch_mlp",
    summary:
      "The final MLX layout, as each family's MLX loader (mlx-lm, mlx-vlm sanitize) leaves it: per layer <p>.<switch>.{gate,up,down}_proj.weight " +
      "[E, I, H], [E, I, H], [E, H, I] for every family of the layout registry (docs/families.md: switch_mlp, or the loader's own module: " +
      "mlp.experts for dots1/afmoe/gpt_oss, feed_forward.experts for llama4, experts.switch_glu for gemma4, mlp.switch_mlp for kimi_linear, " +
      "switch_mlp.fc1/fc2 from up/down for nemotron_h; mixtral-style w1/w3/w2, the transposed qwen3_vl_moe and llama4 fused layouts), the expert " +
      "count also from n_routed_experts, moe_num_experts and the family's own paths, MLX .scales/.biases stacked with their weights, already " +
      "fused layers split in two (not gpt-oss's interleaved ones); stacks under other names and incomplete layers stay as they are, a broken " +
      "expert count must be refused.",
    outside: floatInputsOutside,
    points: [],
  },
};
