// Property: for random shapes (1x1, non-multiples of the block, m or n smaller than the block),
// random block sizes, random FP8 bytes (NaN, Inf, subnormals, zeros of both signs) and random
// F32/BF16/F16/E8M0 scales (including subnormal and overflowing products), the kernel agrees
// bit for bit with onnxruntime's DequantizeLinear after bf16 rounding - through the table path,
// the direct path, and chunked streaming over misaligned buffers alike. NaN results must be the
// canonical BF16_NAN 0x7FC0 (ORT keeps the NaN's sign, so it only says "NaN").

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BF16_NAN } from "../../../src/reference/dtypes.js";
import { Fp8Dequantizer, type KernelStrategy } from "../../../src/reference/fp8/kernel.js";
import { decodeScales } from "../../../src/reference/fp8/formats.js";
import { Xoshiro128 } from "../../../src/fixtures-gen/prng.js";
import { fcParams } from "../../support/fc.js";
import { type OrtCase, type ScaleType, ortDequant } from "./ort-dequant.js";

const SPECIAL_BYTES = [0x00, 0x80, 0x7f, 0xff, 0x01, 0x07, 0x08, 0x81, 0x87, 0x7e, 0xfe, 0x7c, 0xfc, 0x7b, 0x7d, 0x03];
const SCALE_BYTES: Record<ScaleType, number> = { F32: 4, BF16: 2, F16: 2, F8_E8M0: 1 };

const dim = fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }));
const blockDim = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 200 }), fc.constant(128));

const caseArb = fc.record({
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

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function build(c: Case): OrtCase {
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

function kernelFor(c: OrtCase, strategy: KernelStrategy): Fp8Dequantizer {
  const scales = decodeScales({ dtype: c.scaleDtype, shape: [c.scale.length / SCALE_BYTES[c.scaleDtype]], data: c.scale });
  return new Fp8Dequantizer({ dtype: c.dtype, rows: c.m, cols: c.n, block: [c.bm, c.bn], scales }, strategy);
}

/** Runs the kernel over consecutive chunks, each from a buffer shifted to a different alignment. */
function streamed(c: OrtCase, strategy: KernelStrategy, chunks: readonly number[], srcShift: number, outShift: number): Uint16Array {
  const kernel = kernelFor(c, strategy);
  const total = c.weight.length;
  const result = new Uint16Array(total);
  let start = 0;
  for (let k = 0; start < total; k++) {
    const len = Math.min(total - start, chunks[k] ?? total);
    const src = new Uint8Array(len + 8).subarray(srcShift, srcShift + len);
    src.set(c.weight.subarray(start, start + len));
    const out = new Uint16Array(len + 4).subarray(outShift, outShift + len);
    kernel.run(src, start, out);
    result.set(out, start);
    start += len;
  }
  return result;
}

function mismatches(ort: Int32Array, ours: Uint16Array): string[] {
  const bad: string[] = [];
  for (let i = 0; i < ort.length && bad.length < 5; i++) {
    const want = ort[i] === -1 ? BF16_NAN : ort[i]!;
    if (ours[i] !== want) bad.push(`element ${i}: ours 0x${ours[i]!.toString(16)}, ORT ${ort[i] === -1 ? "NaN" : `0x${want.toString(16)}`}`);
  }
  return bad;
}

describe("FP8 dequant kernel vs onnxruntime (DequantizeLinear, opset 21)", () => {
  it("agrees bit for bit after bf16 rounding, on every path", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const o = build(c);
        const ort = await ortDequant(o);
        for (const strategy of ["table", "direct"] as const) {
          const whole = new Uint16Array(o.weight.length);
          kernelFor(o, strategy).run(o.weight, 0, whole);
          expect(mismatches(ort, whole), `${strategy}, whole tensor`).toEqual([]);
        }
        expect(mismatches(ort, streamed(o, "auto", c.chunks, c.srcShift, c.outShift)), "auto, chunked and misaligned").toEqual([]);
      }),
      fcParams(),
    );
  });
});
