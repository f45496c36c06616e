import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { E4M3FN_TABLE } from "../../src/reference/dtypes.js";
import { encodeE4M3, quantizeBlocks } from "../../src/fixtures-gen/fp8-quantize.js";
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
        for (let r = br * 2; r < Math.min(rows, br * 2 + 2); r++) for (let c = bc * 4; c < Math.min(cols, bc * 4 + 4); c++) amax = Math.max(amax, Math.abs(values[r * cols + c]!));
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
