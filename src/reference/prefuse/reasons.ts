// Why a layer is left untouched: one record per finding, naming the expert, the projection, the
// tensor and the shapes involved, so a user (or a test) sees exactly what blocks the fuse.

import type { Projection } from "./layouts.js";

/**
 * Every reason a plan can give for leaving a layer untouched, with its meaning. Data, not only a
 * type: the tests iterate over it (every code has a `--strict` case), so a new code cannot go
 * untested.
 */
export const UNTOUCHED_REASONS = {
  MISSING_TENSOR: "an expert 0..E-1 lacks a projection (or a companion that its other projections have)",
  UNEXPECTED_EXPERT: "an expert id >= E",
  DUPLICATE_EXPERT: "two tensors for the same expert and projection (`experts.1` and `experts.01`)",
  SHAPE_MISMATCH: "a tensor whose shape differs from the layer's (gate and up `[I, H]`, down `[H, I]`)",
  DTYPE_MISMATCH: "a tensor whose dtype differs from the layer's (by name: BF16 and F16 differ)",
  UNSUPPORTED_LAYOUT: "the target layout needs an element-wise transpose this data cannot take (sub-byte or packed)",
  MIXED_LAYOUT: "per-expert and fused tensors under one prefix, or two layers writing the same output",
  FUSED_MISMATCH: "fused tensors that do not form a gate_up/down pair of E experts",
  NON_GATED: "experts with up and down projections only (nemotron_h): no gate to fuse, and no loader-defined conversion for this target",
  PACKED_QUANTIZED: "packed integer experts (compressed-tensors `weight_packed`, `weight_scale`, `weight_shape`): no float weight to stack",
  INTERLEAVED: "fused experts with gate and up rows interleaved (gpt-oss) or in a form (`_blocks`) this target does not split",
  UNRECOGNIZED_EXPERTS: "`.experts.` tensors of no known form: reported, never guessed at",
} as const satisfies Readonly<Record<string, string>>;

/**
 * Reasons only an alternative reading of oQ's contract gives (the release gate's reading points,
 * readings.ts): the reference's own plan, and so `fuse --strict`, never meets them.
 */
export const READING_REASONS = {
  CHECKPOINT_FUSED: "the `checkpoint` reading of already-fused: another layer is fused, so the whole checkpoint is left alone",
  NOT_SCANNED: "the layer lies outside what a reading scans (e.g. `mtp.layers.N` when only the decoder's layers are, or names oQ's pattern does not match)",
} as const satisfies Readonly<Record<string, string>>;

/** A reason the reference's own plan can give. */
export type ReferenceUntouchedCode = keyof typeof UNTOUCHED_REASONS;
export type UntouchedCode = ReferenceUntouchedCode | keyof typeof READING_REASONS;

export const UNTOUCHED_CODES: readonly ReferenceUntouchedCode[] = Object.keys(UNTOUCHED_REASONS) as ReferenceUntouchedCode[];

/**
 * Why a layer has the state it has, for every state (a plan's one-word answer per layer):
 * an untouched layer's first reason code, or one of these.
 */
export type LayerCode =
  | UntouchedCode
  /** Complete per-expert layer, fused or stacked by this run. */
  | "PER_EXPERT_COMPLETE"
  /** Fused pair split into MLX stacks by this run (switch_mlp target). */
  | "SPLIT_FUSED"
  /** Already in this target's form: fused tensors (fused target) or MLX stacks. */
  | "ALREADY_FUSED"
  /** The outputs this layer would get exist already. */
  | "OUTPUT_EXISTS"
  /** Experts stacked `[E, ...]` under the family's own names (granitemoe, jetmoe, dbrx, step3p5): nothing to prefuse. */
  | "STACKED_OTHER_NAME"
  /** No expert count in the config: treated as dense, as oQ does. */
  | "NO_EXPERT_COUNT";

export interface UntouchedReason {
  readonly code: UntouchedCode;
  /** One line, for humans. */
  readonly message: string;
  readonly expert?: number;
  readonly projection?: Projection;
  /** `weight`, or the companion kind. */
  readonly kind?: string;
  readonly tensor?: string;
  readonly shape?: readonly number[];
  readonly expected?: readonly number[];
  readonly dtype?: string;
  readonly expectedDtype?: string;
}
