// Property: for random shapes (1x1, non-multiples of the block, m or n smaller than the block),
// random block sizes, random FP8 bytes (NaN, Inf, subnormals, zeros of both signs) and random
// F32/BF16/F16/E8M0 scales (including subnormal and overflowing products), the kernel agrees
// bit for bit with onnxruntime's DequantizeLinear after bf16 rounding - through the WebAssembly
// kernel, the table path, the direct path, and chunked streaming over misaligned buffers alike. NaN results must be the
// canonical BF16_NAN 0x7FC0 (ORT keeps the NaN's sign, so it only says "NaN").

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BF16_NAN } from "../../../src/reference/dtypes.js";
import type { KernelStrategy } from "../../../src/reference/fp8/kernel.js";
import { fcParams } from "../../support/fc.js";
import { build, caseArb, kernelFor } from "./kernel-cases.js";
import { type OrtCase, ortDequant } from "./ort-dequant.js";

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
        for (const strategy of ["wasm", "table", "direct"] as const) {
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
