// The element formats FP8 dequantization reads: FP8 weights (E4M3FN, E5M2) and their scales
// (F32, BF16, F16, E8M0), each decoded exactly to float32. Scale grids are small, so they are
// decoded once per weight into a Float32Array; weight bytes are decoded through the 256-entry
// tables of dtypes.ts inside the kernel.

import { type DType, E4M3FN_TABLE, E5M2_TABLE, E8M0_TABLE, f16ToF32, isFloat8 } from "../dtypes.js";
import type { Tensor } from "../tensor.js";

export type Fp8WeightDType = "F8_E4M3" | "F8_E5M2";

export function isFp8Weight(dtype: DType): dtype is Fp8WeightDType {
  return dtype === "F8_E4M3" || dtype === "F8_E5M2";
}

/** 8-bit float dtypes that can hold weights but have no decoder here (AMD's FNUZ variants). */
export function isUndecodableFp8(dtype: DType): boolean {
  return isFloat8(dtype) && !isFp8Weight(dtype) && dtype !== "F8_E8M0";
}

export function weightTable(dtype: Fp8WeightDType): Float32Array {
  return dtype === "F8_E4M3" ? E4M3FN_TABLE : E5M2_TABLE;
}

/** Scale dtypes accepted as stored; U8 is accepted as E8M0 only where the config says so. */
export type ScaleDType = "F32" | "BF16" | "F16" | "F8_E8M0" | "U8";

export function isScaleDType(dtype: DType, u8IsE8m0: boolean): dtype is ScaleDType {
  return dtype === "F32" || dtype === "BF16" || dtype === "F16" || dtype === "F8_E8M0" || (u8IsE8m0 && dtype === "U8");
}

/** Decodes a scale tensor's elements to float32, exactly (every accepted format fits in float32). */
export function decodeScales(scale: Tensor): Float32Array {
  const { dtype, data } = scale;
  switch (dtype) {
    case "F32": {
      // Copy: the bytes may sit at an offset that is not a multiple of 4 (a view into a file).
      const out = new Float32Array(data.length >>> 2);
      new Uint8Array(out.buffer).set(data);
      return out;
    }
    case "BF16":
    case "F16": {
      const n = data.length >>> 1;
      const out = new Float32Array(n);
      if (dtype === "BF16") {
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) bits[i] = (data[2 * i]! | (data[2 * i + 1]! << 8)) << 16;
      } else {
        for (let i = 0; i < n; i++) out[i] = f16ToF32(data[2 * i]! | (data[2 * i + 1]! << 8));
      }
      return out;
    }
    case "F8_E8M0":
    case "U8": {
      const out = new Float32Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = E8M0_TABLE[data[i]!]!;
      return out;
    }
    default:
      throw new RangeError(`${dtype} is not a scale dtype`);
  }
}
