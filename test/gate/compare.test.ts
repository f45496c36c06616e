import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareWeights, describeMismatch } from "../../src/gate/compare.js";
import { ulpDistance } from "../../src/gate/ulp.js";
import { f32ToBf16 } from "../../src/reference/dtypes.js";
import type { DType } from "../../src/reference/dtypes.js";
import { type Tensor, type TensorMap, bytesEqual } from "../../src/reference/tensor.js";
import { f32FromBits } from "../support/float-reference.js";
import { fcParams } from "../support/fc.js";

const bf16 = (values: number[], shape = [values.length]): Tensor => ({ dtype: "BF16", shape, data: new Uint8Array(new Uint16Array(values).buffer) });

describe("ulp distance", () => {
  it("counts representable values between two floats, across zero, with NaN only equal to NaN", () => {
    expect(ulpDistance("BF16", 0x3f80, 0x3f81)).toBe(1);
    expect(ulpDistance("BF16", 0x0000, 0x8000)).toBe(0); // +0 and -0
    expect(ulpDistance("BF16", 0x0001, 0x8001)).toBe(2); // smallest subnormals either side of zero
    expect(ulpDistance("BF16", 0x7f7f, 0x7f80)).toBe(1); // max finite to infinity
    expect(ulpDistance("BF16", 0x7fc0, 0xffc1)).toBe(0);
    expect(ulpDistance("BF16", 0x7fc0, 0x3f80)).toBe(Infinity);
    expect(ulpDistance("F16", 0x3c00, 0x3c02)).toBe(2);
    expect(ulpDistance("F16", 0x7e00, 0x7c00)).toBe(Infinity);
    expect(ulpDistance("F32", 0x3f800000, 0xbf800000)).toBe(2 * 0x3f800000);
    expect(ulpDistance("F32", 0xffffffff, 0x7fc00000)).toBe(0);
  });

  it("is a distance along the number line: additive over ordered values, 0 exactly for equal values (property)", () => {
    const finite = fc.integer({ min: 0, max: 0xffffffff }).filter((b) => Number.isFinite(f32FromBits(b)));
    fc.assert(
      fc.property(fc.array(finite, { minLength: 3, maxLength: 3 }), (bits) => {
        const [a, b, c] = [...bits].sort((x, y) => f32FromBits(x) - f32FromBits(y));
        const d = (x: number, y: number) => ulpDistance("F32", x, y);
        expect(d(a!, c!)).toBe(d(a!, b!) + d(b!, c!));
        expect(d(a!, b!) === 0).toBe(f32FromBits(a!) === f32FromBits(b!));
        expect(d(a!, b!)).toBe(d(b!, a!));
      }),
      fcParams(),
    );
  });
});

describe("compareWeights", () => {
  const base: TensorMap = new Map([
    ["a", bf16([1, 2, 3, 4], [2, 2])],
    ["b", bf16([5, 6])],
  ]);

  it("equal maps compare equal whatever their order", () => {
    expect(compareWeights(base, new Map([...base].reverse())).equal).toBe(true);
  });

  it("reports missing, extra, dtype, shape and byte differences with the first differing element", () => {
    const actual: TensorMap = new Map([
      ["a", bf16([1, 2, 9, 4], [2, 2])],
      ["c", bf16([0])],
    ]);
    const c = compareWeights(base, actual);
    expect(c).toMatchObject({ equal: false, missing: ["b"], extra: ["c"] });
    expect(c.mismatches).toEqual([{ tensor: "a", problem: "bytes", expected: "BF16 [2, 2]", actual: "BF16 [2, 2]", differing: 1, elements: 4, firstIndex: 2 }]);
    expect(compareWeights(base, new Map([...base, ["a", bf16([1, 2, 3, 4], [4])]])).mismatches[0]!.problem).toBe("shape");
    expect(compareWeights(base, new Map([...base, ["a", { ...bf16([1, 2, 3, 4], [2, 2]), dtype: "F16" }]])).mismatches[0]!.problem).toBe("dtype");
  });

  it("names the expert of the first difference in 3-D tensors", () => {
    const e = new Map([
      [
        "x",
        bf16(
          Array.from({ length: 12 }, (_, i) => i),
          [3, 2, 2],
        ),
      ],
    ]);
    const a = new Map([["x", bf16([...Array.from({ length: 9 }, (_, i) => i), 99, 10, 11], [3, 2, 2])]]);
    const m = compareWeights(e, a).mismatches[0]!;
    expect(m.firstExpert).toBe(2);
    expect(describeMismatch(m)).toBe("x: 1 of 12 elements differ, first at expert 2");
  });

  it("a ulp tolerance accepts BF16 elements within N ulps and reports the largest distance", () => {
    const one = f32ToBf16(1);
    const e = new Map([["w", bf16([one, one, one])]]);
    const a = new Map([["w", bf16([one, one + 1, one + 3])]]);
    expect(compareWeights(e, a).equal).toBe(false);
    expect(compareWeights(e, a, { ulp: 3 }).equal).toBe(true);
    const m = compareWeights(e, a, { ulp: 1 }).mismatches[0]!;
    expect(m).toMatchObject({ differing: 1, firstIndex: 2, maxUlp: 3 });
    // Other dtypes stay bit-exact under a tolerance.
    const u8 = (v: number): TensorMap => new Map([["q", { dtype: "F8_E4M3", shape: [1], data: new Uint8Array([v]) }]]);
    expect(compareWeights(u8(0x38), u8(0x39), { ulp: 10 }).equal).toBe(false);
  });
});

/** Element bytes where value equality and byte equality part: zeros of both signs, NaNs of several payloads and signs. */
const TRICKY: Readonly<Partial<Record<DType, readonly number[]>>> = {
  BF16: [0x0000, 0x8000, 0x7fc0, 0xffc0, 0x7f81, 0x7fc1, 0x3f80],
  F16: [0x0000, 0x8000, 0x7e00, 0xfe00, 0x7c01, 0x7e01, 0x3c00],
  F32: [0x00000000, 0x80000000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fc00001, 0x3f800000],
  F8_E4M3: [0x00, 0x80, 0x7f, 0xff, 0x38],
  F8_E5M2: [0x00, 0x80, 0x7d, 0x7e, 0x7f, 0xfd, 0xfe, 0xff, 0x3c],
};
const WIDTH: Readonly<Partial<Record<DType, number>>> = { BF16: 2, F16: 2, F32: 4, F8_E4M3: 1, F8_E5M2: 1 };

function tensorOf(dtype: DType, words: readonly number[]): Tensor {
  const w = WIDTH[dtype]!;
  const data = new Uint8Array(words.length * w);
  const view = new DataView(data.buffer);
  words.forEach((x, i) => {
    if (w === 1) view.setUint8(i, x);
    else if (w === 2) view.setUint16(2 * i, x, true);
    else view.setUint32(4 * i, x >>> 0, true);
  });
  return { dtype, shape: [words.length], data };
}

/** Two same-length element lists of one dtype, mostly drawn from TRICKY so that near-misses are common. */
const pairArb = fc.constantFrom<DType>("BF16", "F16", "F32", "F8_E4M3", "F8_E5M2").chain((dtype) => {
  const bits = 8 * WIDTH[dtype]!;
  const element = fc.oneof(fc.constantFrom(...TRICKY[dtype]!), fc.integer({ min: 0, max: 2 ** bits - 1 }));
  return fc
    .array(element, { minLength: 1, maxLength: 8 })
    .chain((expected) =>
      fc.tuple(
        fc.constant(dtype),
        fc.constant(expected),
        fc.array(fc.oneof(element, fc.constant(-1)), { minLength: expected.length, maxLength: expected.length }),
      ),
    )
    .map(([d, e, a]) => [d, e, a.map((x, i) => (x === -1 ? e[i]! : x))] as const);
});

describe("bit-exact compare (no tolerance): bytes, not values", () => {
  it("reports -0 against +0 and NaNs of different payload or sign, in every float dtype", () => {
    for (const [dtype, words] of Object.entries(TRICKY) as [DType, number[]][]) {
      const [pz, nz, nan, negNan, nanPayload] = words;
      for (const [e, a] of [
        [pz, nz],
        [nan, negNan],
        [nan, nanPayload],
      ] as const) {
        const c = compareWeights(new Map([["w", tensorOf(dtype, [e!])]]), new Map([["w", tensorOf(dtype, [a!])]]));
        expect(c.equal, `${dtype} ${e!.toString(16)} vs ${a!.toString(16)}`).toBe(false);
        expect(c.mismatches[0]).toMatchObject({ problem: "bytes", differing: 1, firstIndex: 0 });
      }
    }
  });

  it("two tensors of one dtype and shape compare equal exactly when their bytes are equal, and count the differing elements (property)", () => {
    fc.assert(
      fc.property(pairArb, ([dtype, e, a]) => {
        const expected = tensorOf(dtype, e);
        const actual = tensorOf(dtype, a);
        const c = compareWeights(new Map([["w", expected]]), new Map([["w", actual]]));
        expect(c.equal).toBe(bytesEqual(expected.data, actual.data));
        const differing = e.filter((x, i) => x !== a[i]).length;
        expect(c.mismatches[0]?.differing ?? 0).toBe(differing);
      }),
      fcParams(500),
    );
  });

  it("a ulp tolerance compares numbers instead: -0 and +0 agree at ulp=0, any NaN agrees with any NaN, a NaN never agrees with a number (property)", () => {
    fc.assert(
      fc.property(
        pairArb.filter(([d]) => d === "BF16" || d === "F16" || d === "F32"),
        fc.integer({ min: 0, max: 3 }),
        ([dtype, e, a], ulp) => {
          const c = compareWeights(new Map([["w", tensorOf(dtype, e)]]), new Map([["w", tensorOf(dtype, a)]]), { ulp });
          const differing = e.filter((x, i) => ulpDistance(dtype, x >>> 0, a[i]! >>> 0) > ulp).length;
          expect(c.mismatches[0]?.differing ?? 0).toBe(differing);
        },
      ),
      fcParams(500),
    );
    const [pz, nz, nan, negNan, nanPayload, , one] = TRICKY.BF16!;
    const agree = (e: number, a: number) => compareWeights(new Map([["w", tensorOf("BF16", [e])]]), new Map([["w", tensorOf("BF16", [a])]]), { ulp: 0 }).equal;
    expect([agree(pz!, nz!), agree(nan!, negNan!), agree(nan!, nanPayload!), agree(nan!, one!), agree(pz!, one!)]).toEqual([true, true, true, false, false]);
  });
});
