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
  | "NOT_SCANNED";

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
