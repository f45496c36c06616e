// Property: the worker pool writes exactly the bytes of the single-thread kernel, for 1 to 4
// threads, over random shapes (partial blocks included), both FP8 formats and every scale dtype,
// whether the rows go to workers whole or in ranges cut anywhere (tasks as small as one element),
// from unshared buffers, shared ones, or buffers of the kernel memory (computed in place), and
// through the streaming view in small chunks. The expected bytes are the direct path's (one
// product per element), not the default kernel's.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { kernelArena } from "../../../src/reference/fp8/arena.js";
import { DequantPool } from "../../../src/reference/fp8/pool.js";
import { dequantView } from "../../../src/reference/fp8/view.js";
import type { TensorMap } from "../../../src/reference/tensor.js";
import { memoryWeights } from "../../../src/reference/weights.js";
import { fcParams } from "../../support/fc.js";
import { build, caseArb, kernelFor } from "./kernel-cases.js";

const THREADS = [1, 2, 3, 4] as const;
// Tasks of a few elements, so that even the smallest shapes are cut among the workers.
const pools = new Map(THREADS.map((t) => [t, new DequantPool(t, { minTaskElements: 7 })] as const));
afterAll(async () => {
  for (const p of pools.values()) await p.close();
});

const shared = (n: number) => new Uint8Array(new SharedArrayBuffer(n));
type Placement = "unshared" | "shared" | "kernel memory";
/** `n` bytes placed `where`; blocks of the kernel memory are noted in `taken`, to be given back. */
const bytes = (n: number, where: Placement, taken: Uint8Array[]): Uint8Array => {
  if (where === "unshared") return new Uint8Array(n);
  if (where === "shared") return shared(n);
  const block = kernelArena().take(n);
  taken.push(block);
  return block.subarray(0, n);
};

describe("the FP8 worker pool", () => {
  it("gives the single-thread kernel's bytes for 1, 2, 3 and 4 threads", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, fc.constantFrom<Placement>("unshared", "shared", "kernel memory"), async (c, where) => {
        const o = build(c);
        const want = new Uint16Array(o.weight.length);
        kernelFor(o, "direct").run(o.weight, 0, want);
        const taken: Uint8Array[] = [];
        for (const [threads, pool] of pools) {
          const kernel = kernelFor(o, "auto");
          const src = bytes(o.weight.length, where, taken);
          src.set(o.weight);
          const outBytes = bytes(2 * o.weight.length, where, taken);
          const out = new Uint16Array(outBytes.buffer, outBytes.byteOffset, o.weight.length);
          await pool.run(kernel, src, 0, out);
          expect(Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(Buffer.from(want.buffer)), `${threads} thread(s), ${where}`).toBe(true);
          // A range that starts mid-tensor (a streaming chunk) cuts the same way.
          const from = Math.floor(o.weight.length / 3);
          const part = new Uint16Array(o.weight.length - from);
          await pool.run(kernel, o.weight.subarray(from), from, part);
          expect(Buffer.from(part.buffer).equals(Buffer.from(want.buffer, 2 * from)), `${threads} thread(s), from element ${from}`).toBe(true);
        }
        // Back to the kernel memory, which this worker process shares with the test files after this one.
        for (const b of taken) kernelArena().give(b);
      }),
      fcParams(),
    );
    expect(pools.get(1)!.started).toBe(0);
    // Four threads: three workers and the main thread.
    expect(pools.get(4)!.started).toBe(3);
  });

  it("streams through the view in small chunks with the same bytes for every thread count", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, fc.integer({ min: 1, max: 5000 }), async (c, chunkElements) => {
        const o = build(c);
        const want = new Uint16Array(o.weight.length);
        kernelFor(o, "direct").run(o.weight, 0, want);
        const grid = [Math.ceil(c.m / c.bm), Math.ceil(c.n / c.bn)];
        const weights: TensorMap = new Map([
          ["w.weight", { dtype: c.dtype, shape: [c.m, c.n], data: o.weight }],
          ["w.weight_scale_inv", { dtype: c.scaleDtype, shape: grid, data: o.scale }],
        ]);
        const config = { quantization_config: { quant_method: "fp8", fmt: c.dtype === "F8_E4M3" ? "e4m3" : "e5m2", weight_block_size: [c.bm, c.bn] } };
        for (const [threads, pool] of pools) {
          const view = dequantView(memoryWeights(weights), config, { pool, chunkElements });
          const got = (await view.read("w.weight")).data;
          expect(Buffer.from(got).equals(Buffer.from(want.buffer)), `${threads} thread(s), chunks of ${chunkElements}`).toBe(true);
          const into = shared(2 * o.weight.length + 2);
          await view.readInto("w.weight", into, 2);
          expect(Buffer.from(into.subarray(2)).equals(Buffer.from(want.buffer)), `${threads} thread(s), readInto shared memory`).toBe(true);
        }
      }),
      fcParams(),
    );
  });
});
