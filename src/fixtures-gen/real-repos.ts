// The catalogue of real tiny MoE checkpoints on the Hub (their model cards and config.json on huggingface.co) and what we
// expect of each: model type, where the config states the expert count, sizes, how the
// experts are stored. `moe-prefuse hub check` verifies these expectations against the real
// files where the Hub is reachable. Each entry says where its expectations come from;
// "inferred" ones are the most likely reading of the source and are exactly what the check is
// for.

import type { DType } from "../reference/dtypes.js";
import type { ExpertCountKey } from "../reference/prefuse/expert-count.js";
import type { FamilyName, JsonValue } from "./families.js";
import type { MoeLayout } from "./moe-structure.js";

export interface RealRepo {
  readonly repo: string;
  /** The generator family modelled on this checkpoint, if any. */
  readonly family: FamilyName | undefined;
  readonly modelType: string;
  /** Where the config states the expert count. */
  readonly countKey: ExpertCountKey;
  /** The expert count, when known. */
  readonly experts: number | undefined;
  /** How every MoE layer stores its experts, when known. */
  readonly layout: MoeLayout | undefined;
  /** dtype of the expert weights, when known. */
  readonly expertDtype: DType | undefined;
  /** FP8 checkpoints: the suffix of the scale tensor after `...proj.weight`. */
  readonly fp8ScaleSuffix: "_scale_inv" | "_scale" | undefined;
  /** Other config values, by dotted path. */
  readonly config: Readonly<Record<string, JsonValue>>;
  readonly source: string;
}

export const REAL_REPOS: readonly RealRepo[] = [
  {
    repo: "yujiepan/qwen3.5-moe-tiny-random",
    family: "qwen3_5_moe",
    modelType: "qwen3_5_moe",
    countKey: "text_config.num_experts",
    experts: undefined,
    layout: "per-expert",
    expertDtype: undefined,
    fp8ScaleSuffix: undefined,
    config: { "text_config.model_type": "qwen3_5_moe_text", "text_config.num_hidden_layers": 4 },
    source:
      "Hub model card and config.json (config not stored; 128 experts reported); per-expert inferred from oMLX PR #933, where it fails on the missing fused key",
  },
  {
    repo: "tiny-random/qwen3.5-moe",
    family: "qwen3_5_moe",
    modelType: "qwen3_5_moe",
    countKey: "text_config.num_experts",
    experts: 128,
    layout: undefined,
    expertDtype: "BF16",
    fp8ScaleSuffix: undefined,
    config: {
      "text_config.model_type": "qwen3_5_moe_text",
      "text_config.hidden_size": 8,
      "text_config.num_hidden_layers": 4,
      "text_config.moe_intermediate_size": 32,
      "text_config.num_experts_per_tok": 10,
      "text_config.layer_types": ["linear_attention", "linear_attention", "linear_attention", "full_attention"],
      "text_config.mtp_num_hidden_layers": 1,
    },
    source: "Hub model card and config.json (config documented; expert layout not documented)",
  },
  {
    repo: "yujiepan/qwen3-moe-tiny-random",
    family: "qwen3_moe",
    modelType: "qwen3_moe",
    countKey: "num_experts",
    experts: 8,
    layout: "per-expert",
    expertDtype: undefined,
    fp8ScaleSuffix: undefined,
    config: { hidden_size: 64, num_hidden_layers: 2, moe_intermediate_size: 128, decoder_sparse_step: 2 },
    source: "Hub model card and config.json (config documented); per-expert inferred (transformers v4 qwen3_moe layout)",
  },
  {
    repo: "optimum-intel-internal-testing/tiny-random-qwen3moe",
    family: "qwen3_moe",
    modelType: "qwen3_moe",
    countKey: "num_experts",
    experts: 4,
    layout: "per-expert",
    expertDtype: "F32",
    fp8ScaleSuffix: undefined,
    config: { hidden_size: 32, num_hidden_layers: 2, moe_intermediate_size: 128 },
    source: "Hub model card and config.json (config and float32 documented); per-expert inferred (transformers v4 layout)",
  },
  {
    repo: "onnx-internal-testing/tiny-random-Qwen3VLMoeForConditionalGeneration",
    family: "qwen3_vl_moe",
    modelType: "qwen3_vl_moe",
    countKey: "text_config.num_experts",
    experts: 16,
    layout: "fused-transposed",
    expertDtype: undefined,
    fp8ScaleSuffix: undefined,
    config: { "text_config.hidden_size": 8, "text_config.num_hidden_layers": 2, "text_config.moe_intermediate_size": 64 },
    source: "Hub model card and config.json (config); qwen3_vl_moe stores fused experts transposed",
  },
  {
    repo: "yujiepan/deepseek-v3-tiny-random",
    family: "deepseek_v3",
    modelType: "deepseek_v3",
    countKey: "n_routed_experts",
    experts: 256,
    layout: "per-expert",
    expertDtype: "BF16",
    fp8ScaleSuffix: undefined,
    config: { num_hidden_layers: 2, first_k_dense_replace: 1 },
    source: "Hub model card and config.json (config, BF16 not FP8); per-expert inferred (DeepSeek's own layout)",
  },
  {
    repo: "yujiepan/mixtral-tiny-random",
    family: "mixtral",
    modelType: "mixtral",
    countKey: "num_local_experts",
    experts: 8,
    layout: "per-expert",
    expertDtype: "F16",
    fp8ScaleSuffix: undefined,
    config: { hidden_size: 4 },
    source: "Hub model card and config.json (config, fp16); Mixtral stores block_sparse_moe.experts.{e}.w1/w2/w3",
  },
  {
    repo: "Adamji/tiny-qwen3-moe-fp8-per-block",
    family: undefined,
    modelType: "qwen3_moe",
    countKey: "num_experts",
    experts: 4,
    layout: "per-expert",
    expertDtype: "F8_E4M3",
    fp8ScaleSuffix: "_scale",
    config: { "quantization_config.weight_block_size": [128, 128] },
    source: "Hub model card and config.json (4 experts, per-block [128,128] FP8 with scales named weight_scale)",
  },
];
