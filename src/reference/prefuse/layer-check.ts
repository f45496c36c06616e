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

export function checkExpertLayer(
  tensors: readonly ExpertTensor[],
  specs: ReadonlyMap<string, TensorSpec>,
  E: number,
  layout: ExpertLayout,
  target: FuseTarget,
  shape: LayerShape = { projections: PROJECTIONS, names: namesOf(tensors, layout) },
  readings: Pick<PrefuseReadings, "extraExperts" | "duplicates"> = DEFAULT_READINGS,
): LayerCheck {
  const { extraExperts, duplicates } = readings;
  const reasons: UntouchedReason[] = [];
  const dropped: string[] = [];
  const slots = new Map<string, ExpertTensor>();
  const kinds = new Set<string>();
  const slotKey = (p: Projection, kind: string, e: number) => `${p}|${kind}|${e}`;
  const label = (p: Projection, kind: string) => `${shape.names[p]}.${kind}`;
  const PROJ = shape.projections;
  const packed = tensors.find((t) => PACKED_KINDS.includes(t.kind));
  if (packed !== undefined && !tensors.some((t) => t.kind === "weight")) {
    const message = `packed integer experts (${PACKED_KINDS.join(", ")}, e.g. ${packed.name}): no float weight to stack; mlx-lm's deepseek_v3 sanitize converts them itself`;
    return { ok: false, reasons: [{ code: "PACKED_QUANTIZED", tensor: packed.name, kind: packed.kind, message }] };
  }

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
    const prev = slots.get(key);
    if (prev !== undefined && duplicates !== "untouched") {
      // One of the two is fused, the other passes through as it is.
      if (t.name < prev.name === (duplicates === "first")) slots.set(key, t);
      continue;
    }
    if (prev !== undefined) {
      reasons.push({ ...base, code: "DUPLICATE_EXPERT", message: `${t.name} and ${prev.name} are both expert ${t.expert} ${label(t.projection, t.kind)}` });
      continue;
    }
    slots.set(key, t);
    kinds.add(t.kind);
  }
  const quantized = kinds.has("scales");

  /** Checks one series (projection x kind) over experts 0..E-1, recording what is missing or odd. */
  const series = (p: Projection, kind: string, expected: Shape | undefined, dtype: DType | undefined): void => {
    const present = [...slots.values()].filter((t) => t.projection === p && t.kind === kind).sort((a, b) => a.expert - b.expert);
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
      const spec = specs.get(t.name)!;
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
  };
  const inSeries = (ps: readonly Projection[], kind: string) => [...slots.values()].filter((t) => t.kind === kind && ps.includes(t.projection));
  const specsOf = (ps: readonly Projection[], kind: string) =>
    inSeries(ps, kind)
      .sort((a, b) => a.expert - b.expert)
      .map((t) => specs.get(t.name)!);

  // The layer's norms: the most common dtype over all weights; `[I, H]` is the most common of
  // the gate and up shapes and the transposed down shapes (so even one expert has a majority).
  const dtype = mostCommon(specsOf(PROJ, "weight"), (s) => s.dtype)?.dtype;
  const matrices = (ps: readonly Projection[]) =>
    specsOf(ps, "weight")
      .map((s) => s.shape)
      .filter((s) => s.length === 2);
  let expected: Partial<Record<Projection, Shape>>;
  if (quantized) {
    const gateUp = mostCommon(matrices(["gate", "up"]), shapeKey);
    expected = { gate: gateUp, up: gateUp, down: mostCommon(matrices(["down"]), shapeKey) };
  } else {
    const anchor = mostCommon([...matrices(["gate", "up"]), ...matrices(["down"]).map((s) => [s[1]!, s[0]!])], shapeKey);
    expected = anchor === undefined ? {} : perExpertShapes(anchor[0]!, anchor[1]!);
  }
  for (const p of PROJ) series(p, "weight", expected[p], dtype);

  const companions: { projection: Projection; kind: string }[] = [];
  const passthrough: string[] = [];
  for (const kind of [...kinds].filter((k) => k !== "weight").sort()) {
    if (target === "switch_mlp" && STACKED_COMPANIONS.includes(kind)) {
      const kindDtype = mostCommon(specsOf(PROJ, kind), (s) => s.dtype)?.dtype;
      for (const p of PROJ) {
        if (specsOf([p], kind).length === 0) continue;
        const shape = mostCommon(
          specsOf([p], kind)
            .map((s) => s.shape)
            .filter((s) => s.length === 2),
          shapeKey,
        );
        series(p, kind, shape, kindDtype);
        companions.push({ projection: p, kind });
      }
    } else {
      for (const t of inSeries(PROJ, kind)) passthrough.push(t.name);
    }
  }

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
    const names = Array.from({ length: E }, (_, e) => slots.get(slotKey(p, kind, e))!.name);
    return { projection: p, kind, names, spec: specs.get(names[0]!)! };
  };
  return {
    ok: true,
    layer: {
      E,
      dtype: dtype!,
      weights: Object.fromEntries(PROJ.map((p) => [p, complete(p, "weight")])),
      companions: companions.map((c) => complete(c.projection, c.kind)),
      passthrough: passthrough.sort(),
      dropped: dropped.sort(),
      quantized,
    },
  };
}
