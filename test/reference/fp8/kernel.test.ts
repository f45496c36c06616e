// Kernel details the property test does not target directly: kernels sharing the module's table
// slots while interleaved (as two streamed tensors are), rows wider than the slot count, the
// scalar formula on every byte, and argument checks.

import { describe, expect, it } from "vitest";
import { BF16_NAN } from "../../../src/reference/dtypes.js";
import { type BlockScaledWeight, Fp8Dequantizer, type KernelStrategy } from "../../../src/reference/fp8/kernel.js";
import { expectSameBits } from "../../support/weights.js";
import { expectedBits } from "./tensors.js";

function weight(
  rows: number,
  cols: number,
  block: [number, number],
  scale: (k: number) => number,
  dtype: "F8_E4M3" | "F8_E5M2" = "F8_E4M3",
): BlockScaledWeight {
  const cells = Math.ceil(rows / block[0]) * Math.ceil(cols / block[1]);
  return { dtype, rows, cols, block, scales: Float32Array.from({ length: cells }, (_, k) => scale(k)) };
}

function whole(w: BlockScaledWeight, bytes: Uint8Array, strategy: KernelStrategy): Uint16Array {
  const out = new Uint16Array(bytes.length);
  new Fp8Dequantizer(w, strategy).run(bytes, 0, out);
  return out;
}

describe("Fp8Dequantizer", () => {
  it("gives the formula's bits for every byte, NaN as 0x7FC0, on every path and both formats", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const dtype of ["F8_E4M3", "F8_E5M2"] as const) {
      for (const s of [1, -0.375, 3e-39, 2e36, 0]) {
        const w = weight(16, 16, [16, 16], () => s, dtype);
        const want = [...bytes].map((b) => expectedBits(b, s, dtype));
        for (const strategy of ["wasm", "table", "direct"] as const) expect([...whole(w, bytes, strategy)], strategy).toEqual(want);
      }
    }
    expect(
      whole(
        weight(1, 2, [1, 1], () => 1),
        Uint8Array.of(0x7f, 0xff),
        "table",
      ),
    ).toEqual(Uint16Array.of(BF16_NAN, BF16_NAN));
  });

  it("stays correct when kernels interleave on the shared table slots (wasm: block records), and past 256 block columns", () => {
    const rows = 6;
    const cols = 600;
    const bytes = Uint8Array.from({ length: rows * cols }, (_, i) => (i * 131 + 7) & 0xff);
    const a = weight(rows, cols, [2, 2], (k) => 1 + k / 64);
    const b = weight(rows, cols, [3, 2], (k) => -0.5 - k / 32);
    for (const strategy of ["table", "wasm"] as const) {
      const ka = new Fp8Dequantizer(a, strategy);
      const kb = new Fp8Dequantizer(b, strategy);
      const outA = new Uint16Array(bytes.length);
      const outB = new Uint16Array(bytes.length);
      for (let start = 0; start < bytes.length; start += 250) {
        const end = Math.min(bytes.length, start + 250);
        ka.run(bytes.subarray(start, end), start, outA.subarray(start, end));
        kb.run(bytes.subarray(start, end), start, outB.subarray(start, end));
      }
      expectSameBits(outA, whole(a, bytes, "direct"), `${strategy}, first kernel`);
      expectSameBits(outB, whole(b, bytes, "direct"), `${strategy}, second kernel`);
    }
  });

  it("checks its arguments", () => {
    expect(() => new Fp8Dequantizer({ ...weight(4, 4, [2, 4], () => 1), block: [0, 4] })).toThrow("block [0, 4]");
    expect(() => new Fp8Dequantizer({ ...weight(4, 4, [2, 2], () => 1), scales: new Float32Array(3) })).toThrow("needs 4");
    const k = new Fp8Dequantizer(weight(4, 4, [2, 2], () => 1));
    expect(() => k.run(new Uint8Array(4), 0, new Uint16Array(3))).toThrow("output holds 3");
    expect(() => k.run(new Uint8Array(4), 14, new Uint16Array(4))).toThrow("outside the 4x4 weight");
  });
});
