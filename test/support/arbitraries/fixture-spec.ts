// FixtureSpec arbitraries: generated checkpoints of every family, in every variant, with expert
// counts biased to where stacking code breaks (chunk seams around multiples of 16, E > 10 where
// lexicographic order differs from numeric, a single expert). Every spec drawn is valid by
// construction: layers, experts and projections are picked among those the spec has.

import fc from "fast-check";
import { EXPERT_COUNT_KEYS } from "../../../src/reference/prefuse/expert-count.js";
import { type FuseTarget, PROJECTIONS } from "../../../src/reference/prefuse/layouts.js";
import { FAMILY_NAMES, type FamilyName, family } from "../../../src/fixtures-gen/families.js";
import { switchName } from "../moe-names.js";
import { type FixtureSpec, moeLayers, resolveSpec } from "../../../src/fixtures-gen/spec.js";
import { PARTIAL_DEFECTS, type PartialDefect, type Variant } from "../../../src/fixtures-gen/variants.js";

/** Families whose weights are not FP8 (inputs of the prefuse itself). */
export const NOT_FP8_FAMILIES: readonly FamilyName[] = FAMILY_NAMES.filter((f) => !family(f).fp8.byDefault);

/**
 * Unquantized families whose experts are gated, stored per expert (or fused rows / columns),
 * and stacked by their MLX loader into `<prefix>.switch_mlp` under the same module: the
 * prefuse's classic case, which the structural properties draw from. The other families
 * (own MLX names, non-gated, interleaved, stacked under their own names) are covered family by
 * family by the registry property (test/reference/prefuse/families.property.test.ts).
 */
export const UNQUANTIZED_FAMILIES: readonly FamilyName[] = NOT_FP8_FAMILIES.filter((f) => {
  const m = family(f).moe;
  return m.gated && m.stacked === "fused" && m.fusedStyle !== "interleaved" && switchName("p", "up", f) === "p.switch_mlp.up_proj.weight";
});

/** Families that store fused experts as [E, 2I, H] / [E, H, I] (not transposed). */
export const ROWS_FAMILIES: readonly FamilyName[] = UNQUANTIZED_FAMILIES.filter((f) => family(f).moe.fusedStyle === "rows");

/** Expert counts around every multiple of 16 up to `max`: 16k - 1, 16k, 16k + 1. */
export function chunkSeams(max: number): number[] {
  const out: number[] = [];
  for (let k = 16; k - 1 <= max; k += 16) out.push(...[k - 1, k, k + 1].filter((e) => e <= max));
  return out;
}

/** An expert count in [min, max], half the time on a chunk seam or among the smallest counts. */
export function expertCount(max: number, min = 1): fc.Arbitrary<number> {
  const special = [...new Set([min, min + 1, 2, 3, 11, 12, ...chunkSeams(max)])].filter((e) => e >= min && e <= max);
  return fc.oneof(fc.integer({ min, max }), fc.constantFrom(...special));
}

/** Decoder layers such that the family has at least one MoE layer (qwen3_moe's layer 0 and deepseek's first layer are dense). */
function layerRange(name: FamilyName): { min: number; max: number } {
  const s = family(name).sparsity;
  const min = s.kind === "sparse-step" ? s.step : s.kind === "first-k-dense" ? s.k + 1 : 1;
  return { min, max: min + 2 };
}

export interface TinySpecOptions {
  readonly families?: readonly FamilyName[];
  readonly experts?: fc.Arbitrary<number>;
  /** Draw the unquantized dtype (BF16, F16, F32) instead of the family's. */
  readonly dtypes?: boolean;
}

/** A tiny per-expert checkpoint: hidden <= 4, intermediate <= 3, a few layers, MTP sometimes. */
export function tinySpec(options: TinySpecOptions = {}): fc.Arbitrary<FixtureSpec> {
  const families = options.families ?? UNQUANTIZED_FAMILIES;
  return fc.constantFrom(...families).chain((name) =>
    fc
      .record({
        seed: fc.nat({ max: 0xffffffff }),
        experts: options.experts ?? expertCount(24),
        layers: fc.integer(layerRange(name)),
        hidden: fc.integer({ min: 1, max: 4 }),
        intermediate: fc.integer({ min: 1, max: 3 }),
        vocab: fc.integer({ min: 1, max: 8 }),
        mtpLayers: family(name).defaults.mtpLayers > 0 ? fc.integer({ min: 0, max: 1 }) : fc.constant(undefined),
        dtype: options.dtypes ? fc.option(fc.constantFrom("BF16" as const, "F16" as const, "F32" as const), { nil: undefined }) : fc.constant(undefined),
      })
      .map(
        (r): FixtureSpec => ({
          family: name,
          seed: r.seed,
          experts: r.experts,
          layers: r.layers,
          hidden: r.hidden,
          intermediate: r.intermediate,
          vocab: r.vocab,
          ...(r.mtpLayers === undefined ? {} : { mtpLayers: r.mtpLayers }),
          ...(r.dtype === undefined ? {} : { dtype: r.dtype }),
        }),
      ),
  );
}

export type VariantKind = "none" | "fused" | "fused-layer" | "partial" | "extra-expert";

/** Defects that leave a layer's remaining tensors unquantized (drop-scale needs FP8). */
export const UNQUANTIZED_DEFECTS: readonly PartialDefect[] = PARTIAL_DEFECTS.filter((d) => d !== "drop-scale");

/**
 * `base` with one variant of the given kinds, aimed at a layer and expert that exist. A
 * drop-expert needs two experts or more (with one, the layer would vanish instead of being partial).
 */
export function withVariant(base: fc.Arbitrary<FixtureSpec>, kinds: readonly VariantKind[]): fc.Arbitrary<FixtureSpec> {
  return fc
    .tuple(base, fc.constantFrom(...kinds), fc.nat(), fc.nat(), fc.constantFrom(...PROJECTIONS), fc.constantFrom(...UNQUANTIZED_DEFECTS), fc.nat({ max: 3 }))
    .map(([spec, kind, layerPick, expertPick, projection, defect, extra]) => {
      const layers = moeLayers(resolveSpec(spec));
      const E = spec.experts ?? family(spec.family).defaults.experts;
      const layer = layers[layerPick % layers.length]!;
      let variant: Variant | undefined;
      if (kind === "fused") variant = { kind: "fused" };
      if (kind === "fused-layer") variant = { kind: "fused", layer };
      if (kind === "extra-expert") variant = { kind: "extra-expert", layer, id: E + extra };
      if (kind === "partial") {
        const d = defect === "drop-expert" && E < 2 ? "drop-projection" : defect;
        variant = { kind: "partial", defect: d, layer, expert: expertPick % E, ...(d === "drop-expert" ? {} : { projection }) };
      }
      return variant === undefined ? spec : { ...spec, variants: [variant] };
    });
}

/** Any valid spec at all: every family and variant, FP8 blocks, shards, count keys with any JSON scalar. */
export const anyFixtureSpec: fc.Arbitrary<FixtureSpec> = fc
  .record({
    family: fc.constantFrom(...FAMILY_NAMES),
    seed: fc.nat({ max: 0xffffffff }),
    experts: fc.integer({ min: 1, max: 18 }),
    layers: fc.integer({ min: 1, max: 4 }),
    hidden: fc.integer({ min: 1, max: 12 }),
    intermediate: fc.integer({ min: 1, max: 8 }),
    shards: fc.integer({ min: 1, max: 3 }),
    fp8Block: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    variant: fc.oneof(
      fc.constant({ kind: "none" as const }),
      fc.record({ kind: fc.constant("fused" as const), layerPick: fc.option(fc.nat(), { nil: undefined }) }),
      fc.constant({ kind: "dense" as const }),
      fc.record({
        kind: fc.constant("partial" as const),
        defect: fc.constantFrom(...PARTIAL_DEFECTS),
        layerPick: fc.nat(),
        expertPick: fc.nat(),
        projection: fc.constantFrom(...PROJECTIONS),
      }),
      fc.record({ kind: fc.constant("extra-expert" as const), layerPick: fc.nat(), extra: fc.nat({ max: 5 }) }),
      fc.record({
        kind: fc.constant("count-key" as const),
        keys: fc.subarray([...EXPERT_COUNT_KEYS]),
        values: fc.array(fc.option(fc.integer({ min: -2, max: 40 }), { nil: undefined }), {
          minLength: EXPERT_COUNT_KEYS.length,
          maxLength: EXPERT_COUNT_KEYS.length,
        }),
      }),
    ),
  })
  .map((r) => {
    const base: FixtureSpec = { family: r.family, seed: r.seed, experts: r.experts, layers: r.layers, hidden: r.hidden, intermediate: r.intermediate };
    const fp8 = r.fp8Block !== undefined || family(r.family).fp8.byDefault;
    const moe = family(r.family).moe;
    // Experts stacked under a family's own names have no other form; non-gated ones no fused form and no gate.
    const layers = moe.stacked === "fused" ? moeLayers(resolveSpec(base)) : [];
    const pick = (n: number) => layers[n % layers.length]!;
    let variant: Variant | undefined;
    const v = r.variant;
    if (v.kind === "fused" && !fp8 && moe.stacked === "fused" && moe.gated)
      variant = v.layerPick === undefined || layers.length === 0 ? { kind: "fused" } : { kind: "fused", layer: pick(v.layerPick) };
    if (v.kind === "dense") variant = { kind: "dense" };
    if (v.kind === "partial" && layers.length > 0 && (v.defect !== "drop-scale" || fp8)) {
      const projection = !moe.gated && v.projection === "gate" ? "up" : v.projection;
      variant = { kind: "partial", defect: v.defect, layer: pick(v.layerPick), expert: v.expertPick % r.experts, projection };
    }
    if (v.kind === "extra-expert" && layers.length > 0) variant = { kind: "extra-expert", layer: pick(v.layerPick), id: r.experts + v.extra };
    if (v.kind === "count-key")
      variant = { kind: "count-key", keys: v.keys.map((key, i) => (v.values[i] === undefined ? { key } : { key, value: v.values[i]! })) };
    const spec: FixtureSpec = {
      ...base,
      ...(variant ? { variants: [variant] } : {}),
      ...(r.fp8Block !== undefined ? { fp8: { blockSize: [r.fp8Block, r.fp8Block] as const } } : {}),
      shards: r.shards,
    };
    return spec;
  });

/** A tiny checkpoint of any unquantized family in any layout a prefuse meets: per expert, fused, mixed, damaged. */
export const anyPrefuseInput: fc.Arbitrary<FixtureSpec> = withVariant(tinySpec({ dtypes: true }), [
  "none",
  "none",
  "fused",
  "fused-layer",
  "partial",
  "extra-expert",
]);

export const fuseTarget: fc.Arbitrary<FuseTarget> = fc.constantFrom<FuseTarget>("fused", "switch_mlp");
