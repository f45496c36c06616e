// The one statement of the kernel's arithmetic for a block: the bf16 result of each of the 256
// bytes, bf16_rne(f32(decode(byte)) * f32(scale)). The decoded FP8 value has at most 4
// significant bits and the scale at most 24, so the product is exact in float64 and rounding it
// to float32, then to bf16, is the single rounding MLX makes (see kernel.ts).

import { f32ToBf16 } from "../dtypes.js";

/** Writes the 256 bf16 results of block scale `scale` into `out[at .. at + 256)`. */
export function fillBlockTable(decode: Float32Array, scale: number, out: Uint16Array, at: number): void {
  for (let b = 0; b < 256; b++) out[at + b] = f32ToBf16(decode[b]! * scale);
}
