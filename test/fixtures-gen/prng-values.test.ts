import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Xoshiro128, deriveSeed, hashString, mix32 } from "../../src/fixtures-gen/prng.js";
import { SIGN_PERIOD, baseValues, expertVariation, signMask, xorPeriodic } from "../../src/fixtures-gen/values.js";
import { decodeArray } from "../../src/fixtures-gen/float-codec.js";
import { fcParams } from "../support/fc.js";

describe("PRNG", () => {
  // Known answers computed by an independent Python implementation of the same algorithms.
  it("is xoshiro128** (reference state [1,2,3,4])", () => {
    const g = Xoshiro128.fromState(1, 2, 3, 4);
    expect(Array.from({ length: 6 }, () => g.next())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it("seeds through splitmix32, and fill() continues the same stream as next()", () => {
    const g = new Xoshiro128(42);
    const a = new Uint32Array(4);
    g.fill(a);
    expect([...a]).toEqual([2837322924, 544945897, 479756282, 3500138142]);
    const h = new Xoshiro128(0);
    expect([h.next(), h.next()]).toEqual([3809008728, 1133695204]);
    const b = new Uint32Array(2);
    h.fill(b);
    expect([...b]).toEqual([53579671, 2891528803]);
  });

  it("hashes names and derives seeds with fixed integer functions", () => {
    expect([0, 1, 0xdeadbeef].map(mix32)).toEqual([0, 1753845952, 3861431939]);
    expect(["", "a", "model.layers.0.mlp.experts.*.gate_proj.weight", "é"].map(hashString)).toEqual([1947474976, 1817065451, 3499007810, 175951734]);
    expect(deriveSeed(0, hashString("x"))).toBe(1298211236);
    expect(deriveSeed(42, 1, 2)).toBe(2371880710);
  });
});

describe("generated values", () => {
  it("are finite, bounded by the Irwin-Hall range and roughly normal", () => {
    const v = decodeArray("F32", baseValues("F32", 100_000, { mean: 0, std: 0.02 }, 7));
    let sum = 0;
    let sq = 0;
    let outside = 0;
    for (const x of v) {
      if (!(Number.isFinite(x) && Math.abs(x) <= 0.02 * 3.46)) outside++;
      sum += x;
      sq += x * x;
    }
    expect(outside).toBe(0);
    const mean = sum / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(Math.sqrt(sq / v.length - mean * mean)).toBeCloseTo(0.02, 3);
  });

  it("differ between experts: sign flips on about half the elements, same magnitudes", () => {
    const n = 10_000;
    const a = expertVariation(1, "k", 0, n);
    const b = expertVariation(1, "k", 1, n);
    expect(a.period).toBe(SIGN_PERIOD);
    let differ = 0;
    for (let i = 0; i < SIGN_PERIOD; i++) differ += ((a.signBits[i >>> 5]! ^ b.signBits[i >>> 5]!) >>> (i & 31)) & 1;
    expect(differ).toBeGreaterThan(SIGN_PERIOD * 0.4);
    expect(differ).toBeLessThan(SIGN_PERIOD * 0.6);
    expect(expertVariation(1, "k", 0, n)).toEqual(a);
    expect(expertVariation(2, "k", 0, n)).not.toEqual(a);
  });

  it("xorPeriodic equals the element-wise definition for any alignment, offset and length", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 24 }),
        (len, misalign, offsetWords, maskWords) => {
          const mask = new Uint8Array(maskWords * 4).map((_, i) => (i * 37 + 11) & 0xff);
          const offset = offsetWords * 4;
          const srcBuf = new Uint8Array(len + 8).map((_, i) => (i * 101 + 3) & 0xff);
          const src = srcBuf.subarray(misalign, misalign + len);
          const dst = new Uint8Array(len + 8).subarray(misalign & 3, (misalign & 3) + len);
          xorPeriodic(dst, src, mask, offset);
          for (let i = 0; i < len; i++) expect(dst[i]).toBe(src[i]! ^ mask[(offset + i) % mask.length]!);
        },
      ),
      fcParams(),
    );
  });

  it("xorPeriodic's WebAssembly SIMD path (large runs) agrees with the definition", () => {
    for (const len of [1 << 14, (1 << 14) + 7, 100_003]) {
      for (const maskLen of [64, 8192]) {
        for (const offset of [0, 16, 4, 8192 + 48]) {
          const mask = new Uint8Array(maskLen).map((_, i) => (i * 37 + 11) & 0xff);
          const src = new Uint8Array(len + 3).map((_, i) => (i * 101 + 3) & 0xff).subarray(3);
          const dst = new Uint8Array(len);
          xorPeriodic(dst, src, mask, offset);
          let bad = 0;
          for (let i = 0; i < len; i++) if (dst[i] !== (src[i]! ^ mask[(offset + i) % maskLen]!)) bad++;
          expect(bad, `len ${len} mask ${maskLen} offset ${offset}`).toBe(0);
        }
      }
    }
  });

  it("sign masks touch only the sign bit of each element", () => {
    const v = expertVariation(3, "k", 5, 64);
    for (const size of [1, 2, 4] as const) {
      const m = signMask(v, size);
      expect(m.length).toBe(v.period * size);
      m.forEach((b, i) => {
        expect(b === 0 || (b === 0x80 && i % size === size - 1)).toBe(true);
      });
    }
  });
});
