// Why a layer is left untouched: one record per finding, naming the expert, the projection, the
// tensor and the shapes involved, so a user (or a test) sees exactly what blocks the fuse.

import type { Projection } from "./layouts.js";

export type UntouchedCode =
  /** An expert 0..E-1 lacks a projection (or a companion that its other projections have). */
  | "MISSING_TENSOR"
  /** An expert id >= E. */
  | "UNEXPECTED_EXPERT"
  /** Two tensors for the same expert and projection (`experts.1` and `experts.01`). */
  | "DUPLICATE_EXPERT"
  | "SHAPE_MISMATCH"
  | "DTYPE_MISMATCH"
  /** The target layout needs an element-wise transpose this data cannot take (sub-byte or packed). */
  | "UNSUPPORTED_LAYOUT"
  /** Per-expert and fused tensors under one prefix. */
  | "MIXED_LAYOUT"
  /** Fused tensors that do not form a gate_up/down pair of E experts. */
  | "FUSED_MISMATCH"
  /** The `checkpoint` reading of already-fused: another layer is fused, so the whole checkpoint is left alone. */
  | "CHECKPOINT_FUSED"
  /** The layer's prefix lies outside the prefixes a reading scans (e.g. `mtp.layers.N` when only the decoder's layers are). */
  | "NOT_SCANNED"
  /** Experts with up and down projections only (nemotron_h): no gate to fuse, and no loader-defined conversion for this target. */
  | "NON_GATED"
  /** Packed integer experts (compressed-tensors `weight_packed`, `weight_scale`, `weight_shape`): no float weight to stack. */
  | "PACKED_QUANTIZED"
  /** Fused experts with gate and up rows interleaved (gpt-oss) or in a form (`_blocks`) this target does not split. */
  | "INTERLEAVED"
  /** `.experts.` tensors of no known form: reported, never guessed at. */
  | "UNRECOGNIZED_EXPERTS";

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
