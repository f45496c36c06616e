// What to generate: the FixtureSpec callers write (every field but `family` optional), and its
// resolution against the family catalogue into a complete, validated ResolvedSpec. Every
// impossible request (a partial defect on a dense layer, FP8 on fused experts, a size of 0...)
// is refused here with a one-line UsageError, before anything is generated.

import { UsageError } from "../reference/errors.js";
import { type FamilyDef, type FamilyName, FAMILY_NAMES, family as familyDef, isFamilyName } from "./families.js";
import { FLOAT_DTYPES, type FloatDType, isFloatDType } from "./float-codec.js";
import type { BlockSize } from "./fp8-quantize.js";
import type { Projection } from "../reference/prefuse/layouts.js";
import { type CountKeySetting, type LayerRef, type PartialDefect, type Variant, formatVariant } from "./variants.js";

export interface Fp8Options {
  /** [rows, cols] of a quantization block; default [128, 128]. */
  readonly blockSize?: BlockSize;
  /** dtype of the scales; default the family's (BF16 for Qwen, F32 otherwise). */
  readonly scaleDtype?: "F32" | "BF16";
  /** Scale tensor name suffix after `weight`: `_scale_inv` (DeepSeek/Qwen, default) or `_scale` (AMD Quark). */
  readonly scaleSuffix?: "_scale_inv" | "_scale";
}

export interface FixtureSpec {
  readonly family: FamilyName;
  /** Unsigned 32-bit seed; default 0. */
  readonly seed?: number;
  readonly experts?: number;
  readonly layers?: number;
  readonly hidden?: number;
  /** The per-expert intermediate size I (dense MLPs get 2I where the family has a separate size). */
  readonly intermediate?: number;
  readonly vocab?: number;
  /** Multi-token-prediction layers (Qwen3.5 families only). */
  readonly mtpLayers?: number;
  /** Decoder layers with a dense MLP in families using decoder_sparse_step (qwen3_moe). */
  readonly mlpOnlyLayers?: readonly number[];
  /** dtype of the unquantized weights; default the family's. */
  readonly dtype?: FloatDType;
  readonly variants?: readonly Variant[];
  /** Block-FP8 quantize the linear weights; default the family's (on for qwen3_5_moe_fp8). */
  readonly fp8?: boolean | Fp8Options;
  /** Number of safetensors files; default 1. */
  readonly shards?: number;
}

export interface ResolvedFp8 {
  readonly blockSize: BlockSize;
  readonly scaleDtype: FloatDType;
  readonly scaleSuffix: "_scale_inv" | "_scale";
}

export interface ResolvedPartial {
  readonly defect: PartialDefect;
  readonly layer: LayerRef;
  readonly expert: number;
  readonly projection: Projection;
  readonly shape: readonly number[] | undefined;
  readonly dtype: FloatDType | undefined;
}

export interface ResolvedSpec {
  readonly family: FamilyDef;
  readonly seed: number;
  readonly experts: number;
  readonly layers: number;
  readonly hidden: number;
  readonly intermediate: number;
  /** Intermediate size of dense MLPs. */
  readonly denseIntermediate: number;
  readonly vocab: number;
  readonly topK: number;
  readonly mtpLayers: number;
  readonly mlpOnlyLayers: readonly number[];
  readonly dtype: FloatDType;
  readonly dense: boolean;
  /** MoE layers stored fused (by layerKey). */
  readonly fusedLayers: ReadonlySet<string>;
  readonly partials: readonly ResolvedPartial[];
  readonly extras: readonly { readonly layer: LayerRef; readonly id: number }[];
  /** Experts stored a second time under their zero-padded id (`experts.01`). */
  readonly duplicates: readonly { readonly layer: LayerRef; readonly id: number }[];
  /** Where the config states the expert count; undefined: the family's own key. */
  readonly countKeys: readonly CountKeySetting[] | undefined;
  readonly fp8: ResolvedFp8 | undefined;
  readonly shards: number;
  /** The variants as given, in compact syntax. */
  readonly variantLabels: readonly string[];
}

const DEFAULT_FP8_BLOCK: BlockSize = [128, 128];

/** Largest sizes accepted, far above any real model, so products stay exact integers. */
const LIMITS = { experts: 1 << 16, layers: 4096, hidden: 1 << 20, intermediate: 1 << 20, vocab: 1 << 22, mtpLayers: 16, shards: 100_000 } as const;

export function layerKey(layer: LayerRef): string {
  return String(layer);
}

function usage(detail: string): UsageError {
  return new UsageError("INVALID_ARGUMENT", detail);
}

function sizeOption(name: keyof typeof LIMITS, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > LIMITS[name]) throw usage(`${name} must be a whole number from ${min} to ${LIMITS[name]}, not ${v}`);
  return v;
}

/** Whether decoder layer `i` of the family carries the MoE block. */
export function isSparseLayer(def: FamilyDef, i: number, mlpOnlyLayers: readonly number[]): boolean {
  switch (def.sparsity.kind) {
    case "all":
      return true;
    case "sparse-step":
      return !mlpOnlyLayers.includes(i) && (i + 1) % def.sparsity.step === 0;
    case "first-k-dense":
      return i >= def.sparsity.k;
  }
}

/** The MoE layers of a spec, decoder layers first, then MTP layers. */
export function moeLayers(spec: ResolvedSpec): LayerRef[] {
  if (spec.dense) return [];
  const out: LayerRef[] = [];
  for (let i = 0; i < spec.layers; i++) if (isSparseLayer(spec.family, i, spec.mlpOnlyLayers)) out.push(i);
  for (let j = 0; j < spec.mtpLayers; j++) out.push(`mtp.${j}`);
  return out;
}

function resolveFp8(def: FamilyDef, fp8: FixtureSpec["fp8"]): ResolvedFp8 | undefined {
  const on = fp8 ?? def.fp8.byDefault;
  if (on === false) return undefined;
  const o: Fp8Options = on === true ? {} : on;
  const blockSize = o.blockSize ?? DEFAULT_FP8_BLOCK;
  if (blockSize.length !== 2 || !blockSize.every((b) => Number.isSafeInteger(b) && b >= 1 && b <= 1 << 20)) {
    throw usage(`FP8 block size must be two whole numbers >= 1, not [${blockSize.join(", ")}]`);
  }
  const scaleDtype = o.scaleDtype ?? def.fp8.scaleDtype;
  if (scaleDtype !== "F32" && scaleDtype !== "BF16") throw usage(`FP8 scale dtype must be F32 or BF16, not ${String(scaleDtype)}`);
  const scaleSuffix = o.scaleSuffix ?? "_scale_inv";
  if (scaleSuffix !== "_scale_inv" && scaleSuffix !== "_scale") throw usage(`FP8 scale suffix must be _scale_inv or _scale, not ${String(scaleSuffix)}`);
  return { blockSize: [blockSize[0], blockSize[1]], scaleDtype, scaleSuffix };
}

export function resolveSpec(spec: FixtureSpec): ResolvedSpec {
  if (!isFamilyName(spec.family)) throw usage(`unknown family '${String(spec.family)}' (${FAMILY_NAMES.join(", ")})`);
  const def = familyDef(spec.family);
  const d = def.defaults;
  const seed = spec.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw usage(`seed must be a whole number from 0 to 4294967295, not ${seed}`);
  const experts = sizeOption("experts", spec.experts, d.experts);
  const layers = sizeOption("layers", spec.layers, d.layers);
  const hidden = sizeOption("hidden", spec.hidden, d.hidden);
  const intermediate = sizeOption("intermediate", spec.intermediate, d.intermediate);
  const vocab = sizeOption("vocab", spec.vocab, d.vocab);
  const shards = sizeOption("shards", spec.shards, 1);
  if (spec.mtpLayers !== undefined && d.mtpLayers === 0) throw usage(`family ${def.name} has no multi-token-prediction layers`);
  const mtpLayers = sizeOption("mtpLayers", spec.mtpLayers, d.mtpLayers, 0);
  const mlpOnlyLayers = [...(spec.mlpOnlyLayers ?? [])];
  if (mlpOnlyLayers.length > 0 && def.sparsity.kind !== "sparse-step") throw usage(`family ${def.name} has no mlp_only_layers (only qwen3_moe does)`);
  for (const l of mlpOnlyLayers)
    if (!Number.isSafeInteger(l) || l < 0 || l >= layers) throw usage(`mlp-only layer ${l} is not a decoder layer (0..${layers - 1})`);
  const dtype = spec.dtype ?? def.dtype;
  if (!isFloatDType(dtype)) throw usage(`dtype must be one of ${FLOAT_DTYPES.join(", ")}, not ${String(dtype)}`);
  const fp8 = resolveFp8(def, spec.fp8);
  const variants = spec.variants ?? [];

  const dense = variants.some((v) => v.kind === "dense");
  const base = {
    family: def,
    seed,
    experts,
    layers,
    hidden,
    intermediate,
    denseIntermediate: def.intermediateKey === "moe_intermediate_size" ? 2 * intermediate : intermediate,
    vocab,
    topK: Math.min(d.topK, experts),
    mtpLayers,
    mlpOnlyLayers: [...new Set(mlpOnlyLayers)].sort((a, b) => a - b),
    dtype,
    dense,
    fp8,
    shards,
    variantLabels: variants.map(formatVariant),
  };
  const layersOfMoe = moeLayers({ ...base, fusedLayers: new Set(), partials: [], extras: [], duplicates: [], countKeys: undefined });
  const moeKeys = new Set(layersOfMoe.map(layerKey));
  const firstMoe = layersOfMoe[0];
  const needMoeLayer = (v: Variant, layer: LayerRef | undefined): LayerRef => {
    const l = layer ?? firstMoe;
    if (l === undefined) throw usage(`variant '${formatVariant(v)}': this ${def.name} checkpoint has no MoE layer`);
    if (!moeKeys.has(layerKey(l))) {
      throw usage(
        `variant '${formatVariant(v)}': layer ${l} is not a MoE layer of this ${def.name} checkpoint (MoE layers: ${layersOfMoe.join(", ") || "none"})`,
      );
    }
    return l;
  };

  const fusedLayers = new Set<string>();
  const partials: ResolvedPartial[] = [];
  const extras: { layer: LayerRef; id: number }[] = [];
  const duplicates: { layer: LayerRef; id: number }[] = [];
  let countKeys: readonly CountKeySetting[] | undefined;
  let layoutKinds = 0;
  for (const v of variants) {
    switch (v.kind) {
      case "per-expert":
        layoutKinds |= 1;
        break;
      case "dense":
        layoutKinds |= 2;
        break;
      case "fused":
        layoutKinds |= 4;
        if (v.layer === undefined) for (const k of moeKeys) fusedLayers.add(k);
        else fusedLayers.add(layerKey(needMoeLayer(v, v.layer)));
        break;
      case "partial": {
        const layer = needMoeLayer(v, v.layer);
        const expert = v.expert ?? experts - 1;
        if (expert >= experts) throw usage(`variant '${formatVariant(v)}': expert ${expert} does not exist (experts 0..${experts - 1})`);
        if (v.defect === "drop-scale" && fp8 === undefined) throw usage(`variant '${formatVariant(v)}': drop-scale needs FP8 weights (--fp8)`);
        partials.push({ defect: v.defect, layer, expert, projection: v.projection ?? "up", shape: v.shape, dtype: v.dtype });
        break;
      }
      case "extra-expert": {
        const layer = needMoeLayer(v, v.layer);
        const id = v.id ?? experts;
        if (id < experts) throw usage(`variant '${formatVariant(v)}': an extra expert needs an id >= ${experts}, not ${id}`);
        if (id >= LIMITS.experts) throw usage(`variant '${formatVariant(v)}': expert id ${id} is too large`);
        if (extras.some((e) => layerKey(e.layer) === layerKey(layer) && e.id === id)) throw usage(`variant '${formatVariant(v)}' given twice`);
        extras.push({ layer, id });
        break;
      }
      case "duplicate-expert": {
        const layer = needMoeLayer(v, v.layer);
        const id = v.id ?? 1;
        if (id >= experts) throw usage(`variant '${formatVariant(v)}': expert ${id} does not exist (experts 0..${experts - 1})`);
        if (duplicates.some((e) => layerKey(e.layer) === layerKey(layer) && e.id === id)) throw usage(`variant '${formatVariant(v)}' given twice`);
        duplicates.push({ layer, id });
        break;
      }
      case "count-key":
        if (countKeys !== undefined) throw usage("give at most one count-key variant (it can name several locations)");
        countKeys = v.keys;
        break;
    }
  }
  const stacked = def.moe.stacked;
  if (stacked !== "fused" && variants.some((v) => v.kind === "fused" || v.kind === "partial" || v.kind === "extra-expert")) {
    throw usage(`family ${def.name} stores its experts stacked (${stacked}), its only form: fused, partial and extra-expert variants do not apply`);
  }
  if (!def.moe.gated && fusedLayers.size > 0) throw usage(`family ${def.name} has no gate projection: there is no fused gate_up form of its experts`);
  if (!def.moe.gated && partials.some((p) => p.defect !== "drop-expert" && p.projection === "gate"))
    throw usage(`family ${def.name} has no gate projection (up and down only)`);
  if (dense && variants.some((v) => v.kind !== "dense")) throw usage("dense cannot be combined with other variants: a dense checkpoint has no experts");
  if ((layoutKinds & 1) !== 0 && (layoutKinds & 4) !== 0) throw usage("per-expert and fused contradict each other");
  if (fp8 !== undefined && fusedLayers.size > 0)
    throw usage("fused FP8 experts: no real checkpoint stores them (FP8 releases are per expert); fuse after dequantizing");
  for (const p of [...partials, ...extras, ...duplicates]) {
    if (fusedLayers.has(layerKey(p.layer)))
      throw usage(`layer ${p.layer} is fused: partial, extra-expert and duplicate-expert variants need per-expert layers`);
  }
  const touched = new Set<string>();
  for (const p of partials) {
    const projections = p.defect === "drop-expert" ? ["gate", "up", "down"] : [p.projection];
    for (const proj of projections) {
      const key = `${p.layer}/${p.expert}/${proj}`;
      if (touched.has(key)) throw usage(`two partial variants change expert ${p.expert} ${proj} of layer ${p.layer}`);
      touched.add(key);
    }
  }
  return { ...base, fusedLayers, partials, extras, duplicates, countKeys };
}
