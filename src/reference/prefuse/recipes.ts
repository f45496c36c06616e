// What each output tensor of a fused layer is made of. Every output has the expert as its
// leading axis and every input is either one tensor per expert or a fused tensor with the expert
// leading, so any output can be produced expert range by expert range (`produce.ts`); the
// in-memory prefuse and the streaming fuse share these recipes and so write the same bytes.

import type { DType } from "../dtypes.js";
import type { TensorSpec } from "../tensor.js";
import type { CompleteLayer, StackedSeries } from "./layer-check.js";
import { type ExpertLayout, type FuseTarget, PROJECTIONS, fusedNames, switchName } from "./layouts.js";
import { type FusedDims, fusedDownShape, fusedGateUpShape } from "./shapes.js";

/** Per-expert inputs: names in expert order, all of one spec. */
export interface ExpertSeries {
  readonly names: readonly string[];
  readonly spec: TensorSpec;
}

/** A fused input whose leading axis is the expert. */
export interface FusedInput {
  readonly name: string;
  readonly spec: TensorSpec;
}

export type OutputRecipe =
  /** out[e] = in[e] */
  | { readonly op: "stack"; readonly inputs: ExpertSeries }
  /** out[e] = in[e]^T */
  | { readonly op: "stack-transposed"; readonly inputs: ExpertSeries }
  /** out[e] = gate[e] rows then up[e] rows */
  | { readonly op: "concat-rows"; readonly gate: ExpertSeries; readonly up: ExpertSeries }
  /** out[e] = gate[e]^T columns then up[e]^T columns */
  | { readonly op: "concat-columns"; readonly gate: ExpertSeries; readonly up: ExpertSeries }
  /** out[e] = half `half` of in[e] along its rows (axis -2) */
  | { readonly op: "split-rows"; readonly input: FusedInput; readonly half: 0 | 1 }
  /** out[e] = (half `half` of in[e] along its columns (axis -1))^T */
  | { readonly op: "split-columns"; readonly input: FusedInput; readonly half: 0 | 1 }
  /** out[e] = rows half, half + 2, half + 4... of in[e] (axis 1, trailing axes as one row): gpt-oss's `v[..., ::2, :]` */
  | { readonly op: "take-rows"; readonly input: FusedInput; readonly half: 0 | 1 }
  /** out = in, under a new name (and, for MXFP4 blocks, a new element type over the same bytes) */
  | { readonly op: "copy"; readonly input: FusedInput }
  /** out[e] = in[e]^T */
  | { readonly op: "transpose"; readonly input: FusedInput };

export interface PlannedOutput extends TensorSpec {
  readonly name: string;
  /** The layer prefix it belongs to. */
  readonly layer: string;
  readonly recipe: OutputRecipe;
}

const seriesOf = (s: StackedSeries): ExpertSeries => ({ names: s.names, spec: s.spec });

/** The outputs of a complete per-expert layer. */
export function perExpertOutputs(layer: CompleteLayer, layout: ExpertLayout, prefix: string, target: FuseTarget): PlannedOutput[] {
  const out = (name: string, dtype: DType, shape: readonly number[], recipe: OutputRecipe): PlannedOutput => ({ name, dtype, shape, layer: prefix, recipe });
  if (target === "switch_mlp") {
    const weights = PROJECTIONS.flatMap((p) => layer.weights[p] ?? []);
    return [...weights, ...layer.companions].map((s) =>
      out(switchName(layout, prefix, s.projection, s.kind), s.spec.dtype, [layer.E, ...s.spec.shape], { op: "stack", inputs: seriesOf(s) }),
    );
  }
  // Only gated layers reach the fused target: the plan checks all three projections for it.
  const [gate, up, down] = [layer.weights.gate!, layer.weights.up!, layer.weights.down!];
  const names = fusedNames(layout, prefix);
  const rows = layout.orientation === "rows";
  return [
    out(names.gateUp, layer.dtype, fusedGateUpShape(layer.E, gate.spec.shape, up.spec.shape, layout.orientation), {
      op: rows ? "concat-rows" : "concat-columns",
      gate: seriesOf(gate),
      up: seriesOf(up),
    }),
    out(names.down, layer.dtype, fusedDownShape(layer.E, down.spec.shape, layout.orientation), {
      op: rows ? "stack" : "stack-transposed",
      inputs: seriesOf(down),
    }),
  ];
}

/** The switch_mlp outputs of an already fused layer: gate_up split in two, down carried over. */
export function fusedToSwitchOutputs(gateUp: FusedInput, down: FusedInput, dims: FusedDims, layout: ExpertLayout, prefix: string): PlannedOutput[] {
  const { E, I, H } = dims;
  const rows = layout.orientation === "rows";
  const out = (projection: "gate" | "up" | "down", shape: readonly number[], recipe: OutputRecipe): PlannedOutput => ({
    name: switchName(layout, prefix, projection),
    dtype: recipe.op === "copy" || recipe.op === "transpose" ? down.spec.dtype : gateUp.spec.dtype,
    shape,
    layer: prefix,
    recipe,
  });
  return [
    out("gate", [E, I, H], { op: rows ? "split-rows" : "split-columns", input: gateUp, half: 0 }),
    out("up", [E, I, H], { op: rows ? "split-rows" : "split-columns", input: gateUp, half: 1 }),
    out("down", [E, H, I], rows ? { op: "copy", input: down } : { op: "transpose", input: down }),
  ];
}

/**
 * gpt-oss's MXFP4 release as mlx-lm's gpt_oss.py sanitize leaves it: `gate_up_proj_blocks`
 * [E, 2I, G, 16] (U8) viewed as U32 and flattened to [E, 2I, 4G], then split interleaved on
 * axis -2 (`v[..., ::2, :]` gate, `v[..., 1::2, :]` up); `_scales` [E, 2I, G] the same way;
 * `gate_up_proj_bias` [E, 2I] on its last axis; down's blocks, scales and bias renamed as they
 * are. Every output is a byte-for-byte selection of its input's rows.
 */
export function interleavedToSwitchOutputs(parts: Readonly<Record<string, FusedInput>>, layout: ExpertLayout, prefix: string): PlannedOutput[] {
  const out: PlannedOutput[] = [];
  const add = (projection: "gate" | "up" | "down", kind: string, dtype: DType, shape: readonly number[], recipe: OutputRecipe) =>
    out.push({ name: switchName(layout, prefix, projection, kind), dtype, shape, layer: prefix, recipe });
  const words = (s: readonly number[]) => [s[0]!, s[1]!, (s[2]! * s[3]!) / 4];
  const half = (s: readonly number[]) => [s[0]!, s[1]! / 2, ...s.slice(2)];
  const blocks = parts.gate_up_proj_blocks!;
  const scales = parts.gate_up_proj_scales!;
  const bias = parts.gate_up_proj_bias;
  for (const [projection, h] of [
    ["gate", 0],
    ["up", 1],
  ] as const) {
    add(projection, "weight", "U32", words(half(blocks.spec.shape)), { op: "take-rows", input: blocks, half: h });
    add(projection, "scales", scales.spec.dtype, half(scales.spec.shape), { op: "take-rows", input: scales, half: h });
    if (bias !== undefined) add(projection, "bias", bias.spec.dtype, half(bias.spec.shape), { op: "take-rows", input: bias, half: h });
  }
  const down = parts.down_proj_blocks!;
  add("down", "weight", "U32", words(down.spec.shape), { op: "copy", input: down });
  add("down", "scales", parts.down_proj_scales!.spec.dtype, parts.down_proj_scales!.spec.shape, { op: "copy", input: parts.down_proj_scales! });
  const downBias = parts.down_proj_bias;
  if (downBias !== undefined) add("down", "bias", downBias.spec.dtype, downBias.spec.shape, { op: "copy", input: downBias });
  return out;
}

/** Every input tensor a recipe reads. */
export function recipeInputs(r: OutputRecipe): readonly string[] {
  switch (r.op) {
    case "stack":
    case "stack-transposed":
      return r.inputs.names;
    case "concat-rows":
    case "concat-columns":
      return [...r.gate.names, ...r.up.names];
    default:
      return [r.input.name];
  }
}
