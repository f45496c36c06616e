// FP8 block dequantization over its whole input space, against a model written here from the
// format definitions (OCP 8-bit floating point, v1.0: E4M3FN has no infinities and one NaN
// mantissa per sign, E5M2 is IEEE-like; MX E8M0 scales are 2^(b - 127), 0xFF NaN), sharing no
// table or bit trick with the kernel:
//   out[i, j] = bf16_rne(f32(decode(W[i, j]) * scale[i / bm, j / bn])), NaN -> 0x7FC0,
// for both weight formats, each scale dtype (F32, BF16, F16, E8M0) stored little-endian as
// safetensors requires (each scale's bytes differ, so a big-endian read shows), every one of the
// 256 codes in every case, shapes with partial edge blocks in both directions, scales that make
// bf16 ties, subnormals, overflow and -0 (a negative code times a scale too small to show:
// "values that round to -0"), and both kernel paths (per-block tables, element by element).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Fp8Dequantizer, type KernelStrategy } from "../../../src/reference/fp8/kernel.js";
import { decodeScales } from "../../../src/reference/fp8/formats.js";
import type { Tensor } from "../../../src/reference/tensor.js";
import { BF16, f32Bits, roundTo } from "../../support/float-reference.js";
import { fcParams } from "../../support/fc.js";

type Format = "F8_E4M3" | "F8_E5M2";
type ScaleDType = "F32" | "BF16" | "F16" | "F8_E8M0";

/** An IEEE-style binary float from its fields; `nan` and `inf` say what the all-ones exponent means. */
function fromFields(sign: number, exp: number, mant: number, mantBits: number, bias: number): number {
  const mag = exp === 0 ? (mant / 2 ** mantBits) * 2 ** (1 - bias) : (1 + mant / 2 ** mantBits) * 2 ** (exp - bias);
  return sign ? -mag : mag;
}

function decodeFp8(format: Format, code: number): number {
  const sign = code >> 7;
  if (format === "F8_E4M3") {
    const exp = (code >> 3) & 0xf;
    const mant = code & 7;
    if (exp === 0xf && mant === 7) return NaN; // E4M3FN: S.1111.111 is NaN, there is no infinity
    return fromFields(sign, exp, mant, 3, 7);
  }
  const exp = (code >> 2) & 0x1f;
  const mant = code & 3;
  if (exp === 0x1f) return mant === 0 ? (sign ? -Infinity : Infinity) : NaN;
  return fromFields(sign, exp, mant, 2, 15);
}

const SCALE_BYTES: Record<ScaleDType, number> = { F32: 4, BF16: 2, F16: 2, F8_E8M0: 1 };

function decodeScale(dtype: ScaleDType, bits: number): number {
  switch (dtype) {
    case "F32": {
      const sign = bits >>> 31;
      const exp = (bits >>> 23) & 0xff;
      const mant = bits & 0x7fffff;
      return exp === 0xff ? (mant === 0 ? (sign ? -Infinity : Infinity) : NaN) : fromFields(sign, exp, mant, 23, 127);
    }
    case "BF16":
      return decodeScale("F32", (bits << 16) >>> 0);
    case "F16": {
      const exp = (bits >> 10) & 0x1f;
      const mant = bits & 0x3ff;
      return exp === 0x1f ? (mant === 0 ? (bits >> 15 ? -Infinity : Infinity) : NaN) : fromFields(bits >> 15, exp, mant, 10, 15);
    }
    case "F8_E8M0":
      return bits === 0xff ? NaN : 2 ** (bits - 127);
  }
}

/** bf16 bits of the exact product, rounded once to float32 and once to bf16 (the kernel's contract). */
function expectedBits(code: number, format: Format, scale: number): number {
  const product = Math.fround(decodeFp8(format, code) * scale);
  if (Number.isNaN(product)) return 0x7fc0;
  return f32Bits(roundTo(product, BF16)) >>> 16;
}

/** A scale bit pattern whose little-endian bytes are not a palindrome (so a big-endian read differs). */
const scaleBits = (dtype: ScaleDType): fc.Arbitrary<number> => {
  const bits = 8 * SCALE_BYTES[dtype];
  const patterns: fc.Arbitrary<number>[] = [fc.integer({ min: 0, max: 2 ** bits - 1 })];
  if (dtype === "F32") {
    // Realistic magnitudes with a short significand (bf16 ties), tiny ones (subnormal and -0 products), huge ones (overflow).
    patterns.push(fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 0, max: 511 })).map(([e, m]) => ((e << 23) | (m << 14)) >>> 0));
    patterns.push(fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 0x7fffff })).map(([e, m]) => ((e << 23) | m) >>> 0));
  }
  if (dtype === "BF16" || dtype === "F16") patterns.push(fc.integer({ min: 0x0001, max: dtype === "BF16" ? 0x7f7f : 0x7bff }));
  const arb = fc.oneof(...patterns);
  return SCALE_BYTES[dtype] === 1 ? arb : arb.filter((b) => (b & 0xff) !== ((b >>> 8) & 0xff));
};

const caseArb = fc
  .record({
    format: fc.constantFrom<Format>("F8_E4M3", "F8_E5M2"),
    scaleDtype: fc.constantFrom<ScaleDType>("F32", "BF16", "F16", "F8_E8M0"),
    rows: fc.integer({ min: 1, max: 24 }),
    bm: fc.integer({ min: 1, max: 9 }),
    bn: fc.integer({ min: 1, max: 70 }),
    extraCols: fc.integer({ min: 0, max: 40 }),
    codeOffset: fc.nat(255),
    strategy: fc.constantFrom<KernelStrategy>("table", "direct", "auto"),
  })
  .chain((c) => {
    // At least 256 elements, so every code occurs (the codes run on from codeOffset).
    const cols = Math.ceil(256 / c.rows) + c.extraCols;
    const cells = Math.ceil(c.rows / c.bm) * Math.ceil(cols / c.bn);
    return fc.record({ c: fc.constant({ ...c, cols }), scales: fc.array(scaleBits(c.scaleDtype), { minLength: cells, maxLength: cells }) });
  });

function scaleTensor(dtype: ScaleDType, bits: readonly number[], shape: readonly number[]): Tensor {
  const w = SCALE_BYTES[dtype];
  const data = new Uint8Array(bits.length * w);
  const view = new DataView(data.buffer);
  bits.forEach((b, k) => {
    if (w === 4) view.setUint32(4 * k, b, true);
    else if (w === 2) view.setUint16(2 * k, b, true);
    else view.setUint8(k, b);
  });
  return { dtype, shape, data };
}

describe("FP8 dequantization (property, all 256 codes)", () => {
  it("equals the definition for both formats, every scale dtype read little-endian, partial blocks and both kernel paths", () => {
    fc.assert(
      fc.property(caseArb, ({ c, scales }) => {
        const gridCols = Math.ceil(c.cols / c.bn);
        const weight = Uint8Array.from({ length: c.rows * c.cols }, (_, k) => (c.codeOffset + k) & 0xff);
        const decoded = decodeScales(scaleTensor(c.scaleDtype, scales, [Math.ceil(c.rows / c.bm), gridCols]));
        const kernel = new Fp8Dequantizer({ dtype: c.format, rows: c.rows, cols: c.cols, block: [c.bm, c.bn], scales: decoded }, c.strategy);
        const out = new Uint16Array(weight.length);
        kernel.run(weight, 0, out);
        for (let i = 0; i < c.rows; i++) {
          for (let j = 0; j < c.cols; j++) {
            const k = i * c.cols + j;
            const scale = decodeScale(c.scaleDtype, scales[Math.floor(i / c.bm) * gridCols + Math.floor(j / c.bn)]!);
            const want = expectedBits(weight[k]!, c.format, scale);
            if (out[k] !== want) {
              expect.fail(
                `${c.format} code 0x${weight[k]!.toString(16)} at [${i}, ${j}] with ${c.scaleDtype} scale ${scale}: got 0x${out[k]!.toString(16)}, want 0x${want.toString(16)}`,
              );
            }
          }
        }
      }),
      fcParams(300),
    );
  });

  it("the model itself: known values of the definitions (OCP FP8 v1.0 tables)", () => {
    expect([0x00, 0x80, 0x01, 0x08, 0x7e, 0xfe, 0x38].map((c) => decodeFp8("F8_E4M3", c))).toEqual([0, -0, 2 ** -9, 2 ** -6, 448, -448, 1]);
    expect([decodeFp8("F8_E4M3", 0x7f), decodeFp8("F8_E4M3", 0xff), decodeFp8("F8_E4M3", 0x78)]).toEqual([NaN, NaN, 256]);
    expect([0x7b, 0x7c, 0xfc, 0x7d, 0x01, 0x3c].map((c) => decodeFp8("F8_E5M2", c))).toEqual([57344, Infinity, -Infinity, NaN, 2 ** -16, 1]);
    // A negative code times a scale too small to show is -0 in bf16 (0x8000), not +0.
    expect(expectedBits(0x81, "F8_E4M3", 2 ** -130)).toBe(0x8000);
    // bf16 ties go to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
    expect(expectedBits(0x38, "F8_E4M3", 1 + 2 ** -8)).toBe(0x3f80);
    expect(expectedBits(0x38, "F8_E4M3", 1 + 3 * 2 ** -8)).toBe(0x3f82);
  });
});
