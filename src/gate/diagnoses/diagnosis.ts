// What a diagnosis is: a named, recognisable way an implementation goes wrong, found by comparing
// the reference's output with the candidate's, knowing the reference's plan (which layers it
// fuses, leaves untouched and why) and the config. Each diagnosis is a small pure function over
// this context, in a file of its own; diagnose.ts runs them in order of specificity.

import type { ModelConfig } from "../../reference/checkpoint.js";
import type { FusePlan } from "../../reference/prefuse/plan.js";
import { type Tensor, type TensorMap, bytesEqual, sameSpec } from "../../reference/tensor.js";

export type DiagnosisKind =
  | "count-key-precedence"
  | "partial-layer-fused"
  | "untouched-layer-changed"
  | "layer-missing"
  | "layer-left-per-expert"
  | "gate-up-swapped"
  | "transposed"
  | "experts-permuted"
  | "chunk-seam"
  /** A fused tensor with the reference's experts, then more: the count was not honoured. */
  | "experts-beyond-count"
  | "dtype-changed"
  | "renamed"
  | "missing-tensors"
  | "extra-tensors"
  /** The candidate reads a reading point one way in some cases and another way in others (fingerprint.ts). */
  | "reading-inconsistent"
  /** The candidate reads a pinned reading point another way than the pinned readings say. */
  | "reading-changed";

export interface Diagnosis {
  readonly kind: DiagnosisKind;
  /** One line, for humans. */
  readonly message: string;
  /** The tensors it explains (expected or written names). */
  readonly tensors: readonly string[];
  /** Facts a program can match on (first bad expert, the permutation's kind, the dtypes...). */
  readonly detail?: Readonly<Record<string, string | number | boolean | readonly number[]>>;
}

export interface DiagnosisContext {
  /** The reference's output. */
  readonly expected: TensorMap;
  /** The candidate's output. */
  readonly actual: TensorMap;
  /** The reference's plan for the input (undefined for the dequant stage, which fuses nothing). */
  readonly plan: FusePlan | undefined;
  readonly config: ModelConfig;
}

/** Up to `n` names, then how many more. */
export function listNames(names: readonly string[], n = 3): string {
  const shown = names.slice(0, n).join(", ");
  return names.length > n ? `${shown} and ${names.length - n} more` : shown;
}

export interface ChangedTensor {
  readonly name: string;
  readonly expected: Tensor;
  readonly actual: Tensor;
}

/** Tensors in both outputs that differ in dtype, shape or bytes, in name order. */
export function changedTensors(ctx: DiagnosisContext): ChangedTensor[] {
  const out: ChangedTensor[] = [];
  for (const name of [...ctx.expected.keys()].sort()) {
    const expected = ctx.expected.get(name)!;
    const actual = ctx.actual.get(name);
    if (actual !== undefined && !(sameSpec(expected, actual) && bytesEqual(expected.data, actual.data))) out.push({ name, expected, actual });
  }
  return out;
}
