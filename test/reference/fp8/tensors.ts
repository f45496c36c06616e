// Small tensor builders for the FP8 tests, and a scalar reference of one dequantized element
// (the formula itself, through dtypes.ts) for checking which scale a scheme applies where.

import { E4M3FN_TABLE, E5M2_TABLE, f32ToBf16 } from "../../../src/reference/dtypes.js";
import type { Tensor } from "../../../src/reference/tensor.js";

export function fp8(shape: readonly number[], dtype: "F8_E4M3" | "F8_E5M2" = "F8_E4M3", fill: (i: number) => number = (i) => (i * 29 + 3) & 0x7e): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype, shape, data: Uint8Array.from({ length: n }, (_, i) => fill(i)) };
}

export function f32(shape: readonly number[], values?: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: "F32", shape, data: new Uint8Array(Float32Array.from({ length: n }, (_, i) => values?.[i] ?? 0.5 + i / 8).buffer) };
}

export function bf16(shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: "BF16", shape, data: new Uint8Array(Uint16Array.from({ length: n }, (_, i) => 0x3f80 + i).buffer) };
}

export function scaleValues(t: Tensor): Float32Array {
  if (t.dtype !== "F32") throw new Error("test scales are F32");
  return new Float32Array(t.data.slice().buffer);
}

/** bf16 bits of one element by the formula: bf16_rne(f32(decode(byte)) * f32(scale)). */
export function expectedBits(byte: number, scale: number, dtype: "F8_E4M3" | "F8_E5M2" = "F8_E4M3"): number {
  return f32ToBf16(Math.fround((dtype === "F8_E4M3" ? E4M3FN_TABLE : E5M2_TABLE)[byte]! * scale));
}

export function bits(t: Tensor): Uint16Array {
  return new Uint16Array(t.data.slice().buffer);
}
