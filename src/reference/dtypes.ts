// Element types of the safetensors format and the exact scalar encodings the harness needs:
// bf16 <-> f32 (round to nearest even), f16 <-> f32, and FP8 (E4M3FN, E5M2, E8M0) decode tables.
// The table order is the reference library's `Dtype` enum order, which is also its layout rank:
// its writer sorts tensors by descending rank, then by name.

export const DTYPES = [
  "BOOL",
  "F4",
  "F6_E2M3",
  "F6_E3M2",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "F8_E8M0",
  "F8_E4M3FNUZ",
  "F8_E5M2FNUZ",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "C64",
  "F64",
  "I64",
  "U64",
] as const;

export type DType = (typeof DTYPES)[number];

const BITS: Readonly<Record<DType, number>> = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
};

const RANK: ReadonlyMap<string, number> = new Map(DTYPES.map((d, i) => [d, i]));

export function isDType(name: string): name is DType {
  return RANK.has(name);
}

/** Width of one element in bits (BOOL is stored as a byte). */
export function dtypeBits(dtype: DType): number {
  return BITS[dtype];
}

/** The reference writer's layout rank: higher ranks are written first. */
export function dtypeRank(dtype: DType): number {
  return RANK.get(dtype) ?? -1;
}

export function isFloat8(dtype: DType): boolean {
  return dtype.startsWith("F8_");
}

/** Byte size of `numel` elements, or undefined when sub-byte elements do not fill whole bytes. */
export function byteSize(dtype: DType, numel: number): number | undefined {
  const bits = numel * BITS[dtype];
  return bits % 8 === 0 ? bits / 8 : undefined;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// ---- bf16 ------------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The canonical quiet NaN MLX, torch and numpy produce when rounding any NaN to bf16. */
export const BF16_NAN = 0x7fc0;

export function bf16ToF32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** Round the float32 with these bits to bf16, to nearest even; every NaN becomes BF16_NAN. */
export function f32BitsToBf16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return BF16_NAN;
  return ((bits >>> 0) + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/** Round a number to float32, then to bf16 (nearest even). */
export function f32ToBf16(value: number): number {
  f32[0] = value;
  return f32BitsToBf16(u32[0]!);
}

/** Bulk bf16 rounding of float32 values into `out` (same length). */
export function f32ArrayToBf16(values: Float32Array, out: Uint16Array): void {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    out[i] = (b & 0x7fffffff) > 0x7f800000 ? BF16_NAN : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
}

// ---- f16 -------------------------------------------------------------------------------------

export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const man = bits & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 0x1f) return man === 0 ? sign * Infinity : NaN;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

/** The canonical quiet NaN when rounding NaN to f16. */
export const F16_NAN = 0x7e00;

/** Round a number to float32, then to f16 (nearest even, overflow to infinity). */
export function f32ToF16(value: number): number {
  f32[0] = value;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const man = bits & 0x7fffff;
  if (exp === 0xff) return man === 0 ? sign | 0x7c00 : F16_NAN;
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero) in f16: shift the full significand, round to nearest even.
    if (e < -10) return sign;
    const full = man | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = full & ((1 << shift) - 1);
    let r = full >>> shift;
    if (rest > half || (rest === half && (r & 1) === 1)) r += 1;
    return sign | r;
  }
  let r = (e << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r += 1; // may carry into infinity: correct
  return sign | r;
}

// ---- FP8 decode tables -------------------------------------------------------------------------

function table(decode: (code: number) => number): Float32Array {
  const t = new Float32Array(256);
  for (let c = 0; c < 256; c++) t[c] = decode(c);
  return t;
}

/** E4M3FN (torch float8_e4m3fn): bias 7, subnormals, no infinities, 0x7F/0xFF are NaN, max 448. */
export const E4M3FN_TABLE: Float32Array = table((c) => {
  const sign = c & 0x80 ? -1 : 1;
  const e = (c >>> 3) & 0xf;
  const m = c & 0x7;
  if ((c & 0x7f) === 0x7f) return NaN;
  return sign * (e === 0 ? m * 2 ** -9 : (1 + m / 8) * 2 ** (e - 7));
});

/** E5M2: bias 15, IEEE-like (0x7C is +Inf), max 57344: exactly the high byte of an f16. */
export const E5M2_TABLE: Float32Array = table((c) => f16ToF32(c << 8));

/** E8M0 (OCP MX scales): 2^(s-127), 0xFF is NaN. */
export const E8M0_TABLE: Float32Array = table((c) => (c === 0xff ? NaN : 2 ** (c - 127)));

/** The 256-entry decode table of an 8-bit float dtype, when the harness knows it. */
export function float8Table(dtype: DType): Float32Array | undefined {
  switch (dtype) {
    case "F8_E4M3":
      return E4M3FN_TABLE;
    case "F8_E5M2":
      return E5M2_TABLE;
    case "F8_E8M0":
      return E8M0_TABLE;
    default:
      return undefined;
  }
}
