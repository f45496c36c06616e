// Random FP8 kernel cases shared by the kernel's properties (vs onnxruntime, and the worker pool
// vs one thread): shapes from 1x1 up, blocks larger and smaller than the weight (partial last
// blocks), both weight formats, bytes with NaN/Inf/subnormals, and F32/BF16/F16/E8M0 scales with
// realistic or raw bit patterns.

import fc from "fast-check";
import { decodeScales } from "../../../src/reference/fp8/formats.js";
import { Fp8Dequantizer, type KernelStrategy } from "../../../src/reference/fp8/kernel.js";
import { Xoshiro128 } from "../../../src/fixtures-gen/prng.js";
import type { OrtCase, ScaleType } from "./ort-dequant.js";

const SPECIAL_BYTES = [0x00, 0x80, 0x7f, 0xff, 0x01, 0x07, 0x08, 0x81, 0x87, 0x7e, 0xfe, 0x7c, 0xfc, 0x7b, 0x7d, 0x03];
const SCALE_BYTES: Record<ScaleType, number> = { F32: 4, BF16: 2, F16: 2, F8_E8M0: 1 };

const dim = fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }));
const blockDim = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 200 }), fc.constant(128));

export const caseArb = fc.record({
  dtype: fc.constantFrom("F8_E4M3" as const, "F8_E5M2" as const),
  m: dim,
  n: dim,
  bm: blockDim,
  bn: blockDim,
  scaleDtype: fc.constantFrom<ScaleType>("F32", "BF16", "F16", "F8_E8M0"),
  seed: fc.integer(),
  rawScaleBits: fc.boolean(),
  chunks: fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 5 }),
  srcShift: fc.integer({ min: 0, max: 3 }),
  outShift: fc.integer({ min: 0, max: 1 }),
});

export type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

export function build(c: Case): OrtCase {
  const rng = new Xoshiro128(c.seed);
  const rnd = () => rng.uniform();
  const weight = new Uint8Array(c.m * c.n);
  for (let i = 0; i < weight.length; i++) weight[i] = rnd() < 1 / 16 ? SPECIAL_BYTES[Math.floor(rnd() * SPECIAL_BYTES.length)]! : Math.floor(rnd() * 256);
  const cells = Math.ceil(c.m / c.bm) * Math.ceil(c.n / c.bn);
  const scale = new Uint8Array(cells * SCALE_BYTES[c.scaleDtype]);
  const view = new DataView(scale.buffer);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  for (let k = 0; k < cells; k++) {
    // Realistic magnitudes most of the time; raw bit patterns (NaN, Inf, subnormal, huge) otherwise.
    f[0] = (rnd() < 0.5 ? -1 : 1) * rnd() * 2 ** Math.floor(rnd() * 270 - 140);
    const raw = Math.floor(rnd() * 2 ** 32);
    const b32 = c.rawScaleBits ? raw : bits[0]!;
    if (c.scaleDtype === "F32") view.setUint32(4 * k, b32, true);
    else if (c.scaleDtype === "BF16") view.setUint16(2 * k, b32 >>> 16, true);
    else if (c.scaleDtype === "F16") view.setUint16(2 * k, raw & 0xffff, true);
    else scale[k] = rnd() < 0.1 ? 0xff : raw & 0xff;
  }
  return { dtype: c.dtype, m: c.m, n: c.n, bm: c.bm, bn: c.bn, weight, scaleDtype: c.scaleDtype, scale };
}

export function kernelFor(c: OrtCase, strategy: KernelStrategy): Fp8Dequantizer {
  const scales = decodeScales({ dtype: c.scaleDtype, shape: [c.scale.length / SCALE_BYTES[c.scaleDtype]], data: c.scale });
  return new Fp8Dequantizer({ dtype: c.dtype, rows: c.m, cols: c.n, block: [c.bm, c.bn], scales }, strategy);
}
