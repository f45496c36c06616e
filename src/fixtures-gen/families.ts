// The family catalogue: one data entry per model family the generator imitates, holding what
// the real checkpoints of that family look like (config keys, tensor naming, attention kind,
// which layers are sparse, how fused experts are stored) and the default sizes of the real tiny
// checkpoint it is modelled on (its Hub config.json; key names checked against
// transformers 5.18 models and vLLM's Qwen3.5 MTP loader). The code in model-layout.ts and
// config.ts interprets these entries; adding a family is adding an entry.

import type { ExpertCountKey } from "../reference/prefuse/expert-count.js";
import type { FloatDType } from "./float-codec.js";

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/** Attention blocks, with the head sizes of the family's tiny checkpoint. */
export type AttentionDef =
  | {
      /** Qwen3.5 / Qwen3-Next: Gated DeltaNet linear attention, one gated full-attention layer in `fullInterval`. */
      readonly kind: "hybrid-linear";
      readonly heads: number;
      readonly kvHeads: number;
      readonly headDim: number;
      readonly fullInterval: number;
      readonly linearKeyHeads: number;
      readonly linearValueHeads: number;
      readonly linearKeyDim: number;
      readonly linearValueDim: number;
      readonly convKernel: number;
    }
  | {
      /** Grouped-query attention; `headDim` undefined means hidden / heads (no head_dim key in the real config). */
      readonly kind: "gqa";
      readonly heads: number;
      readonly kvHeads: number;
      readonly headDim: number | undefined;
      /** q_norm/k_norm per head (Qwen3), over the whole projection (OLMoE), or none (Mixtral). */
      readonly qkNorm: "per-head" | "full" | "none";
    }
  | {
      /** DeepSeek multi-head latent attention. */
      readonly kind: "mla";
      readonly heads: number;
      readonly qLoraRank: number;
      readonly kvLoraRank: number;
      readonly qkRopeDim: number;
      readonly qkNopeDim: number;
      readonly vHeadDim: number;
    };

/** Which decoder layers carry the MoE block (the others have a dense MLP). */
export type SparsityDef =
  | { readonly kind: "all" }
  /** qwen3_moe: sparse when not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0. */
  | { readonly kind: "sparse-step"; readonly step: number }
  /** deepseek_v3: the first `k` layers are dense (first_k_dense_replace). */
  | { readonly kind: "first-k-dense"; readonly k: number };

export interface MoeDef {
  /** The module holding router and experts on disk, under the layer root ("" directly under it: gemma4). */
  readonly block: string;
  /** Leaf names of the three projections, per expert. */
  readonly projections: { readonly gate: string; readonly up: string; readonly down: string };
  /** false: up and down only (nemotron_h, ReLU^2), no gate tensors. */
  readonly gated: boolean;
  /**
   * How experts are stored when not per expert. `fused`: experts.gate_up_proj + down_proj
   * (the `fused` variant); the others are the family's only form, whatever the variants:
   * `granite`: input_linear [E, 2I, H] + output_linear [E, H, I] (granitemoe, jetmoe);
   * `dbrx`: experts.mlp.{w1,v1} [E*I, H] + w2 [E*I, H]; `step`: moe.{gate,up,down}_proj [E, ...].
   */
  readonly stacked: "fused" | "granite" | "dbrx" | "step";
  /** Qwen's single shared expert with a sigmoid gate, DeepSeek's `n_shared_experts` shared experts, or none. */
  readonly shared: "shared_expert" | "shared_experts" | "none";
  /** DeepSeek's router score correction bias (stored in F32). */
  readonly routerBias: boolean;
  /**
   * Fused experts on disk: `rows` [E, 2I, H] / [E, H, I]; `columns` [E, H, 2I] / [E, I, H]
   * (qwen3_vl_moe, llama4); `interleaved` [E, H, 2I] with gate and up columns alternating plus
   * `_bias` tensors (gpt-oss).
   */
  readonly fusedStyle: "rows" | "columns" | "interleaved";
}

export interface VisionDef {
  readonly kind: "qwen3_5" | "qwen3_vl";
  readonly hidden: number;
  readonly intermediate: number;
  readonly depth: number;
  readonly heads: number;
  readonly patchSize: number;
}

export interface FamilyDefaults {
  readonly experts: number;
  readonly layers: number;
  readonly hidden: number;
  /** The per-expert intermediate size I. */
  readonly intermediate: number;
  readonly vocab: number;
  readonly topK: number;
  /** Multi-token-prediction layers under `mtp.` (Qwen3.5), 0 for none. */
  readonly mtpLayers: number;
}

export const FAMILY_NAMES = [
  "qwen3_5_moe",
  "qwen3_5_moe_fp8",
  "qwen3_moe",
  "qwen3_vl_moe",
  "mixtral",
  "deepseek_v3",
  "olmoe",
  // One per further registry entry (src/reference/prefuse/families.ts): each family's expert
  // names, module, count key and stored form, on a small GQA text model.
  "phimoe",
  "minimax",
  "kimi_linear",
  "lfm2_moe",
  "arctic",
  "qwen2_moe",
  "qwen3_next",
  "hunyuan_v1_moe",
  "bailing_moe",
  "deepseek_v2",
  "glm4_moe",
  "glm4v_moe",
  "ernie4_5_moe",
  "dots1",
  "afmoe",
  "qwen3_omni_moe",
  "gemma4",
  "llama4",
  "gpt_oss",
  "nemotron_h",
  "granitemoe",
  "jetmoe",
  "dbrx",
  "step3p5",
] as const;

export type FamilyName = (typeof FAMILY_NAMES)[number];

export interface FamilyDef {
  readonly name: FamilyName;
  readonly summary: string;
  /** The real checkpoint whose config and layout this entry follows. */
  readonly modelledOn: string;
  readonly modelType: string;
  readonly architectures: readonly string[];
  /** VLMs keep the language model config in `text_config`, with this model_type. */
  readonly textModelType: string | undefined;
  /** Prefix of the language model's tensors. */
  readonly textPrefix: string;
  /** Where decoder layers live (default `<textPrefix>layers.`: `backbone.layers.`, `transformer.blocks.`). */
  readonly layerRoot?: string;
  /** Dotted config path of the language model's config when textModelType is set (default `text_config`). */
  readonly textConfigPath?: string;
  readonly dtype: FloatDType;
  /** transformers v5 writes `dtype`, v4 wrote `torch_dtype`. */
  readonly dtypeKey: "dtype" | "torch_dtype";
  readonly countKey: ExpertCountKey;
  /** Config key of the per-expert intermediate size. */
  readonly intermediateKey: "moe_intermediate_size" | "intermediate_size";
  readonly attention: AttentionDef;
  readonly sparsity: SparsityDef;
  readonly moe: MoeDef;
  readonly vision: VisionDef | undefined;
  readonly defaults: FamilyDefaults;
  /** FP8 releases of this family: block-quantized by default?, and the dtype of `weight_scale_inv`. */
  readonly fp8: { readonly byDefault: boolean; readonly scaleDtype: FloatDType };
  /** Config fields copied as they are into the (text) config. */
  readonly fixedConfig: Readonly<Record<string, JsonValue>>;
}

const QWEN_MOE: MoeDef = {
  block: "mlp",
  projections: { gate: "gate_proj", up: "up_proj", down: "down_proj" },
  gated: true,
  stacked: "fused",
  shared: "none",
  routerBias: false,
  fusedStyle: "rows",
};

const MIXTRAL_MOE: MoeDef = { ...QWEN_MOE, block: "block_sparse_moe", projections: { gate: "w1", up: "w3", down: "w2" } };

const QWEN3_5_MOE: FamilyDef = {
  name: "qwen3_5_moe",
  summary: "Qwen3.5-MoE VLM: text_config, 3 linear-attention + 1 full-attention layers, shared expert, MTP layer",
  modelledOn: "tiny-random/qwen3.5-moe",
  modelType: "qwen3_5_moe",
  architectures: ["Qwen3_5MoeForConditionalGeneration"],
  textModelType: "qwen3_5_moe_text",
  textPrefix: "model.language_model.",
  dtype: "BF16",
  dtypeKey: "dtype",
  countKey: "text_config.num_experts",
  intermediateKey: "moe_intermediate_size",
  attention: {
    kind: "hybrid-linear",
    heads: 8,
    kvHeads: 4,
    headDim: 32,
    fullInterval: 4,
    linearKeyHeads: 4,
    linearValueHeads: 8,
    linearKeyDim: 32,
    linearValueDim: 32,
    convKernel: 4,
  },
  sparsity: { kind: "all" },
  moe: { ...QWEN_MOE, shared: "shared_expert" },
  vision: { kind: "qwen3_5", hidden: 16, intermediate: 32, depth: 1, heads: 2, patchSize: 4 },
  defaults: { experts: 128, layers: 4, hidden: 8, intermediate: 32, vocab: 256, topK: 10, mtpLayers: 1 },
  fp8: { byDefault: false, scaleDtype: "BF16" },
  fixedConfig: { hidden_act: "silu", rms_norm_eps: 1e-6, max_position_embeddings: 262144, partial_rotary_factor: 0.25, tie_word_embeddings: false },
};

/** A small GQA text model, every layer sparse: the base the registry families vary. */
const TEXT_MOE: Omit<FamilyDef, "name" | "summary" | "modelledOn" | "modelType" | "architectures" | "countKey"> = {
  textModelType: undefined,
  textPrefix: "model.",
  dtype: "BF16",
  dtypeKey: "torch_dtype",
  intermediateKey: "moe_intermediate_size",
  attention: { kind: "gqa", heads: 2, kvHeads: 1, headDim: 8, qkNorm: "none" },
  sparsity: { kind: "all" },
  moe: QWEN_MOE,
  vision: undefined,
  defaults: { experts: 8, layers: 2, hidden: 16, intermediate: 8, vocab: 64, topK: 2, mtpLayers: 0 },
  fp8: { byDefault: false, scaleDtype: "F32" },
  fixedConfig: { hidden_act: "silu", rms_norm_eps: 1e-6, max_position_embeddings: 4096, tie_word_embeddings: false },
};

/** A registry family on the TEXT_MOE base: its model_type, count key, architecture and expert storage. */
function textFamily(name: FamilyName, countKey: string, architecture: string, moe: Partial<MoeDef>, more: Partial<FamilyDef> = {}): FamilyDef {
  return {
    ...TEXT_MOE,
    name,
    summary: `${name}: experts as its releases store them (${moe.stacked ?? "per expert"}, ${moe.block ?? "mlp"}), count at ${countKey}`,
    modelledOn: `the ${name} entry of the layout registry (its loaders' source); sizes scaled down`,
    modelType: name,
    architectures: [architecture],
    countKey,
    ...more,
    moe: { ...QWEN_MOE, ...moe },
  };
}

const W1_W3_W2 = { gate: "w1", up: "w3", down: "w2" } as const;

const REGISTRY_FAMILIES: readonly FamilyDef[] = [
  textFamily("phimoe", "num_local_experts", "PhimoeForCausalLM", MIXTRAL_MOE, { intermediateKey: "intermediate_size" }),
  textFamily("minimax", "num_local_experts", "MiniMaxM2ForCausalLM", MIXTRAL_MOE, { modelType: "minimax_m2", intermediateKey: "intermediate_size" }),
  textFamily("kimi_linear", "num_experts", "KimiLinearForCausalLM", { ...MIXTRAL_MOE, shared: "shared_experts" }),
  textFamily("lfm2_moe", "num_experts", "Lfm2MoeForCausalLM", { block: "feed_forward", projections: W1_W3_W2 }),
  textFamily("arctic", "num_local_experts", "ArcticForCausalLM", MIXTRAL_MOE, { intermediateKey: "intermediate_size" }),
  textFamily("qwen2_moe", "num_experts", "Qwen2MoeForCausalLM", { shared: "shared_expert" }),
  textFamily("qwen3_next", "num_experts", "Qwen3NextForCausalLM", { shared: "shared_expert" }),
  textFamily("hunyuan_v1_moe", "num_experts", "HunYuanMoEV1ForCausalLM", {}),
  textFamily("bailing_moe", "num_experts", "BailingMoeForCausalLM", {}),
  textFamily(
    "deepseek_v2",
    "n_routed_experts",
    "DeepseekV2ForCausalLM",
    { shared: "shared_experts" },
    { fixedConfig: { ...TEXT_MOE.fixedConfig, n_shared_experts: 1 } },
  ),
  textFamily(
    "glm4_moe",
    "n_routed_experts",
    "Glm4MoeForCausalLM",
    { shared: "shared_experts", routerBias: true },
    { fixedConfig: { ...TEXT_MOE.fixedConfig, n_shared_experts: 1 } },
  ),
  textFamily(
    "glm4v_moe",
    "text_config.n_routed_experts",
    "Glm4vMoeForConditionalGeneration",
    { routerBias: true },
    { textModelType: "glm4v_moe_text", textPrefix: "model.language_model." },
  ),
  textFamily("ernie4_5_moe", "moe_num_experts", "Ernie4_5_MoeForCausalLM", {}),
  textFamily("dots1", "n_routed_experts", "Dots1ForCausalLM", { routerBias: true }),
  textFamily("afmoe", "num_experts", "AfmoeForCausalLM", {}),
  textFamily(
    "qwen3_omni_moe",
    "thinker_config.text_config.num_experts",
    "Qwen3OmniMoeForConditionalGeneration",
    {},
    {
      textModelType: "qwen3_omni_moe_text",
      textPrefix: "thinker.model.",
      textConfigPath: "thinker_config.text_config",
    },
  ),
  textFamily(
    "gemma4",
    "text_config.num_experts",
    "Gemma4ForConditionalGeneration",
    { block: "" },
    { textModelType: "gemma4_text", textPrefix: "model.language_model." },
  ),
  textFamily(
    "llama4",
    "text_config.num_local_experts",
    "Llama4ForConditionalGeneration",
    { block: "feed_forward", fusedStyle: "columns" },
    {
      textModelType: "llama4_text",
      textPrefix: "language_model.model.",
    },
  ),
  textFamily("gpt_oss", "num_local_experts", "GptOssForCausalLM", { fusedStyle: "interleaved" }, { intermediateKey: "intermediate_size" }),
  textFamily(
    "nemotron_h",
    "n_routed_experts",
    "NemotronHForCausalLM",
    { block: "mixer", gated: false, routerBias: true },
    { textPrefix: "backbone.", layerRoot: "backbone.layers." },
  ),
  textFamily(
    "granitemoe",
    "num_local_experts",
    "GraniteMoeForCausalLM",
    { block: "block_sparse_moe", stacked: "granite" },
    { intermediateKey: "intermediate_size" },
  ),
  textFamily("jetmoe", "num_local_experts", "JetMoeForCausalLM", { stacked: "granite" }, { intermediateKey: "intermediate_size" }),
  textFamily(
    "dbrx",
    "ffn_config.moe_num_experts",
    "DbrxForCausalLM",
    { block: "ffn", stacked: "dbrx" },
    { textPrefix: "transformer.", layerRoot: "transformer.blocks." },
  ),
  textFamily("step3p5", "moe_num_experts", "Step3p5ForCausalLM", { block: "moe", stacked: "step" }),
];

const FAMILIES: readonly FamilyDef[] = [
  QWEN3_5_MOE,
  {
    ...QWEN3_5_MOE,
    name: "qwen3_5_moe_fp8",
    summary: "Qwen3.5-MoE block-FP8 (E4M3, 128x128 blocks, BF16 weight_scale_inv), per expert as the official FP8 releases",
    modelledOn: "tiny-random/qwen3.5-moe, block-quantized as Qwen/Qwen3.5-35B-A3B-FP8",
    fp8: { byDefault: true, scaleDtype: "BF16" },
  },
  {
    name: "qwen3_moe",
    summary: "Qwen3-MoE text model: num_experts at top level, dense and sparse layers (decoder_sparse_step, mlp_only_layers)",
    modelledOn: "yujiepan/qwen3-moe-tiny-random",
    modelType: "qwen3_moe",
    architectures: ["Qwen3MoeForCausalLM"],
    textModelType: undefined,
    textPrefix: "model.",
    dtype: "BF16",
    dtypeKey: "torch_dtype",
    countKey: "num_experts",
    intermediateKey: "moe_intermediate_size",
    attention: { kind: "gqa", heads: 2, kvHeads: 1, headDim: 32, qkNorm: "per-head" },
    sparsity: { kind: "sparse-step", step: 2 },
    moe: QWEN_MOE,
    vision: undefined,
    defaults: { experts: 8, layers: 2, hidden: 64, intermediate: 128, vocab: 256, topK: 2, mtpLayers: 0 },
    fp8: { byDefault: false, scaleDtype: "BF16" },
    fixedConfig: { hidden_act: "silu", rms_norm_eps: 1e-6, max_position_embeddings: 32768, norm_topk_prob: true, tie_word_embeddings: false },
  },
  {
    name: "qwen3_vl_moe",
    summary: "Qwen3-VL-MoE VLM: text_config.num_experts; its fused experts are stored transposed, [E,H,2I] / [E,I,H]",
    modelledOn: "onnx-internal-testing/tiny-random-Qwen3VLMoeForConditionalGeneration",
    modelType: "qwen3_vl_moe",
    architectures: ["Qwen3VLMoeForConditionalGeneration"],
    textModelType: "qwen3_vl_moe_text",
    textPrefix: "model.language_model.",
    dtype: "BF16",
    dtypeKey: "torch_dtype",
    countKey: "text_config.num_experts",
    intermediateKey: "moe_intermediate_size",
    attention: { kind: "gqa", heads: 2, kvHeads: 1, headDim: 32, qkNorm: "per-head" },
    sparsity: { kind: "all" },
    moe: { ...QWEN_MOE, fusedStyle: "columns" },
    vision: { kind: "qwen3_vl", hidden: 16, intermediate: 32, depth: 1, heads: 2, patchSize: 4 },
    defaults: { experts: 16, layers: 2, hidden: 8, intermediate: 64, vocab: 256, topK: 4, mtpLayers: 0 },
    fp8: { byDefault: false, scaleDtype: "BF16" },
    fixedConfig: {
      hidden_act: "silu",
      rms_norm_eps: 1e-6,
      max_position_embeddings: 128000,
      decoder_sparse_step: 1,
      mlp_only_layers: [],
      tie_word_embeddings: false,
    },
  },
  {
    name: "mixtral",
    summary: "Mixtral: block_sparse_moe.experts.{e}.w1/w3/w2 (gate/up/down), num_local_experts, float16",
    modelledOn: "yujiepan/mixtral-tiny-random",
    modelType: "mixtral",
    architectures: ["MixtralForCausalLM"],
    textModelType: undefined,
    textPrefix: "model.",
    dtype: "F16",
    dtypeKey: "torch_dtype",
    countKey: "num_local_experts",
    intermediateKey: "intermediate_size",
    attention: { kind: "gqa", heads: 2, kvHeads: 1, headDim: undefined, qkNorm: "none" },
    sparsity: { kind: "all" },
    moe: MIXTRAL_MOE,
    vision: undefined,
    defaults: { experts: 8, layers: 2, hidden: 4, intermediate: 8, vocab: 256, topK: 2, mtpLayers: 0 },
    fp8: { byDefault: false, scaleDtype: "F32" },
    fixedConfig: { hidden_act: "silu", rms_norm_eps: 1e-5, max_position_embeddings: 131072, tie_word_embeddings: false },
  },
  {
    name: "deepseek_v3",
    summary: "DeepSeek-V3: n_routed_experts, first_k_dense_replace dense layers, shared experts, MLA attention",
    modelledOn: "yujiepan/deepseek-v3-tiny-random",
    modelType: "deepseek_v3",
    architectures: ["DeepseekV3ForCausalLM"],
    textModelType: undefined,
    textPrefix: "model.",
    dtype: "BF16",
    dtypeKey: "torch_dtype",
    countKey: "n_routed_experts",
    intermediateKey: "moe_intermediate_size",
    attention: { kind: "mla", heads: 2, qLoraRank: 32, kvLoraRank: 16, qkRopeDim: 8, qkNopeDim: 8, vHeadDim: 8 },
    sparsity: { kind: "first-k-dense", k: 1 },
    moe: { ...QWEN_MOE, shared: "shared_experts", routerBias: true },
    vision: undefined,
    defaults: { experts: 256, layers: 2, hidden: 16, intermediate: 8, vocab: 256, topK: 8, mtpLayers: 0 },
    fp8: { byDefault: false, scaleDtype: "F32" },
    fixedConfig: {
      hidden_act: "silu",
      rms_norm_eps: 1e-6,
      max_position_embeddings: 4096,
      n_shared_experts: 1,
      n_group: 1,
      topk_group: 1,
      routed_scaling_factor: 2.5,
      scoring_func: "sigmoid",
      topk_method: "noaux_tc",
      norm_topk_prob: true,
      tie_word_embeddings: false,
    },
  },
  {
    name: "olmoe",
    summary: "OLMoE: num_experts at top level, q_norm/k_norm over the whole projection, every layer sparse",
    modelledOn: "allenai/OLMoE-1B-7B-0924 (layout), scaled down",
    modelType: "olmoe",
    architectures: ["OlmoeForCausalLM"],
    textModelType: undefined,
    textPrefix: "model.",
    dtype: "BF16",
    dtypeKey: "torch_dtype",
    countKey: "num_experts",
    intermediateKey: "intermediate_size",
    attention: { kind: "gqa", heads: 2, kvHeads: 2, headDim: undefined, qkNorm: "full" },
    sparsity: { kind: "all" },
    moe: QWEN_MOE,
    vision: undefined,
    defaults: { experts: 8, layers: 2, hidden: 16, intermediate: 32, vocab: 256, topK: 2, mtpLayers: 0 },
    fp8: { byDefault: false, scaleDtype: "F32" },
    fixedConfig: { hidden_act: "silu", rms_norm_eps: 1e-5, max_position_embeddings: 4096, norm_topk_prob: false, tie_word_embeddings: false },
  },
  ...REGISTRY_FAMILIES,
];

export function isFamilyName(name: string): name is FamilyName {
  return (FAMILY_NAMES as readonly string[]).includes(name);
}

export function family(name: FamilyName): FamilyDef {
  const f = FAMILIES.find((d) => d.name === name);
  if (f === undefined) throw new Error(`family catalogue has no entry for ${name}`);
  return f;
}

/** What `gen --list` shows of a family. */
export interface FamilyInfo {
  readonly name: FamilyName;
  readonly modelType: string;
  readonly summary: string;
  readonly modelledOn: string;
  readonly countKey: ExpertCountKey;
  readonly dtype: string;
  readonly defaults: FamilyDefaults;
}

export function listFamilies(): FamilyInfo[] {
  return FAMILIES.map((f) => ({
    name: f.name,
    modelType: f.modelType,
    summary: f.summary,
    modelledOn: f.modelledOn,
    countKey: f.countKey,
    dtype: f.fp8.byDefault ? `F8_E4M3 (+${f.fp8.scaleDtype} scales)` : f.dtype,
    defaults: f.defaults,
  }));
}
