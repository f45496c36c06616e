// The completeness rule for a per-expert layer: it is fused only when every expert 0..E-1 has
// all three projections, no expert id is >= E, nothing is duplicated, the shapes fit (gate and
// up `[I, H]`, down `[H, I]`) and there is one dtype. Every finding is recorded; the expected
// shape and dtype are the most common ones in the layer, so the odd tensor out is the one named.
//
// MLX affine-quantized experts (with `.scales`) hold packed weights whose column counts depend
// on the bit width, so for them each projection need only be uniform across experts (gate and up
// alike). The switch_mlp target stacks `.scales` / `.biases` too; other companions (and, in the
// fused target, all companions) pass through untouched.

import type { DType } from "../dtypes.js";
import type { TensorSpec } from "../tensor.js";
import { elementBytes } from "../ops/geometry.js";
import { type ExpertLayout, type FuseTarget, type Projection, PROJECTIONS } from "./layouts.js";
import { DEFAULT_READINGS, type PrefuseReadings } from "./readings.js";
import type { UntouchedReason } from "./reasons.js";
import type { ExpertTensor } from "./scan.js";
import { type Shape, formatShape, perExpertShapes, sameShape } from "./shapes.js";

/** Companions the switch_mlp target stacks along with the weights (MLX affine quantization). */
export const STACKED_COMPANIONS: readonly string[] = ["scales", "biases"];

export interface StackedSeries {
  readonly projection: Projection;
  /** `weight` or a stacked companion kind. */
  readonly kind: string;
  /** One tensor per expert, in expert order. */
  readonly names: readonly string[];
  /** Their common spec. */
  readonly spec: TensorSpec;
}

export interface CompleteLayer {
  readonly E: number;
  readonly dtype: DType;
  /** The `.weight` series of the checked projections (all three for gated experts; up and down for non-gated). */
  readonly weights: Readonly<Partial<Record<Projection, StackedSeries>>>;
  /** Companions stacked with the weights (switch_mlp target only). */
  readonly companions: readonly StackedSeries[];
  /** Companion tensors left as they are. */
  readonly passthrough: readonly string[];
  /** Tensors of expert ids >= E that the fuse removes (the `drop` reading of extra experts). */
  readonly dropped: readonly string[];
  readonly quantized: boolean;
}

export type LayerCheck = { readonly ok: true; readonly layer: CompleteLayer } | { readonly ok: false; readonly reasons: readonly UntouchedReason[] };

/** The most frequent value (first seen wins ties): the layer's norm, against which outliers are named. */
function mostCommon<T>(values: readonly T[], key: (v: T) => string): T | undefined {
  const counts = new Map<string, { v: T; n: number }>();
  for (const v of values) {
    const k = key(v);
    const c = counts.get(k);
    if (c === undefined) counts.set(k, { v, n: 1 });
    else c.n++;
  }
  let best: { v: T; n: number } | undefined;
  for (const c of counts.values()) if (best === undefined || c.n > best.n) best = c;
  return best?.v;
}

const shapeKey = (s: Shape) => s.join(",");

/** Missing (expert, projection) slots listed one by one per series; the rest are counted. */
export const MAX_LISTED_MISSING = 1024;

/** compressed-tensors' packed integer weights: no `.weight` to stack, only these. */
const PACKED_KINDS: readonly string[] = ["weight_packed", "weight_scale", "weight_shape"];

/** What the layer is checked as: its projections, and their names on disk (for messages). */
export interface LayerShape {
  readonly projections: readonly Projection[];
  readonly names: Readonly<Record<Projection, string>>;
}

/** The projections' names as the group writes them (w1 or gate_proj), else the layout's. */
export function namesOf(tensors: readonly ExpertTensor[], layout: ExpertLayout): Readonly<Record<Projection, string>> {
  const found = (p: Projection) => tensors.find((t) => t.projection === p)?.leaf ?? layout.perExpert[p];
  return { gate: found("gate"), up: found("up"), down: found("down") };
}

/** The layer's tensors by slot (projection, kind, expert), and what assigning them found. */
interface Slots {
  readonly byKey: ReadonlyMap<string, ExpertTensor>;
  readonly kinds: ReadonlySet<string>;
  readonly dropped: readonly string[];
}

const slotKey = (p: Projection, kind: string, e: number) => `${p}|${kind}|${e}`;

/** What every phase of the check reads. */
interface CheckContext {
  readonly specs: ReadonlyMap<string, TensorSpec>;
  readonly E: number;
  readonly projections: readonly Projection[];
  readonly slots: Slots;
  readonly label: (p: Projection, kind: string) => string;
  readonly reasons: UntouchedReason[];
}

/** Puts each tensor in its slot; ids >= E and duplicates are findings, or settled by a reading. */
function assignSlots(
  tensors: readonly ExpertTensor[],
  E: number,
  { extraExperts, duplicates }: Pick<PrefuseReadings, "extraExperts" | "duplicates">,
  label: CheckContext["label"],
  reasons: UntouchedReason[],
): Slots {
  const byKey = new Map<string, ExpertTensor>();
  const kinds = new Set<string>();
  const dropped: string[] = [];
  for (const t of tensors) {
    const base = { expert: t.expert, projection: t.projection, kind: t.kind, tensor: t.name };
    if (t.expert >= E && extraExperts !== "untouched") {
      // Experts 0..E-1 decide; an extra passes through (keep) or is removed with the layer (drop).
      if (extraExperts === "drop") dropped.push(t.name);
      continue;
    }
    if (t.expert >= E) {
      reasons.push({ ...base, code: "UNEXPECTED_EXPERT", message: `${t.name}: expert id ${t.expert} is not below the expert count ${E}` });
      continue;
    }
    const key = slotKey(t.projection, t.kind, t.expert);
    const prev = byKey.get(key);
    if (prev !== undefined && duplicates !== "untouched") {
      // One of the two is fused, the other passes through as it is.
      if (t.name < prev.name === (duplicates === "first")) byKey.set(key, t);
      continue;
    }
    if (prev !== undefined) {
      reasons.push({ ...base, code: "DUPLICATE_EXPERT", message: `${t.name} and ${prev.name} are both expert ${t.expert} ${label(t.projection, t.kind)}` });
      continue;
    }
    byKey.set(key, t);
    kinds.add(t.kind);
  }
  return { byKey, kinds, dropped };
}

const inSeries = (c: CheckContext, ps: readonly Projection[], kind: string) =>
  [...c.slots.byKey.values()].filter((t) => t.kind === kind && ps.includes(t.projection));
const specsOf = (c: CheckContext, ps: readonly Projection[], kind: string) =>
  inSeries(c, ps, kind)
    .sort((a, b) => a.expert - b.expert)
    .map((t) => c.specs.get(t.name)!);

/** Checks one series (projection x kind) over experts 0..E-1, recording what is missing or odd. */
function checkSeries(c: CheckContext, p: Projection, kind: string, expected: Shape | undefined, dtype: DType | undefined): void {
  const { E, reasons, label } = c;
  const present = inSeries(c, [p], kind).sort((a, b) => a.expert - b.expert);
  // Missing experts in order; a config claiming far more experts than exist is summarised.
  let listed = 0;
  let next = 0;
  for (let e = 0, i = 0; e < E && listed < MAX_LISTED_MISSING; e++) {
    if (present[i]?.expert === e) i++;
    else {
      reasons.push({ code: "MISSING_TENSOR", expert: e, projection: p, kind, message: `expert ${e} has no ${label(p, kind)}` });
      listed++;
    }
    next = e + 1;
  }
  const unlisted = E - present.length - listed;
  if (unlisted > 0) {
    reasons.push({ code: "MISSING_TENSOR", projection: p, kind, message: `${unlisted} more experts from ${next} on have no ${label(p, kind)}` });
  }
  for (const t of present) {
    const spec = c.specs.get(t.name)!;
    const base = { expert: t.expert, projection: p, kind, tensor: t.name, shape: spec.shape };
    if (spec.shape.length !== 2) {
      reasons.push({ ...base, code: "SHAPE_MISMATCH", message: `${t.name} has shape ${formatShape(spec.shape)}, not a 2-D matrix` });
    } else if (expected !== undefined && !sameShape(spec.shape, expected)) {
      reasons.push({
        ...base,
        code: "SHAPE_MISMATCH",
        expected,
        message: `${t.name} has shape ${formatShape(spec.shape)}, expected ${formatShape(expected)}`,
      });
    }
    if (dtype !== undefined && spec.dtype !== dtype) {
      reasons.push({
        ...base,
        code: "DTYPE_MISMATCH",
        dtype: spec.dtype,
        expectedDtype: dtype,
        message: `${t.name} is ${spec.dtype}, the layer is ${dtype}`,
      });
    }
  }
}

/**
 * The layer's norms: the most common dtype over all weights; `[I, H]` is the most common of the
 * gate and up shapes and the transposed down shapes (so even one expert has a majority). Packed
 * (quantized) weights need only be uniform per projection, gate and up alike.
 */
function layerNorms(c: CheckContext, quantized: boolean): { dtype: DType | undefined; expected: Partial<Record<Projection, Shape>> } {
  const dtype = mostCommon(specsOf(c, c.projections, "weight"), (s) => s.dtype)?.dtype;
  const matrices = (ps: readonly Projection[]) =>
    specsOf(c, ps, "weight")
      .map((s) => s.shape)
      .filter((s) => s.length === 2);
  if (quantized) {
    const gateUp = mostCommon(matrices(["gate", "up"]), shapeKey);
    return { dtype, expected: { gate: gateUp, up: gateUp, down: mostCommon(matrices(["down"]), shapeKey) } };
  }
  const anchor = mostCommon([...matrices(["gate", "up"]), ...matrices(["down"]).map((s) => [s[1]!, s[0]!])], shapeKey);
  return { dtype, expected: anchor === undefined ? {} : perExpertShapes(anchor[0]!, anchor[1]!) };
}

/** Companion kinds: the ones the switch_mlp target stacks are checked as series, the rest pass through. */
function sortCompanions(c: CheckContext, target: FuseTarget): { companions: { projection: Projection; kind: string }[]; passthrough: string[] } {
  const companions: { projection: Projection; kind: string }[] = [];
  const passthrough: string[] = [];
  for (const kind of [...c.slots.kinds].filter((k) => k !== "weight").sort()) {
    if (target === "switch_mlp" && STACKED_COMPANIONS.includes(kind)) {
      const kindDtype = mostCommon(specsOf(c, c.projections, kind), (s) => s.dtype)?.dtype;
      for (const p of c.projections) {
        if (specsOf(c, [p], kind).length === 0) continue;
        const shape = mostCommon(
          specsOf(c, [p], kind)
            .map((s) => s.shape)
            .filter((s) => s.length === 2),
          shapeKey,
        );
        checkSeries(c, p, kind, shape, kindDtype);
        companions.push({ projection: p, kind });
      }
    } else {
      for (const t of inSeries(c, c.projections, kind)) passthrough.push(t.name);
    }
  }
  return { companions, passthrough };
}

export function checkExpertLayer(
  tensors: readonly ExpertTensor[],
  specs: ReadonlyMap<string, TensorSpec>,
  E: number,
  layout: ExpertLayout,
  target: FuseTarget,
  shape: LayerShape = { projections: PROJECTIONS, names: namesOf(tensors, layout) },
  readings: Pick<PrefuseReadings, "extraExperts" | "duplicates"> = DEFAULT_READINGS,
): LayerCheck {
  const packed = tensors.find((t) => PACKED_KINDS.includes(t.kind));
  if (packed !== undefined && !tensors.some((t) => t.kind === "weight")) {
    const message = `packed integer experts (${PACKED_KINDS.join(", ")}, e.g. ${packed.name}): no float weight to stack; mlx-lm's deepseek_v3 sanitize converts them itself`;
    return { ok: false, reasons: [{ code: "PACKED_QUANTIZED", tensor: packed.name, kind: packed.kind, message }] };
  }
  const reasons: UntouchedReason[] = [];
  const label = (p: Projection, kind: string) => `${shape.names[p]}.${kind}`;
  const slots = assignSlots(tensors, E, readings, label, reasons);
  const c: CheckContext = { specs, E, projections: shape.projections, slots, label, reasons };
  const quantized = slots.kinds.has("scales");
  const { dtype, expected } = layerNorms(c, quantized);
  for (const p of c.projections) checkSeries(c, p, "weight", expected[p], dtype);
  const { companions, passthrough } = sortCompanions(c, target);

  if (target === "fused" && layout.orientation === "columns" && dtype !== undefined && (quantized || elementBytes({ dtype, shape: [] }) === undefined)) {
    reasons.push({
      code: "UNSUPPORTED_LAYOUT",
      dtype,
      message: `the ${layout.name} fused layout stores experts transposed, which ${quantized ? "packed quantized weights" : `${dtype} elements`} cannot be`,
    });
  }
  if (reasons.length > 0) return { ok: false, reasons };

  // Complete: every slot 0..E-1 of every series holds exactly one tensor.
  const complete = (p: Projection, kind: string): StackedSeries => {
    const names = Array.from({ length: E }, (_, e) => slots.byKey.get(slotKey(p, kind, e))!.name);
    return { projection: p, kind, names, spec: specs.get(names[0]!)! };
  };
  return {
    ok: true,
    layer: {
      E,
      dtype: dtype!,
      weights: Object.fromEntries(c.projections.map((p) => [p, complete(p, "weight")])),
      companions: companions.map((x) => complete(x.projection, x.kind)),
      passthrough: passthrough.sort(),
      dropped: [...slots.dropped].sort(),
      quantized,
    },
  };
}
