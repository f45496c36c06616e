// config.json of a generated checkpoint: the family's real config keys, sizes that match the
// generated tensors, the expert count at the family's own location (or wherever a count-key
// variant puts it), and `quantization_config` for block FP8. Keys are sorted at every level,
// as transformers writes them, so the file is byte-stable.

import type { ModelConfig } from "../reference/checkpoint.js";
import { setConfigPath } from "../reference/config-path.js";
import type { FamilyDef, JsonValue } from "./families.js";
import type { FloatDType } from "./float-codec.js";
import { VISION_POSITIONS, attentionHeads, isFullAttention } from "./model-layout.js";
import type { ResolvedSpec } from "./spec.js";
import type { CountKeySetting } from "./variants.js";

type JsonObject = { [k: string]: JsonValue };

const TORCH_DTYPE: Readonly<Record<FloatDType, string>> = { BF16: "bfloat16", F16: "float16", F32: "float32" };

function attentionConfig(def: FamilyDef, spec: ResolvedSpec): JsonObject {
  const a = def.attention;
  switch (a.kind) {
    case "hybrid-linear":
      return {
        num_attention_heads: a.heads,
        num_key_value_heads: a.kvHeads,
        head_dim: a.headDim,
        full_attention_interval: a.fullInterval,
        layer_types: Array.from({ length: spec.layers }, (_, i) => (isFullAttention(def, i) ? "full_attention" : "linear_attention")),
        linear_num_key_heads: a.linearKeyHeads,
        linear_num_value_heads: a.linearValueHeads,
        linear_key_head_dim: a.linearKeyDim,
        linear_value_head_dim: a.linearValueDim,
        linear_conv_kernel_dim: a.convKernel,
      };
    case "gqa": {
      const h = attentionHeads(def, spec.hidden);
      return { num_attention_heads: h.heads, num_key_value_heads: h.kvHeads, ...(a.headDim !== undefined ? { head_dim: a.headDim } : {}) };
    }
    case "mla":
      return {
        num_attention_heads: a.heads,
        num_key_value_heads: a.heads,
        q_lora_rank: a.qLoraRank,
        kv_lora_rank: a.kvLoraRank,
        qk_rope_head_dim: a.qkRopeDim,
        qk_nope_head_dim: a.qkNopeDim,
        v_head_dim: a.vHeadDim,
      };
  }
}

function sparsityConfig(def: FamilyDef, spec: ResolvedSpec): JsonObject {
  switch (def.sparsity.kind) {
    case "all":
      return {};
    case "sparse-step":
      return { decoder_sparse_step: def.sparsity.step, mlp_only_layers: [...spec.mlpOnlyLayers] };
    case "first-k-dense":
      return { first_k_dense_replace: def.sparsity.k, moe_layer_freq: 1 };
  }
}

function visionConfig(def: FamilyDef, spec: ResolvedSpec): JsonObject | undefined {
  const v = def.vision;
  if (v === undefined) return undefined;
  return {
    model_type: def.modelType,
    depth: v.depth,
    hidden_size: v.hidden,
    intermediate_size: v.intermediate,
    num_heads: v.heads,
    in_channels: 3,
    patch_size: v.patchSize,
    temporal_patch_size: 2,
    spatial_merge_size: 2,
    out_hidden_size: spec.hidden,
    num_position_embeddings: VISION_POSITIONS,
    ...(v.kind === "qwen3_vl" ? { deepstack_visual_indexes: [0] } : {}),
  };
}

/** Puts the expert count where `keys` say (dotted paths), creating the objects a path needs. */
function placeCount(top: JsonObject, keys: readonly CountKeySetting[], experts: number): void {
  for (const { key, value } of keys) setConfigPath(top, key, value === undefined ? experts : value);
}

function sortKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === "object" && v !== null) {
    const o = v as JsonObject;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, sortKeys(o[k]!)]),
    );
  }
  return v;
}

export function buildConfig(spec: ResolvedSpec): ModelConfig {
  const def = spec.family;
  const text: JsonObject = {
    ...def.fixedConfig,
    model_type: def.textModelType ?? def.modelType,
    hidden_size: spec.hidden,
    num_hidden_layers: spec.layers,
    vocab_size: spec.vocab,
    [def.intermediateKey]: spec.intermediate,
    ...(def.intermediateKey === "moe_intermediate_size" ? { intermediate_size: spec.denseIntermediate } : {}),
    ...(spec.dense ? {} : { num_experts_per_tok: spec.topK }),
    ...(def.moe.shared === "shared_expert" ? { shared_expert_intermediate_size: spec.intermediate } : {}),
    ...(def.defaults.mtpLayers > 0 ? { mtp_num_hidden_layers: spec.mtpLayers } : {}),
    ...attentionConfig(def, spec),
    ...sparsityConfig(def, spec),
    [def.dtypeKey]: TORCH_DTYPE[spec.dtype],
  };
  const vision = visionConfig(def, spec);
  const top: JsonObject =
    def.textModelType === undefined
      ? { ...text, architectures: [...def.architectures] }
      : {
          architectures: [...def.architectures],
          model_type: def.modelType,
          ...(vision !== undefined ? { vision_config: vision } : {}),
          tie_word_embeddings: false,
          [def.dtypeKey]: TORCH_DTYPE[spec.dtype],
        };
  if (def.textModelType !== undefined) setConfigPath(top, def.textConfigPath ?? "text_config", text);
  const countKeys = spec.dense ? [] : (spec.countKeys ?? [{ key: def.countKey }]);
  placeCount(top, countKeys, spec.experts);
  if (spec.fp8 !== undefined) {
    top.quantization_config = {
      quant_method: "fp8",
      fmt: "e4m3",
      activation_scheme: "dynamic",
      weight_block_size: [...spec.fp8.blockSize],
    };
  }
  return sortKeys(top) as ModelConfig;
}
