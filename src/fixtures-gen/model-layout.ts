// The tensors of a generated checkpoint, before values: names and shapes that follow the
// family's real key layout (embeddings, attention of the family's kind, norms, shared experts,
// vision tower, MTP layers, lm_head) with shapes consistent with the config that config.ts
// writes. MoE layers are declared as blocks (router + experts) so the generator can store them
// per expert, fused or damaged as the variants ask.

import { fusedPrefix, selectLayout } from "../reference/prefuse/layouts.js";
import type { FamilyDef } from "./families.js";
import type { FloatDType } from "./float-codec.js";
import { type ResolvedSpec, isSparseLayer } from "./spec.js";
import type { Distribution } from "./values.js";
import type { LayerRef } from "./variants.js";

/** What a tensor is, which decides its value distribution and whether FP8 quantizes it. */
export type Role =
  | "embedding"
  | "linear" // quantized by FP8 releases
  | "linear-kept" // a linear weight FP8 releases keep in 16 bits (router, lm_head, small projections, vision)
  | "norm"
  | "bias"
  | "conv"
  | "a-log"
  | "dt-bias";

export const ROLE_DISTRIBUTION: Readonly<Record<Role, Distribution>> = {
  embedding: { mean: 0, std: 0.02 },
  linear: { mean: 0, std: 0.02 },
  "linear-kept": { mean: 0, std: 0.02 },
  norm: { mean: 1, std: 0.02 },
  bias: { mean: 0, std: 0.02 },
  conv: { mean: 0, std: 0.1 },
  "a-log": { mean: 1.5, std: 0.5 },
  "dt-bias": { mean: 1, std: 0.1 },
};

export const EXPERT_DISTRIBUTION: Distribution = { mean: 0, std: 0.02 };

export interface TensorDecl {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: FloatDType;
  readonly role: Role;
}

export interface MoeBlockDecl {
  readonly layer: LayerRef;
  /** Module holding router and experts when stored per expert (`...mlp` or `...block_sparse_moe`). */
  readonly blockPrefix: string;
  /** Module holding them when fused (the registry's fused prefix: transformers v5 renames Mixtral's block_sparse_moe to mlp). */
  readonly fusedPrefix: string;
}

export interface ModelLayout {
  readonly tensors: readonly TensorDecl[];
  readonly moe: readonly MoeBlockDecl[];
}

/** Attention head counts that fit the hidden size when head_dim is derived from it. */
export function attentionHeads(def: FamilyDef, hidden: number): { heads: number; kvHeads: number; headDim: number } {
  const a = def.attention;
  if (a.kind === "mla") return { heads: a.heads, kvHeads: a.heads, headDim: a.qkNopeDim + a.qkRopeDim };
  if (a.kind === "hybrid-linear" || a.headDim !== undefined) return { heads: a.heads, kvHeads: a.kvHeads, headDim: a.headDim! };
  const heads = gcd(a.heads, hidden);
  return { heads, kvHeads: gcd(a.kvHeads, heads), headDim: hidden / heads };
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Whether a Qwen3.5-style decoder layer uses full (softmax) attention. */
export function isFullAttention(def: FamilyDef, i: number): boolean {
  return def.attention.kind !== "hybrid-linear" || (i + 1) % def.attention.fullInterval === 0;
}

class Declarer {
  readonly tensors: TensorDecl[] = [];
  readonly moe: MoeBlockDecl[] = [];
  constructor(readonly dtype: FloatDType) {}
  add(name: string, shape: readonly number[], role: Role, dtype: FloatDType = this.dtype): void {
    this.tensors.push({ name, shape, dtype, role });
  }
}

function attention(t: Declarer, spec: ResolvedSpec, p: string, full: boolean): void {
  const a = spec.family.attention;
  const H = spec.hidden;
  if (a.kind === "mla") {
    const qk = a.qkNopeDim + a.qkRopeDim;
    t.add(`${p}self_attn.q_a_proj.weight`, [a.qLoraRank, H], "linear");
    t.add(`${p}self_attn.q_a_layernorm.weight`, [a.qLoraRank], "norm");
    t.add(`${p}self_attn.q_b_proj.weight`, [a.heads * qk, a.qLoraRank], "linear");
    t.add(`${p}self_attn.kv_a_proj_with_mqa.weight`, [a.kvLoraRank + a.qkRopeDim, H], "linear");
    t.add(`${p}self_attn.kv_a_layernorm.weight`, [a.kvLoraRank], "norm");
    t.add(`${p}self_attn.kv_b_proj.weight`, [a.heads * (a.qkNopeDim + a.vHeadDim), a.kvLoraRank], "linear");
    t.add(`${p}self_attn.o_proj.weight`, [H, a.heads * a.vHeadDim], "linear");
    return;
  }
  if (a.kind === "hybrid-linear" && !full) {
    const keyDim = a.linearKeyHeads * a.linearKeyDim;
    const valueDim = a.linearValueHeads * a.linearValueDim;
    const convDim = 2 * keyDim + valueDim;
    t.add(`${p}linear_attn.in_proj_qkv.weight`, [convDim, H], "linear");
    t.add(`${p}linear_attn.in_proj_z.weight`, [valueDim, H], "linear");
    t.add(`${p}linear_attn.in_proj_b.weight`, [a.linearValueHeads, H], "linear-kept");
    t.add(`${p}linear_attn.in_proj_a.weight`, [a.linearValueHeads, H], "linear-kept");
    t.add(`${p}linear_attn.conv1d.weight`, [convDim, 1, a.convKernel], "conv");
    t.add(`${p}linear_attn.dt_bias`, [a.linearValueHeads], "dt-bias");
    t.add(`${p}linear_attn.A_log`, [a.linearValueHeads], "a-log");
    t.add(`${p}linear_attn.norm.weight`, [a.linearValueDim], "norm");
    t.add(`${p}linear_attn.out_proj.weight`, [H, valueDim], "linear");
    return;
  }
  const { heads, kvHeads, headDim } = attentionHeads(spec.family, H);
  // Qwen3.5's full attention is gated: q_proj also produces the output gate.
  const qRows = heads * headDim * (a.kind === "hybrid-linear" ? 2 : 1);
  t.add(`${p}self_attn.q_proj.weight`, [qRows, H], "linear");
  t.add(`${p}self_attn.k_proj.weight`, [kvHeads * headDim, H], "linear");
  t.add(`${p}self_attn.v_proj.weight`, [kvHeads * headDim, H], "linear");
  t.add(`${p}self_attn.o_proj.weight`, [H, heads * headDim], "linear");
  const qkNorm = a.kind === "hybrid-linear" ? "per-head" : a.qkNorm;
  if (qkNorm === "per-head") {
    t.add(`${p}self_attn.q_norm.weight`, [headDim], "norm");
    t.add(`${p}self_attn.k_norm.weight`, [headDim], "norm");
  } else if (qkNorm === "full") {
    t.add(`${p}self_attn.q_norm.weight`, [heads * headDim], "norm");
    t.add(`${p}self_attn.k_norm.weight`, [kvHeads * headDim], "norm");
  }
}

function mlp(t: Declarer, spec: ResolvedSpec, p: string, layer: LayerRef, sparse: boolean): void {
  const H = spec.hidden;
  const moe = spec.family.moe;
  if (!sparse) {
    const DI = spec.denseIntermediate;
    t.add(`${p}mlp.gate_proj.weight`, [DI, H], "linear");
    t.add(`${p}mlp.up_proj.weight`, [DI, H], "linear");
    t.add(`${p}mlp.down_proj.weight`, [H, DI], "linear");
    return;
  }
  const blockPrefix = moe.block === "" ? p.slice(0, -1) : `${p}${moe.block}`;
  // Fused names as the reference's registry writes them (transformers v5 renames mixtral's block_sparse_moe to mlp).
  t.moe.push({ layer, blockPrefix, fusedPrefix: fusedPrefix(selectLayout({ model_type: spec.family.modelType }).layout, blockPrefix) });
  if (moe.shared === "none") return;
  const shared = moe.shared === "shared_expert" ? spec.intermediate : sharedExperts(spec.family) * spec.intermediate;
  t.add(`${blockPrefix}.${moe.shared}.gate_proj.weight`, [shared, H], "linear");
  t.add(`${blockPrefix}.${moe.shared}.up_proj.weight`, [shared, H], "linear");
  t.add(`${blockPrefix}.${moe.shared}.down_proj.weight`, [H, shared], "linear");
  if (moe.shared === "shared_expert") t.add(`${blockPrefix}.shared_expert_gate.weight`, [1, H], "linear-kept");
}

/** DeepSeek's n_shared_experts (from the family's fixed config). */
function sharedExperts(def: FamilyDef): number {
  const n = def.fixedConfig.n_shared_experts;
  return typeof n === "number" ? n : 1;
}

function decoderLayer(t: Declarer, spec: ResolvedSpec, p: string, layer: LayerRef, full: boolean, sparse: boolean): void {
  t.add(`${p}input_layernorm.weight`, [spec.hidden], "norm");
  attention(t, spec, p, full);
  t.add(`${p}post_attention_layernorm.weight`, [spec.hidden], "norm");
  mlp(t, spec, p, layer, sparse);
}

function vision(t: Declarer, spec: ResolvedSpec): void {
  const v = spec.family.vision;
  if (v === undefined) return;
  const p = "model.visual.";
  const vh = v.hidden;
  const merged = 4 * vh; // spatial_merge_size 2: 2x2 patches per token
  const linear = (name: string, rows: number, cols: number) => {
    t.add(`${name}.weight`, [rows, cols], "linear-kept");
    t.add(`${name}.bias`, [rows], "bias");
  };
  const norm = (name: string, width: number) => {
    t.add(`${name}.weight`, [width], "norm");
    t.add(`${name}.bias`, [width], "bias");
  };
  t.add(`${p}patch_embed.proj.weight`, [vh, 3, 2, v.patchSize, v.patchSize], "linear-kept");
  t.add(`${p}patch_embed.proj.bias`, [vh], "bias");
  t.add(`${p}pos_embed.weight`, [VISION_POSITIONS, vh], "embedding");
  for (let b = 0; b < v.depth; b++) {
    const q = `${p}blocks.${b}.`;
    norm(`${q}norm1`, vh);
    norm(`${q}norm2`, vh);
    linear(`${q}attn.qkv`, 3 * vh, vh);
    linear(`${q}attn.proj`, vh, vh);
    linear(`${q}mlp.linear_fc1`, v.intermediate, vh);
    linear(`${q}mlp.linear_fc2`, vh, v.intermediate);
  }
  norm(`${p}merger.norm`, vh);
  linear(`${p}merger.linear_fc1`, merged, merged);
  linear(`${p}merger.linear_fc2`, spec.hidden, merged);
  if (v.kind === "qwen3_vl") {
    norm(`${p}deepstack_merger_list.0.norm`, merged);
    linear(`${p}deepstack_merger_list.0.linear_fc1`, merged, merged);
    linear(`${p}deepstack_merger_list.0.linear_fc2`, spec.hidden, merged);
  }
}

export const VISION_POSITIONS = 16;

export function modelLayout(spec: ResolvedSpec): ModelLayout {
  const def = spec.family;
  const t = new Declarer(spec.dtype);
  const tp = def.textPrefix;
  const H = spec.hidden;
  vision(t, spec);
  t.add(`${tp}embed_tokens.weight`, [spec.vocab, H], "embedding");
  for (let i = 0; i < spec.layers; i++) {
    decoderLayer(t, spec, `${def.layerRoot ?? `${tp}layers.`}${i}.`, i, isFullAttention(def, i), !spec.dense && isSparseLayer(def, i, spec.mlpOnlyLayers));
  }
  t.add(`${tp}norm.weight`, [H], "norm");
  t.add("lm_head.weight", [spec.vocab, H], "linear-kept");
  if (spec.mtpLayers > 0) {
    t.add("mtp.fc.weight", [H, 2 * H], "linear-kept");
    t.add("mtp.pre_fc_norm_embedding.weight", [H], "norm");
    t.add("mtp.pre_fc_norm_hidden.weight", [H], "norm");
    for (let j = 0; j < spec.mtpLayers; j++) decoderLayer(t, spec, `mtp.layers.${j}.`, `mtp.${j}`, true, !spec.dense);
    t.add("mtp.norm.weight", [H], "norm");
  }
  return { tensors: t.tensors, moe: t.moe };
}
