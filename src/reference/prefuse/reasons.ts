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
} as const satisfies Readonly<Record<string, string>>;

export type UntouchedCode = keyof typeof UNTOUCHED_REASONS;

export const UNTOUCHED_CODES: readonly UntouchedCode[] = Object.keys(UNTOUCHED_REASONS) as UntouchedCode[];

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
