// An independent arithmetic model of rounding to narrow binary floats (bf16, f16), written from
// the IEEE 754 definition with exact double arithmetic rather than bit tricks, and the float32
// inputs that probe every rounding boundary of those formats.

export interface FloatFormat {
  /** Significant bits, the implicit one included. */
  readonly precision: number;
  /** Smallest normal exponent. */
  readonly emin: number;
  /** Largest exponent. */
  readonly emax: number;
}

export const BF16: FloatFormat = { precision: 8, emin: -126, emax: 127 };
export const F16: FloatFormat = { precision: 11, emin: -14, emax: 15 };

/** Rounds a float32 value to the format, to nearest with ties to even; overflow gives infinity. */
export function roundTo(x: number, f: FloatFormat): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  // The unit in the last place; below emin the spacing stays that of the subnormals.
  const ulp = 2 ** (Math.max(e, f.emin) - f.precision + 1);
  // Exact: a float32 has 24 significant bits and ulp is a power of two.
  const scaled = a / ulp;
  let r = Math.floor(scaled);
  const rest = scaled - r;
  if (rest > 0.5 || (rest === 0.5 && r % 2 === 1)) r += 1;
  const max = (2 - 2 ** (1 - f.precision)) * 2 ** f.emax;
  const v = r * ulp;
  return (x < 0 ? -1 : 1) * (v > max ? Infinity : v);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}

export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** Zeros, infinities, NaNs (quiet, signalling, negative), float32 max and min, subnormals. */
export const F32_EDGES: readonly number[] = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fbfffff, 0xffffffff, 0x7f7fffff, 0xff7fffff, 0x7f7f8000, 0x7f7f7fff,
  0x7f7f8001, 0x00800000, 0x80800000, 0x00000001, 0x80000001, 0x007fffff, 0x00008000, 0x00018000, 0x00010000, 0x0000ffff, 0x477ff000, 0x477fefff, 0x477fe000,
  0x477fe001, 0x33800000, 0x33000000, 0x33000001, 0x337fffff, 0x387fc000, 0x38800000,
].map(f32FromBits);

/**
 * For every bf16 code (high half of a float32), the float32 values just above, halfway to and
 * just past halfway to the next code: every tie and every near-tie of bf16 rounding.
 */
export function bf16Boundaries(): Float32Array {
  const lows = [0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff];
  const out = new Float32Array(65536 * lows.length);
  const bits = new Uint32Array(out.buffer);
  let k = 0;
  for (let h = 0; h < 65536; h++) for (const low of lows) bits[k++] = ((h << 16) | low) >>> 0;
  return out;
}

/**
 * For every pair of adjacent finite f16 values a < b (both signs, subnormals included, and the
 * overflow threshold past 65504), the float32 midpoint and its two float32 neighbours.
 */
export function f16Boundaries(f16ToNumber: (bits: number) => number): Float32Array {
  const values: number[] = [];
  for (let h = 0; h < 0x7c00; h++) {
    const a = f16ToNumber(h);
    const b = h === 0x7bff ? 65536 : f16ToNumber(h + 1);
    const mid = Math.fround((a + b) / 2);
    const m = f32Bits(mid);
    for (const v of [a, mid, f32FromBits(m - 1), f32FromBits(m + 1)]) values.push(v, -v);
  }
  return Float32Array.from(values);
}
