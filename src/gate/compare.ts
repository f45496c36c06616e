// Comparing a candidate's weight dict with the reference's: the same tensor names, and for each
// tensor the same dtype, shape and bytes. Tensor order, file layout and `__metadata__` are the
// candidate's choice and are never compared.
//
// Without a tolerance (the default) the comparison is of bytes: two tensors agree exactly when
// their data is byte for byte the same, so -0 and +0, two NaNs with different payloads or signs,
// and any other pair of distinct bit patterns are reported as differing, whatever they compare
// as numbers. (A candidate that turns a checkpoint's -0 into +0 or canonicalizes its NaNs does
// not write the reference's bytes.)
//
// With a ulp tolerance (`--tolerance ulp=N`, floating stages only), BF16/F16/F32 elements are
// compared as numbers on the ulp scale of ulp.ts: they agree when they are at most N ulps apart,
// where -0 and +0 are the same point (0 ulps apart, so accepted at every N, ulp=0 included), a
// NaN agrees with every NaN whatever its sign and payload, and a NaN never agrees with a number
// (infinitely far). Every other dtype (FP8, integers, bool) is still compared bit for bit.

import { dtypeBits, numelOf } from "../reference/dtypes.js";
import { type Tensor, type TensorMap, bytesEqual, formatSpec, sameSpec } from "../reference/tensor.js";
import { elementBits, isUlpDType, ulpDistance } from "./ulp.js";

export interface Tolerance {
  /** Largest accepted distance in ulps of BF16/F16/F32 elements. */
  readonly ulp: number;
}

export interface TensorMismatch {
  readonly tensor: string;
  readonly problem: "dtype" | "shape" | "bytes";
  /** dtype and shape, e.g. `BF16 [20, 16, 8]`. */
  readonly expected: string;
  readonly actual: string;
  /** Elements that differ (beyond the tolerance). */
  readonly differing?: number;
  readonly elements?: number;
  /** Flat index of the first differing element. */
  readonly firstIndex?: number;
  /** For 3-D tensors (experts leading): the expert of the first difference. */
  readonly firstExpert?: number;
  /** With a tolerance: the largest distance found, in ulps. */
  readonly maxUlp?: number;
}

export interface Comparison {
  readonly equal: boolean;
  /** Expected tensors the candidate did not write. */
  readonly missing: readonly string[];
  /** Tensors the candidate wrote that the reference does not. */
  readonly extra: readonly string[];
  readonly mismatches: readonly TensorMismatch[];
}

function byteMismatch(name: string, e: Tensor, a: Tensor, tolerance: Tolerance | undefined): TensorMismatch | undefined {
  if (bytesEqual(e.data, a.data)) return undefined;
  const bits = dtypeBits(e.dtype);
  const ulps = tolerance !== undefined && isUlpDType(e.dtype);
  // Sub-byte dtypes are compared byte by byte.
  const width = bits % 8 === 0 ? bits / 8 : 1;
  const count = e.data.length / width;
  let differing = 0;
  let first = -1;
  let maxUlp = 0;
  for (let i = 0; i < count; i++) {
    let differs: boolean;
    if (ulps) {
      const d = ulpDistance(e.dtype, elementBits(e.dtype, e.data, i), elementBits(e.dtype, a.data, i));
      maxUlp = Math.max(maxUlp, d);
      differs = d > tolerance.ulp;
    } else {
      differs = false;
      for (let k = i * width; k < (i + 1) * width; k++) if (e.data[k] !== a.data[k]) differs = true;
    }
    if (differs) {
      differing++;
      if (first < 0) first = i;
    }
  }
  if (differing === 0) return undefined;
  const elements = numelOf(e.shape);
  return {
    tensor: name,
    problem: "bytes",
    expected: formatSpec(e),
    actual: formatSpec(a),
    differing,
    elements,
    firstIndex: first,
    ...(e.shape.length === 3 && e.shape[0]! > 0 ? { firstExpert: Math.floor(first / (elements / e.shape[0]!)) } : {}),
    ...(ulps ? { maxUlp } : {}),
  };
}

export function compareWeights(expected: TensorMap, actual: TensorMap, tolerance?: Tolerance): Comparison {
  const missing = [...expected.keys()].filter((n) => !actual.has(n)).sort();
  const extra = [...actual.keys()].filter((n) => !expected.has(n)).sort();
  const mismatches: TensorMismatch[] = [];
  for (const [name, e] of [...expected].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const a = actual.get(name);
    if (a === undefined) continue;
    const spec = { tensor: name, expected: formatSpec(e), actual: formatSpec(a) };
    if (a.dtype !== e.dtype) mismatches.push({ ...spec, problem: "dtype" });
    else if (!sameSpec(a, e)) mismatches.push({ ...spec, problem: "shape" });
    else {
      const m = byteMismatch(name, e, a, tolerance);
      if (m !== undefined) mismatches.push(m);
    }
  }
  return { equal: missing.length === 0 && extra.length === 0 && mismatches.length === 0, missing, extra, mismatches };
}

/** One line for a mismatch: what differs and where. */
export function describeMismatch(m: TensorMismatch): string {
  switch (m.problem) {
    case "dtype":
      return `${m.tensor}: dtype ${m.actual}, expected ${m.expected}`;
    case "shape":
      return `${m.tensor}: shape ${m.actual}, expected ${m.expected}`;
    case "bytes": {
      const where = m.firstExpert !== undefined ? `, first at expert ${m.firstExpert}` : `, first at element ${m.firstIndex}`;
      const ulp = m.maxUlp !== undefined ? `, up to ${m.maxUlp} ulp` : "";
      return `${m.tensor}: ${m.differing} of ${m.elements} elements differ${where}${ulp}`;
    }
  }
}
