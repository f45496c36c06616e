// Distances in units in the last place, for `--tolerance ulp=N` on the floating stages. A float's
// bit pattern is mapped to its position on the number line (sign-magnitude to a signed ordinal),
// so adjacent representable values are 1 apart, +0 and -0 are both 0, the largest finite value
// and infinity are 1 apart, and a distance counts every representable value crossed, across
// zero too. NaN is at no distance from NaN (any payload or sign) and infinitely far from any
// number. (So a tolerance, even ulp=0, accepts -0 for +0 and any NaN for any NaN; without a
// tolerance the gate compares bytes and accepts neither: see compare.ts.)

import type { DType } from "../reference/dtypes.js";

interface FloatBits {
  /** Element width in bytes. */
  readonly bytes: 2 | 4;
  readonly sign: number;
  /** Bit patterns (sign cleared) above this are NaN. */
  readonly infinity: number;
}

const FLOATS: Partial<Record<DType, FloatBits>> = {
  BF16: { bytes: 2, sign: 0x8000, infinity: 0x7f80 },
  F16: { bytes: 2, sign: 0x8000, infinity: 0x7c00 },
  F32: { bytes: 4, sign: 0x80000000, infinity: 0x7f800000 },
};

/** The dtypes a ulp tolerance applies to (others are always compared bit for bit). */
export const ULP_DTYPES: readonly DType[] = Object.keys(FLOATS) as DType[];

export function isUlpDType(dtype: DType): boolean {
  return FLOATS[dtype] !== undefined;
}

function ordinal(bits: number, f: FloatBits): number {
  return bits >= f.sign ? -(bits - f.sign) : bits;
}

/** ulps between two elements of `dtype` given as unsigned bit patterns. */
export function ulpDistance(dtype: DType, a: number, b: number): number {
  const f = FLOATS[dtype];
  if (f === undefined) throw new RangeError(`no ulp distance for ${dtype}`);
  const nanA = (a & ~f.sign) >>> 0 > f.infinity;
  const nanB = (b & ~f.sign) >>> 0 > f.infinity;
  if (nanA || nanB) return nanA && nanB ? 0 : Infinity;
  return Math.abs(ordinal(a, f) - ordinal(b, f));
}

/** The little-endian bit pattern of element `i` of a float tensor's bytes. */
export function elementBits(dtype: DType, data: Uint8Array, i: number): number {
  const f = FLOATS[dtype]!;
  const o = i * f.bytes;
  return f.bytes === 2 ? data[o]! | (data[o + 1]! << 8) : (data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24)) >>> 0;
}
