// Encoding and decoding the element types generated weights are stored in (BF16, F16, F32),
// element by element and in bulk, using the exact roundings of reference/dtypes.ts (a number is
// rounded to float32 first, then to the 16-bit type, nearest even, as torch does from float32).

import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../reference/dtypes.js";

export const FLOAT_DTYPES = ["BF16", "F16", "F32"] as const;
export type FloatDType = (typeof FLOAT_DTYPES)[number];

export function isFloatDType(d: string): d is FloatDType {
  return (FLOAT_DTYPES as readonly string[]).includes(d);
}

export function elementSize(d: FloatDType): 2 | 4 {
  return d === "F32" ? 4 : 2;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bits of `value` in dtype `d`. */
export function encodeFloat(d: FloatDType, value: number): number {
  switch (d) {
    case "BF16":
      return f32ToBf16(value);
    case "F16":
      return f32ToF16(value);
    case "F32":
      f32[0] = value;
      return u32[0]!;
  }
}

export function decodeFloat(d: FloatDType, bits: number): number {
  switch (d) {
    case "BF16":
      return bf16ToF32(bits);
    case "F16":
      return f16ToF32(bits);
    case "F32":
      u32[0] = bits;
      return f32[0]!;
  }
}

/** A typed view of little-endian element bits over `bytes` (which must be aligned). */
export function elementView(d: FloatDType, bytes: Uint8Array): Uint16Array | Uint32Array {
  return d === "F32"
    ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2)
    : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 1);
}

export function decodeArray(d: FloatDType, bytes: Uint8Array): Float64Array {
  const bits = elementView(d, bytes);
  const out = new Float64Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = decodeFloat(d, bits[i]!);
  return out;
}

export function encodeArray(d: FloatDType, values: Float64Array): Uint8Array {
  const out = new Uint8Array(values.length * elementSize(d));
  const bits = elementView(d, out);
  for (let i = 0; i < values.length; i++) bits[i] = encodeFloat(d, values[i]!);
  return out;
}
