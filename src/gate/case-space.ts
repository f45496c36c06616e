// The generated cases of a gate run: a fast-check arbitrary per stage over the fixture
// generator's families, variants, expert counts and sizes, weighted towards where
// implementations really break (E > 10 for numeric expert order, E > 16 and not a multiple of 16
// for the chunk seam, conflicting config keys, partial layers, extra expert ids, MTP layers).
// A draw is abstract (a layer is "the n-th MoE layer", an expert "k mod E") and `toFixtureSpec`
// resolves it, so every draw, and every value fast-check shrinks a draw to, is a valid
// checkpoint inside the stage's contract. The same seed gives the same cases on any machine.

import fc from "fast-check";
import { FAMILY_NAMES, type FamilyName, family as familyDef } from "../fixtures-gen/families.js";
import type { FloatDType } from "../fixtures-gen/float-codec.js";
import { type FixtureSpec, moeLayers, resolveSpec } from "../fixtures-gen/spec.js";
import { type CountKeySetting, type LayerRef, type Variant, formatVariant } from "../fixtures-gen/variants.js";
import { EXPERT_COUNT_KEYS, type ExpertCountKey, OQ_EXPERT_COUNT_KEYS } from "../reference/prefuse/expert-count.js";
import { PROJECTIONS, type Projection } from "../reference/prefuse/layouts.js";
import type { Stage } from "../reference/stages.js";

export type Damage = "drop-expert" | "drop-projection" | "wrong-shape" | "wrong-dtype" | "extra-expert";
export type LayerLayout = "per-expert" | "fused" | "fused-one" | "dense" | "no-count";

export interface DamageDraw {
  readonly kind: Damage;
  /** Index into the MoE layers that are stored per expert (mod their count). */
  readonly layer: number;
  /** Expert (mod E); for extra-expert, E + (expert mod 3). */
  readonly expert: number;
  readonly projection: Projection;
}

export interface CountDraw {
  readonly key: ExpertCountKey;
  /** The value is E + offset (at least 1): 0 agrees with the checkpoint, anything else conflicts. */
  readonly offset: number;
}

export interface CaseDraw {
  readonly family: FamilyName;
  readonly seed: number;
  readonly experts: number;
  /** Decoder layers beyond the family's minimum for a MoE layer to exist. */
  readonly extraLayers: number;
  readonly hidden: number;
  readonly intermediate: number;
  /** MTP layers (Qwen3.5 families only; ignored elsewhere). */
  readonly mtp: number;
  readonly dtype: FloatDType;
  readonly layout: LayerLayout;
  /** Which MoE layer `fused-one` fuses (mod their count). */
  readonly fusedPick: number;
  readonly damage: readonly DamageDraw[];
  readonly counts: readonly CountDraw[];
  readonly fp8: { readonly block: readonly [number, number]; readonly scaleDtype: "F32" | "BF16" } | null;
}

interface StageSpace {
  readonly families: readonly FamilyName[];
  readonly countKeys: readonly ExpertCountKey[];
  readonly damage: readonly Damage[];
  readonly layouts: readonly LayerLayout[];
  readonly fp8: boolean;
}

const OQ_FAMILIES: readonly FamilyName[] = ["qwen3_5_moe", "qwen3_moe", "olmoe", "deepseek_v3"];
const PARTIAL: readonly Damage[] = ["drop-expert", "drop-projection", "wrong-shape", "extra-expert"];
const FP8_LAYOUTS: readonly LayerLayout[] = ["per-expert", "dense", "no-count"];
const ALL_LAYOUTS: readonly LayerLayout[] = ["per-expert", "fused", "fused-one", "dense", "no-count"];

const SPACES: Readonly<Record<Stage, StageSpace>> = {
  prefuse: { families: OQ_FAMILIES, countKeys: OQ_EXPERT_COUNT_KEYS, damage: PARTIAL, layouts: ALL_LAYOUTS, fp8: false },
  "dequant+prefuse": { families: ["qwen3_5_moe_fp8", ...OQ_FAMILIES], countKeys: OQ_EXPERT_COUNT_KEYS, damage: PARTIAL, layouts: FP8_LAYOUTS, fp8: true },
  dequant: {
    families: ["qwen3_5_moe_fp8", ...OQ_FAMILIES, "mixtral", "qwen3_vl_moe"],
    countKeys: EXPERT_COUNT_KEYS,
    damage: PARTIAL,
    layouts: FP8_LAYOUTS,
    fp8: true,
  },
  // Every family of the layout registry that the generator makes unquantized: each MLX loader's own names.
  switch_mlp: {
    families: FAMILY_NAMES.filter((f) => !familyDef(f).fp8.byDefault),
    countKeys: EXPERT_COUNT_KEYS,
    damage: [...PARTIAL, "wrong-dtype"],
    layouts: ALL_LAYOUTS,
    fp8: false,
  },
};

/** Expert counts, weighted towards numeric order (E > 10) and the 16-expert chunk seam. */
const expertCounts = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 2, arbitrary: fc.integer({ min: 11, max: 15 }) },
  { weight: 4, arbitrary: fc.constantFrom(17, 20, 33, 16, 31, 32, 47, 48) },
  { weight: 3, arbitrary: fc.integer({ min: 17, max: 47 }) },
  { weight: 1, arbitrary: fc.integer({ min: 49, max: 130 }) },
);

/** The arbitrary of a stage's generated cases. */
export function caseArbitrary(stage: Stage): fc.Arbitrary<CaseDraw> {
  const space = SPACES[stage];
  const damage = fc.record({
    kind: fc.constantFrom(...space.damage),
    layer: fc.nat(7),
    expert: fc.nat(255),
    projection: fc.constantFrom(...PROJECTIONS),
  });
  const count = fc.record({ key: fc.constantFrom(...space.countKeys), offset: fc.constantFrom(0, 0, 0, 0, 0, 1, -1, 2, -3) });
  const fp8 = space.fp8
    ? fc.record({
        block: fc.constantFrom<readonly [number, number]>([128, 128], [4, 4], [2, 3], [8, 8], [16, 16], [3, 5]),
        scaleDtype: fc.constantFrom<"F32" | "BF16">("BF16", "F32"),
      })
    : fc.constant(null);
  return fc.record({
    family: fc.constantFrom(...space.families),
    seed: fc.nat(0xffff),
    experts: expertCounts,
    extraLayers: fc.nat(2),
    hidden: fc.integer({ min: 1, max: 12 }),
    intermediate: fc.integer({ min: 1, max: 8 }),
    mtp: fc.nat(2),
    dtype: fc.constantFrom<FloatDType>("BF16", "F16", "F32"),
    // Per expert (what the prefuse is for) in most cases; each other layout in one case of twenty.
    layout: fc.oneof(
      { weight: 21 - space.layouts.length, arbitrary: fc.constant<LayerLayout>("per-expert") },
      ...space.layouts.slice(1).map((l) => ({ weight: 1, arbitrary: fc.constant(l) })),
    ),
    fusedPick: fc.nat(7),
    // Most cases fuse: damage, conflicts and other layouts each come in a minority of them.
    damage: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(damage, { minLength: 1, maxLength: 2 }) }),
    counts: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(count, { minLength: 1, maxLength: 3 }) }),
    fp8,
  });
}

/** Decoder layers a family needs before its first MoE layer exists. */
function minimumLayers(f: FamilyName): number {
  const s = familyDef(f).sparsity;
  return s.kind === "sparse-step" ? s.step : s.kind === "first-k-dense" ? s.k + 1 : 1;
}

function countVariant(draw: CaseDraw, allowed: readonly ExpertCountKey[]): Variant | undefined {
  const keys = new Map<ExpertCountKey, CountKeySetting>();
  for (const c of draw.counts) if (!keys.has(c.key)) keys.set(c.key, { key: c.key, value: Math.max(1, draw.experts + c.offset) });
  if (keys.size > 0) return { kind: "count-key", keys: [...keys.values()] };
  const own = familyDef(draw.family).countKey;
  // The family's own location, unless the stage does not read it (DeepSeek's n_routed_experts in oQ's stages).
  return allowed.includes(own) ? undefined : { kind: "count-key", keys: [{ key: "num_experts" }] };
}

/** The checkpoint a draw stands for, for `stage`. */
export function toFixtureSpec(stage: Stage, draw: CaseDraw): FixtureSpec {
  const space = SPACES[stage];
  const hasMtp = familyDef(draw.family).defaults.mtpLayers > 0;
  const base: FixtureSpec = {
    family: draw.family,
    seed: draw.seed,
    experts: draw.experts,
    layers: minimumLayers(draw.family) + draw.extraLayers,
    hidden: draw.hidden,
    intermediate: draw.intermediate,
    vocab: 16,
    dtype: draw.dtype,
    ...(hasMtp ? { mtpLayers: draw.mtp } : {}),
    ...(draw.fp8 !== null ? { fp8: { blockSize: [draw.fp8.block[0], draw.fp8.block[1]] as [number, number], scaleDtype: draw.fp8.scaleDtype } } : {}),
  };
  if (draw.layout === "dense") return { ...base, variants: [{ kind: "dense" }] };
  // Experts stacked under a family's own names have no other form (no fused or damaged variant);
  // non-gated ones (nemotron_h) have no fused form and no gate to damage.
  const moe = familyDef(draw.family).moe;
  const stacked = moe.stacked !== "fused";
  const layers = stacked ? [] : moeLayers(resolveSpec(base));
  const variants: Variant[] = [];
  const fused = new Set<LayerRef>();
  const fusable = moe.gated && !stacked;
  if (draw.layout === "fused" && fusable) {
    variants.push({ kind: "fused" });
    for (const l of layers) fused.add(l);
  } else if (draw.layout === "fused-one" && fusable) {
    const layer = layers[draw.fusedPick % layers.length]!;
    variants.push({ kind: "fused", layer });
    fused.add(layer);
  }
  const perExpert = layers.filter((l) => !fused.has(l));
  const damaged = new Set<string>();
  for (const d of draw.damage) {
    if (perExpert.length === 0) break;
    const layer = perExpert[d.layer % perExpert.length]!;
    const expert = d.kind === "extra-expert" ? draw.experts + (d.expert % 3) : d.expert % draw.experts;
    const key = `${layer}/${expert}`;
    if (damaged.has(key)) continue;
    damaged.add(key);
    if (d.kind === "extra-expert") variants.push({ kind: "extra-expert", layer, id: expert });
    else variants.push({ kind: "partial", defect: d.kind, layer, expert, projection: !moe.gated && d.projection === "gate" ? "up" : d.projection });
  }
  const counts = draw.layout === "no-count" ? ({ kind: "count-key", keys: [] } as const) : countVariant(draw, space.countKeys);
  if (counts !== undefined) variants.push(counts);
  return { ...base, variants };
}

/** Feature tags of a generated case, for per-feature reports (the golden corpus tags its cases too). */
export function caseFeatures(spec: FixtureSpec): string[] {
  const E = spec.experts ?? familyDef(spec.family).defaults.experts;
  const v = spec.variants ?? [];
  const tags = new Set<string>();
  if (E > 10) tags.add("numeric-order");
  if (E > 16) tags.add("chunk-seam");
  if (E === 1) tags.add("single-expert");
  for (const x of v) {
    if (x.kind === "partial") tags.add(x.defect === "wrong-dtype" ? "mixed-dtype" : "partial-layer");
    if (x.kind === "extra-expert") tags.add("extra-expert");
    if (x.kind === "duplicate-expert") tags.add("duplicate-expert");
    if (x.kind === "fused") tags.add("already-fused");
    if (x.kind === "dense") tags.add("dense");
    if (x.kind === "count-key") {
      if (x.keys.length === 0) tags.add("no-count");
      if (new Set(x.keys.map((k) => k.value)).size > 1) tags.add("conflicting-count-keys");
      if (x.keys.some((k) => k.key.startsWith("text_config."))) tags.add("count-in-text-config");
    }
  }
  if ((spec.mtpLayers ?? 0) > 0) tags.add("mtp");
  if (spec.fp8 !== undefined && spec.fp8 !== false) tags.add("fp8");
  if (spec.family === "mixtral") tags.add("mixtral-naming");
  if (spec.family === "qwen3_vl_moe" || spec.family === "llama4") tags.add("transposed");
  if (spec.dtype !== undefined && spec.dtype !== "BF16") tags.add(spec.dtype.toLowerCase());
  return [...tags].sort();
}

/** One line describing a generated checkpoint: family, sizes, variants. */
export function describeSpec(spec: FixtureSpec): string {
  const fp8 = typeof spec.fp8 === "object" ? ` fp8 ${spec.fp8.blockSize?.join("x")} ${spec.fp8.scaleDtype}` : "";
  const mtp = spec.mtpLayers ? ` mtp=${spec.mtpLayers}` : "";
  const variants = (spec.variants ?? []).map(formatVariant);
  return `${spec.family} E=${spec.experts} L=${spec.layers}${mtp} H=${spec.hidden} I=${spec.intermediate} ${spec.dtype}${fp8}${variants.length > 0 ? ` ${variants.join(" ")}` : ""}`;
}

/** The stage's generated draws, deterministic from the seed (what fast-check's run `seed` draws). */
export function sampleDraws(stage: Stage, seed: number, runs: number): CaseDraw[] {
  return runs === 0 ? [] : fc.sample(caseArbitrary(stage), { seed, numRuns: runs });
}
