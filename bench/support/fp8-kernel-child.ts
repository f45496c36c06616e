// One thread of FP8 dequantization in a process of its own, for bench:fp8's machine ceiling: two
// of these side by side share nothing but the machine, so their speed against one alone is the
// most two cores give this kernel here, whatever a pool does. Builds 16 distinct experts in the
// kernel memory (not timed), as the pool's DRAM series does, runs a second of untimed passes,
// prints "ready", waits for a line on stdin, then times PASSES passes of the default kernel in
// place over E experts and prints their seconds as one JSON line.
// Usage: tsx bench/support/fp8-kernel-child.ts E I H PASSES SEED

import { createInterface } from "node:readline";
import { Xoshiro128 } from "../../src/fixtures-gen/prng.js";
import { kernelArena } from "../../src/reference/fp8/arena.js";
import { decodeScales } from "../../src/reference/fp8/formats.js";
import { Fp8Dequantizer } from "../../src/reference/fp8/kernel.js";
import { BLOCK, makeExpert } from "./fp8-weights.js";

const [E, I, H, PASSES, SEED] = process.argv.slice(2).map(Number) as [number, number, number, number, number];
const DISTINCT = 16;
const rng = new Xoshiro128(SEED);
const inKernelMemory = (b: Uint8Array): Uint8Array => {
  const c = kernelArena().take(b.length).subarray(0, b.length);
  c.set(b);
  return c;
};
const experts = Array.from({ length: DISTINCT }, () =>
  makeExpert(rng, I, H).map((w) => {
    const out = kernelArena().take(2 * w.bytes.length);
    return { w, bytes: inKernelMemory(w.bytes), out: new Uint16Array(out.buffer, out.byteOffset, w.bytes.length) };
  }),
);

function pass(): number {
  const t0 = performance.now();
  for (let e = 0; e < E; e++) {
    for (const { w, bytes, out } of experts[e % DISTINCT]!) {
      new Fp8Dequantizer({ dtype: "F8_E4M3", rows: w.shape[0], cols: w.shape[1], block: [BLOCK, BLOCK], scales: decodeScales(w.scale) }).run(bytes, 0, out);
    }
  }
  return (performance.now() - t0) / 1000;
}

// A second of untimed passes, as the pool series have: the first after a pause are the slowest.
const warmUntil = performance.now() + 1000;
do pass();
while (performance.now() < warmUntil);
process.stdout.write("ready\n");
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once("line", () => resolve()));
lines.close();
const seconds = Array.from({ length: PASSES }, pass);
process.stdout.write(`${JSON.stringify({ seconds })}\n`);
