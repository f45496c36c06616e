// The FP8 benchmarks' synthetic weights: an expert's gate, up ([I, H]) and down ([H, I]) in
// F8_E4M3 with 128 x 128 float32 scales (uniform in [0, 0.02)), the bytes uniform with 0x7F and
// 0xFF (NaN) replaced by 0x3C, from a seeded xoshiro128** so every run computes the same bytes.

import type { Xoshiro128 } from "../../src/fixtures-gen/prng.js";
import type { Tensor } from "../../src/reference/tensor.js";

export const BLOCK = 128;

export interface Weight {
  readonly shape: readonly [number, number];
  readonly bytes: Uint8Array;
  readonly scale: Tensor;
}

export function makeWeight(rng: Xoshiro128, m: number, n: number): Weight {
  const bytes = new Uint8Array(m * n);
  for (let i = 0; i < bytes.length; i++) {
    const b = Math.floor(rng.uniform() * 256);
    bytes[i] = (b & 0x7f) === 0x7f ? 0x3c : b;
  }
  const grid = [Math.ceil(m / BLOCK), Math.ceil(n / BLOCK)];
  const scale = Float32Array.from({ length: grid[0]! * grid[1]! }, () => rng.uniform() * 0.02);
  return { shape: [m, n], bytes, scale: { dtype: "F32", shape: grid, data: new Uint8Array(scale.buffer) } };
}

/** One expert's three weights. */
export const makeExpert = (rng: Xoshiro128, I: number, H: number): Weight[] => [makeWeight(rng, I, H), makeWeight(rng, I, H), makeWeight(rng, H, I)];
