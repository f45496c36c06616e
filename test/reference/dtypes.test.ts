// The scalar encodings of dtypes.ts against the values the OCP 8-bit floating point spec (OFP8 v1.0) and torch.float8_e4m3fn / float8_e5m2 state and against an
// independent arithmetic model of IEEE rounding (test/support/float-reference.ts). The same
// tables are checked against onnxruntime's Cast in dtypes-ort.test.ts and against torch through
// the interop fixtures.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BF16_NAN,
  DTYPES,
  E4M3FN_TABLE,
  E5M2_TABLE,
  E8M0_TABLE,
  F16_NAN,
  bf16ToF32,
  dtypeBits,
  f16ToF32,
  f32ArrayToBf16,
  f32BitsToBf16,
  f32ToBf16,
  f32ToF16,
  float8Table,
} from "../../src/reference/dtypes.js";
import { BF16, F16, F32_EDGES, bf16Boundaries, f16Boundaries, f32Bits, f32FromBits, roundTo } from "../support/float-reference.js";
import { fcParams } from "../support/fc.js";

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe("dtype table", () => {
  it("lists the spec's dtypes with their bit widths", () => {
    const bits = Object.fromEntries(DTYPES.map((d) => [d, dtypeBits(d)]));
    expect(bits).toEqual({
      BOOL: 8,
      F4: 4,
      F6_E2M3: 6,
      F6_E3M2: 6,
      U8: 8,
      I8: 8,
      F8_E5M2: 8,
      F8_E4M3: 8,
      F8_E8M0: 8,
      F8_E4M3FNUZ: 8,
      F8_E5M2FNUZ: 8,
      I16: 16,
      U16: 16,
      F16: 16,
      BF16: 16,
      I32: 32,
      U32: 32,
      F32: 32,
      C64: 64,
      F64: 64,
      I64: 64,
      U64: 64,
    });
  });
});

describe("FP8 decode tables (OCP OFP8 v1.0)", () => {
  it("E4M3FN: bias 7, subnormal 2^-9, max 448 at 0x7E, NaN at 0x7F/0xFF, no infinities", () => {
    expect(E4M3FN_TABLE[0x00]).toBe(0);
    expect(Object.is(E4M3FN_TABLE[0x80], -0)).toBe(true);
    expect(E4M3FN_TABLE[0x01]).toBe(2 ** -9);
    expect(E4M3FN_TABLE[0x07]).toBe(7 * 2 ** -9);
    expect(E4M3FN_TABLE[0x08]).toBe(2 ** -6);
    expect(E4M3FN_TABLE[0x38]).toBe(1);
    expect(E4M3FN_TABLE[0x7e]).toBe(448);
    expect(E4M3FN_TABLE[0xfe]).toBe(-448);
    expect(E4M3FN_TABLE[0x7f]).toBeNaN();
    expect(E4M3FN_TABLE[0xff]).toBeNaN();
    const finite = [...E4M3FN_TABLE].filter((x) => !Number.isNaN(x));
    expect(finite).toHaveLength(254);
    expect(Math.max(...finite)).toBe(448);
    expect(finite.every(Number.isFinite)).toBe(true);
    // The formula of section 3, code by code.
    for (let c = 0; c < 256; c++) {
      const e = (c >> 3) & 15;
      const m = c & 7;
      const v = (c & 0x80 ? -1 : 1) * (e === 0 ? m * 2 ** -9 : (1 + m / 8) * 2 ** (e - 7));
      expect(same(E4M3FN_TABLE[c]!, (c & 0x7f) === 0x7f ? NaN : v), `code ${c}`).toBe(true);
    }
  });

  it("E5M2: bias 15, 0x7C = +Inf, max 57344, and equal to the high byte of an f16", () => {
    expect(E5M2_TABLE[0x7c]).toBe(Infinity);
    expect(E5M2_TABLE[0xfc]).toBe(-Infinity);
    expect(E5M2_TABLE[0x7b]).toBe(57344);
    expect(E5M2_TABLE[0x01]).toBe(2 ** -16);
    for (const c of [0x7d, 0x7e, 0x7f, 0xfd, 0xfe, 0xff]) expect(E5M2_TABLE[c]).toBeNaN();
    expect(Math.max(...[...E5M2_TABLE].filter(Number.isFinite))).toBe(57344);
    for (let c = 0; c < 256; c++) {
      const e = (c >> 2) & 31;
      const m = c & 3;
      const v = e === 31 ? (m === 0 ? Infinity : NaN) : e === 0 ? m * 2 ** -16 : (1 + m / 4) * 2 ** (e - 15);
      expect(same(E5M2_TABLE[c]!, (c & 0x80 ? -1 : 1) * v), `code ${c}`).toBe(true);
      expect(same(E5M2_TABLE[c]!, f16ToF32(c << 8)), `code ${c}`).toBe(true);
    }
  });

  it("E8M0: 2^(s-127), NaN at 0xFF", () => {
    for (let s = 0; s < 255; s++) expect(E8M0_TABLE[s]).toBe(2 ** (s - 127));
    expect(E8M0_TABLE[255]).toBeNaN();
  });

  it("hands out the table of each 8-bit float dtype it knows", () => {
    expect(float8Table("F8_E4M3")).toBe(E4M3FN_TABLE);
    expect(float8Table("F8_E5M2")).toBe(E5M2_TABLE);
    expect(float8Table("F8_E8M0")).toBe(E8M0_TABLE);
    expect(float8Table("F8_E4M3FNUZ")).toBeUndefined();
  });
});

describe("bf16", () => {
  it("round-trips all 65,536 codes through f32 (NaN stays NaN)", () => {
    for (let h = 0; h < 65536; h++) {
      const x = bf16ToF32(h);
      const nan = (h & 0x7fff) > 0x7f80;
      // A JS number cannot carry a signalling NaN's payload: for NaN codes only NaN-ness counts.
      expect(Number.isNaN(x)).toBe(nan);
      const back = f32BitsToBf16(f32Bits(x));
      if (nan) expect(back).toBe(BF16_NAN);
      else if (back !== h || f32Bits(x) >>> 16 !== h) expect.fail(`bf16 ${h.toString(16)} came back as ${back.toString(16)}`);
    }
  });

  it("rounds f32 to nearest even at every tie and near-tie, as the arithmetic model does", () => {
    const xs = bf16Boundaries();
    const bits = new Uint32Array(xs.buffer);
    const bulk = new Uint16Array(xs.length);
    f32ArrayToBf16(xs, bulk);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const want = Number.isNaN(x) ? BF16_NAN : f32Bits(roundTo(x, BF16)) >>> 16;
      const got = f32BitsToBf16(bits[i]!);
      if (got !== want || bulk[i] !== want)
        expect.fail(`f32 ${bits[i]!.toString(16)}: scalar ${got.toString(16)}, bulk ${bulk[i]!.toString(16)}, want ${want.toString(16)}`);
    }
    for (const x of F32_EDGES) expect(f32ToBf16(x)).toBe(Number.isNaN(x) ? BF16_NAN : f32Bits(roundTo(x, BF16)) >>> 16);
  });

  it("rounds random f32 bit patterns as the arithmetic model does", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (b) => {
        const x = f32FromBits(b);
        expect(f32BitsToBf16(b)).toBe(Number.isNaN(x) ? BF16_NAN : f32Bits(roundTo(x, BF16)) >>> 16);
      }),
      fcParams(20000),
    );
  });
});

describe("f16", () => {
  it("rounds f32 to nearest even at every f16 midpoint and its neighbours, overflow to infinity", () => {
    for (const x of [...f16Boundaries(f16ToF32), ...F32_EDGES]) {
      const got = f32ToF16(x);
      const want = Number.isNaN(x) ? NaN : roundTo(x, F16);
      if (!same(f16ToF32(got), want)) expect.fail(`f32 ${f32Bits(x).toString(16)} (${x}): got f16 ${got.toString(16)} = ${f16ToF32(got)}, want ${want}`);
      if (Number.isNaN(x)) expect(got).toBe(F16_NAN);
    }
    expect(f32ToF16(65519.99)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
  });

  it("rounds random f32 bit patterns as the arithmetic model does", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (b) => {
        const x = f32FromBits(b);
        expect(same(f16ToF32(f32ToF16(x)), Number.isNaN(x) ? NaN : roundTo(x, F16))).toBe(true);
      }),
      fcParams(20000),
    );
  });

  it("round-trips all 65,536 codes through f32 (NaN to the canonical NaN)", () => {
    for (let h = 0; h < 65536; h++) {
      const back = f32ToF16(f16ToF32(h));
      if (back !== (Number.isNaN(f16ToF32(h)) ? F16_NAN : h)) expect.fail(`f16 ${h.toString(16)} came back as ${back.toString(16)}`);
    }
  });
});
