// Block FP8 quantization as the real FP8 releases do it (DeepSeek-V3, Qwen FP8): each
// [bm, bn] block of a 2-D weight gets scale = amax / 448 (stored as `weight_scale_inv`, F32 or
// BF16), and every value becomes the E4M3FN code nearest to value / scale, ties to the even
// code, saturating at +-448. The quotient is rounded to float32 first, as torch computes
// `w.float() / scale` (rounding the exact quotient instead differs on near-ties). "Nearest" is
// judged against reference/dtypes.ts's decode table, so decode(encode(x)) is exactly the
// table's closest entry. Dimensions that are not multiples of the block get partial edge
// blocks (their amax covers only the real elements). NaN becomes the E4M3FN NaN code 0x7F (torch's
// conversion; a JS NaN has no sign to keep) and stays out of its block's amax, so it does not
// turn the whole block into NaN.
//
// Real FP8 checkpoints hold negative zeros (a negative weight too small for its block's scale is
// quantized to 0x80), and a bit-exact gate must see a candidate that turns them into +0 or
// canonicalizes a NaN's sign. So every generated FP8 weight carries SPECIAL_VALUES in its last
// elements (withSpecialValues): -0, a negative that rounds to -0, and a NaN. Experts derived from
// their kind's base by a sign pattern (values.ts) get them with their own signs, so 0xFF, the
// negative NaN, occurs too. Dequantized, they are -0 (0x8000) and the canonical bf16 NaN.

import { E4M3FN_TABLE } from "../reference/dtypes.js";
import { type FloatDType, decodeFloat, elementSize, elementView, encodeFloat } from "./float-codec.js";
import { lastAtMost } from "./sorted-search.js";

export const E4M3_MAX = 448;

/** Codes 0..126: the non-negative finite E4M3FN values, ascending (0x7F is NaN). */
const POSITIVE = E4M3FN_TABLE.subarray(0, 127);

/** The E4M3FN code whose value is nearest to `x` (ties to the even code), saturating at 448; NaN is 0x7F. */
export function encodeE4M3(x: number): number {
  if (Number.isNaN(x)) return 0x7f;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const a = Math.min(Math.abs(x), E4M3_MAX);
  // The largest code whose value does not exceed a, or the next one if that is nearer.
  let c = lastAtMost(POSITIVE, a);
  if (c < POSITIVE.length - 1) {
    // The midpoint of two adjacent E4M3 values is exact in a double.
    const mid = (POSITIVE[c]! + POSITIVE[c + 1]!) / 2;
    if (a > mid || (a === mid && (c & 1) === 1)) c += 1;
  }
  return sign | c;
}

/** What the last elements of every generated FP8 weight hold (weights of MIN_SPECIAL_ELEMENTS or more). */
export const SPECIAL_VALUES: readonly number[] = [-0, -(2 ** -140), NaN];
export const MIN_SPECIAL_ELEMENTS = 8;

/** The values with SPECIAL_VALUES written over their last elements (a copy; small tensors unchanged). */
export function withSpecialValues(values: Float64Array): Float64Array {
  if (values.length < MIN_SPECIAL_ELEMENTS) return values;
  const out = values.slice();
  out.set(SPECIAL_VALUES, out.length - SPECIAL_VALUES.length);
  return out;
}

export type BlockSize = readonly [rows: number, cols: number];

export interface BlockQuantized {
  /** E4M3FN codes, row-major [rows, cols]. */
  readonly codes: Uint8Array;
  /** The stored scale of each block, row-major [ceil(rows/bm), ceil(cols/bn)], as decoded values. */
  readonly scales: Float64Array;
  readonly scaleShape: readonly [number, number];
}

export function scaleShape(rows: number, cols: number, block: BlockSize): [number, number] {
  return [Math.ceil(rows / block[0]), Math.ceil(cols / block[1])];
}

/**
 * Quantizes `values` (row-major [rows, cols]) block by block. The scale is amax / 448 rounded to
 * `scaleDtype`; an all-zero block gets scale 1 (any scale represents it, and 0 would divide by 0).
 */
export function quantizeBlocks(values: Float64Array, rows: number, cols: number, block: BlockSize, scaleDtype: FloatDType): BlockQuantized {
  const [bm, bn] = block;
  const [sr, sc] = scaleShape(rows, cols, block);
  const scales = new Float64Array(sr * sc);
  const codes = new Uint8Array(rows * cols);
  for (let br = 0; br < sr; br++) {
    const r1 = Math.min(rows, (br + 1) * bm);
    for (let bc = 0; bc < sc; bc++) {
      const c0 = bc * bn;
      const c1 = Math.min(cols, c0 + bn);
      let amax = 0;
      for (let r = br * bm; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          const a = Math.abs(values[r * cols + c]!);
          if (a > amax) amax = a; // NaN compares false: it never becomes the amax
        }
      }
      const scale = amax === 0 ? 1 : decodeFloat(scaleDtype, encodeFloat(scaleDtype, amax / E4M3_MAX));
      scales[br * sc + bc] = scale;
      for (let r = br * bm; r < r1; r++) {
        // The quotient is rounded to float32 first, as torch computes `w.float() / scale`.
        for (let c = c0; c < c1; c++) codes[r * cols + c] = encodeE4M3(Math.fround(values[r * cols + c]! / scale));
      }
    }
  }
  return { codes, scales, scaleShape: [sr, sc] };
}

/** The bytes of a scale tensor holding `scales` multiplied by `factor` (a power of two: exact). */
export function encodeScales(scales: Float64Array, scaleDtype: FloatDType, factor = 1): Uint8Array {
  const out = new Uint8Array(scales.length * elementSize(scaleDtype));
  const bits = elementView(scaleDtype, out);
  for (let i = 0; i < scales.length; i++) bits[i] = encodeFloat(scaleDtype, scales[i]! * factor);
  return out;
}
