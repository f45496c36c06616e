// The one statement of the kernel's arithmetic for a block: the bf16 result of each of the 256
// bytes, bf16_rne(f32(decode(byte)) * f32(scale)). The decoded FP8 value has at most 4
// significant bits and the scale at most 24, so the product is exact in float64 and rounding it
// to float32, then to bf16, is the single rounding MLX makes (see kernel.ts).
//
// Both FP8 formats are sign-magnitude: byte b | 0x80 decodes to -decode(b). The product of a
// negation is the negated product, and rounding to nearest even is symmetric, so a negative
// byte's result is its positive twin's with the sign bit flipped; NaN stays the one canonical
// NaN. Only the 128 positive bytes are multiplied (the table is rebuilt for every block). The
// WebAssembly kernel builds its tables with the same arithmetic in SIMD (the .wat's `table`,
// held equal to this by a test): in JS, a block's table cost an eighth of its dequantization.

import { BF16_NAN, f32BitsToBf16 } from "../dtypes.js";

const products = new Float32Array(128);
const productBits = new Uint32Array(products.buffer);

/** Writes the 256 bf16 results of block scale `scale` into `out[at .. at + 256)`. */
export function fillBlockTable(decode: Float32Array, scale: number, out: Uint16Array, at: number): void {
  // The float32 store rounds each (exact) float64 product once.
  for (let b = 0; b < 128; b++) products[b] = decode[b]! * scale;
  for (let b = 0; b < 128; b++) {
    const v = f32BitsToBf16(productBits[b]!);
    out[at + b] = v;
    out[at + 128 + b] = v === BF16_NAN ? v : v ^ 0x8000;
  }
}
