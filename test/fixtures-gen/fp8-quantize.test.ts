import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import { BF16_NAN, E4M3FN_TABLE } from "../../src/reference/dtypes.js";
import { runStage } from "../../src/reference/stages.js";
import { SPECIAL_VALUES, encodeE4M3, quantizeBlocks } from "../../src/fixtures-gen/fp8-quantize.js";
import { fcParams } from "../support/fc.js";

/** Brute force over the decode table: the finite code nearest to x, ties to the even code. */
function nearest(x: number): number {
  let best = -1;
  let bestDist = Infinity;
  for (let c = 0; c < 256; c++) {
    const v = E4M3FN_TABLE[c]!;
    if (Number.isNaN(v)) continue;
    if ((c & 0x80) !== (x < 0 || Object.is(x, -0) ? 0x80 : 0)) continue;
    const d = Math.abs(Math.min(Math.abs(x), 448) - Math.abs(v));
    if (d < bestDist || (d === bestDist && (c & 1) === 0)) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

describe("E4M3 encoding", () => {
  it("maps every finite E4M3 value to its own code", () => {
    for (let c = 0; c < 256; c++) if (!Number.isNaN(E4M3FN_TABLE[c]!)) expect(encodeE4M3(E4M3FN_TABLE[c]!)).toBe(c);
  });

  it("rounds midpoints between neighbours to the even code, and saturates at 448", () => {
    for (let c = 0; c < 126; c++) {
      const mid = (E4M3FN_TABLE[c]! + E4M3FN_TABLE[c + 1]!) / 2;
      expect(encodeE4M3(mid)).toBe(c % 2 === 0 ? c : c + 1);
      expect(encodeE4M3(-mid)).toBe(0x80 | (c % 2 === 0 ? c : c + 1));
    }
    expect(encodeE4M3(448)).toBe(0x7e);
    expect(encodeE4M3(1e9)).toBe(0x7e);
    expect(encodeE4M3(-464)).toBe(0xfe);
    expect(encodeE4M3(2 ** -11)).toBe(0); // below half the smallest subnormal
    expect(encodeE4M3(-0)).toBe(0x80);
  });

  it("picks the nearest code of the decode table for any float32", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: -500, max: 500 }), (x) => {
        expect(encodeE4M3(x)).toBe(nearest(x));
      }),
      fcParams(),
    );
  });
});

describe("block quantization", () => {
  it("gives each block amax/448 and keeps every code within range, with partial edge blocks", () => {
    const rows = 5;
    const cols = 7;
    const values = Float64Array.from({ length: rows * cols }, (_, i) => Math.fround(Math.sin(i) * 0.03));
    const q = quantizeBlocks(values, rows, cols, [2, 4], "F32");
    expect(q.scaleShape).toEqual([3, 2]);
    for (let br = 0; br < 3; br++) {
      for (let bc = 0; bc < 2; bc++) {
        let amax = 0;
        for (let r = br * 2; r < Math.min(rows, br * 2 + 2); r++)
          for (let c = bc * 4; c < Math.min(cols, bc * 4 + 4); c++) amax = Math.max(amax, Math.abs(values[r * cols + c]!));
        expect(q.scales[br * 2 + bc]).toBe(Math.fround(amax / 448));
      }
    }
    for (let i = 0; i < values.length; i++) {
      const scale = q.scales[Math.floor(Math.floor(i / cols) / 2) * 2 + Math.floor((i % cols) / 4)]!;
      expect(q.codes[i]).toBe(nearest(Math.fround(values[i]! / scale)));
    }
  });

  it("stores BF16 scales rounded to nearest even, and gives an all-zero block scale 1", () => {
    const q = quantizeBlocks(Float64Array.from([0, 0, 0.1, -0.2]), 2, 2, [1, 2], "BF16");
    expect(q.scales[0]).toBe(1);
    expect([...q.codes.subarray(0, 2)]).toEqual([0, 0]);
    // 0.2/448 rounded to bf16 (8 significant bits).
    const s = q.scales[1]!;
    expect(Math.abs(s - 0.2 / 448) / (0.2 / 448)).toBeLessThan(2 ** -8);
    expect(encodeE4M3(Math.fround(-0.2 / s))).toBe(q.codes[3]);
  });
});

describe("special values of generated FP8 weights", () => {
  it("NaN is code 0x7F and never a block's amax; -0 and a negative too small for the scale are 0x80", () => {
    const q = quantizeBlocks(Float64Array.from([0.5, NaN, -0, -(2 ** -140)]), 1, 4, [1, 4], "F32");
    expect(q.scales[0]).toBe(Math.fround(0.5 / 448));
    expect([...q.codes]).toEqual([0x7e, 0x7f, 0x80, 0x80]);
    expect(encodeE4M3(NaN)).toBe(0x7f);
  });

  // Experts of 4096 elements or more are their kind's base with the expert's sign pattern, so the
  // specials' signs vary by expert (0xFF, the negative NaN, among them); smaller experts are drawn
  // on their own and keep the specials as they are (the golden oracle case fp8-e4m3-blocks holds
  // every code, 0xFF included).
  it.each([
    ["small experts", 4, [0x7f]],
    ["sign-varied experts", 64, [0x7f, 0xff]],
  ] as const)(
    "every generated FP8 expert weight ends in -0, a value rounded to -0 and a NaN (%s); dequantized: -0 (0x8000) and the canonical NaN",
    async (_, size, nans) => {
      const g = generateCheckpoint({
        family: "qwen3_moe",
        seed: 5,
        experts: 6,
        layers: 2,
        hidden: size,
        intermediate: size,
        vocab: 8,
        fp8: { blockSize: [2, 3] },
      });
      const nanCodes = new Set<number>();
      let weights = 0;
      for (const [name, t] of g.tensors) {
        if (t.dtype !== "F8_E4M3" || !name.includes(".experts.")) continue;
        weights++;
        // Each is +0 or -0, 0x7F or 0xFF by the expert's sign pattern, as for any other element.
        const [minusZero, rounded, nan] = [...t.data.subarray(t.data.length - SPECIAL_VALUES.length)];
        expect([minusZero! & 0x7f, rounded! & 0x7f, nan! & 0x7f], name).toEqual([0, 0, 0x7f]);
        nanCodes.add(nan!);
      }
      expect(weights).toBe(3 * 6);
      expect([...nanCodes].sort()).toEqual(nans);
      const { weights: out } = await runStage("dequant", g.tensors, g.config);
      const words = (n: string) => new Uint16Array(out.get(n)!.data.slice().buffer);
      const dequantized = [...g.tensors.keys()].filter((n) => n.includes(".experts.") && g.tensors.get(n)!.dtype === "F8_E4M3").map((n) => words(n));
      const zeros = dequantized.flatMap((w) => [w[w.length - 3]!, w[w.length - 2]!]);
      expect(zeros).toContain(0x8000);
      for (const z of zeros) expect([0x0000, 0x8000]).toContain(z);
      for (const w of dequantized) expect(w[w.length - 1]).toBe(BF16_NAN);
    },
  );
});
