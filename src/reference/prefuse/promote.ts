// The `promote` reading of a layer whose expert weights mix dtypes: every weight of that layer is
// converted to F32 before the fuse, as stacking mixed arrays does in numpy (`np.stack`), torch
// (`torch.stack`, type promotion) and MLX (`mx.stack`): BF16, F16 and F32 all promote to F32,
// exactly (every BF16 and F16 value is an F32 value). Only BF16/F16/F32 layers are promoted;
// anything else keeps its mixed dtypes and the completeness rule leaves it untouched.

import type { DType } from "../dtypes.js";
import type { Tensor, TensorSpec } from "../tensor.js";
import { scanExperts } from "./scan.js";

const PROMOTABLE: readonly DType[] = ["BF16", "F16", "F32"];

/** The `.weight` tensors of per-expert layers whose weights mix BF16/F16/F32: these become F32. */
export function mixedLayerWeights(specs: ReadonlyMap<string, TensorSpec>): string[] {
  const out: string[] = [];
  for (const g of scanExperts(specs)) {
    const weights = g.perExpert.filter((t) => t.kind === "weight").map((t) => t.name);
    const dtypes = new Set(weights.map((n) => specs.get(n)!.dtype));
    if (dtypes.size > 1 && [...dtypes].every((d) => PROMOTABLE.includes(d))) out.push(...weights);
  }
  return out;
}

/** `specs` with the given tensors' dtype made F32. */
export function promotedSpecs<S extends TensorSpec>(specs: ReadonlyMap<string, S>, names: readonly string[]): Map<string, TensorSpec> {
  const out = new Map<string, TensorSpec>(specs);
  for (const n of names) out.set(n, { ...specs.get(n)!, dtype: "F32" });
  return out;
}

/** The F32 value of an F16 bit pattern (subnormals, infinities and NaN included). */
function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 0x1f) return man === 0 ? sign * Infinity : NaN;
  return sign * (1 + man / 1024) * 2 ** (exp - 15);
}

/** A BF16/F16/F32 tensor as F32 (little-endian bytes). */
export function toF32(t: Tensor): Tensor {
  if (t.dtype === "F32") return t;
  const n = t.data.length / 2;
  const src = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(n * 4);
  const dst = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const bits = src.getUint16(2 * i, true);
    if (t.dtype === "BF16") dst.setUint32(4 * i, (bits << 16) >>> 0, true);
    else if (Number.isNaN(f16ToF32(bits))) dst.setUint32(4 * i, ((bits & 0x8000) << 16) | 0x7f800000 | ((bits & 0x3ff) << 13), true);
    else dst.setFloat32(4 * i, f16ToF32(bits), true);
  }
  return { dtype: "F32", shape: t.shape, data: out };
}
