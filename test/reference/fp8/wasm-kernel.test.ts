// The WebAssembly kernel: its committed bytes are what ci/wasm/fp8-kernel.wat assembles to, and
// its output is the per-element formula's for every byte in every SIMD lane and in the scalar
// tail, for scales that take the SIMD path and scales that must not (the property against
// onnxruntime, kernel.property.test.ts, covers random shapes, blocks and scale formats).

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { E4M3FN_TABLE } from "../../../src/reference/dtypes.js";
import { fillBlockTable } from "../../../src/reference/fp8/block-table.js";
import { type BlockScaledWeight, Fp8Dequantizer, type KernelStrategy } from "../../../src/reference/fp8/kernel.js";
import { SIMD_SCALE_MAX, SIMD_SCALE_MIN, simdTable, wasmBlockTable } from "../../../src/reference/fp8/wasm-kernel.js";
import { weightTable } from "../../../src/reference/fp8/formats.js";
import { Xoshiro128 } from "../../../src/fixtures-gen/prng.js";
import { expectSameBits } from "../../support/weights.js";
import { expectedBits } from "./tensors.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (b: number): number => {
  u32[0] = b;
  return f32[0]!;
};

/** Scales at the edges of the SIMD formula: overflow, bf16 subnormal products, NaN, infinities, zeros. */
const EDGE_SCALES = [
  1,
  -1,
  0.5,
  -0.375,
  448,
  2 ** -100,
  2 ** -120,
  2 ** -126,
  3e-39,
  1e-45,
  2 ** 100,
  2 ** 120,
  2 ** 127,
  3.4e38,
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
];

/** The float32 values next to `x` (rounded to float32 first), below and above. */
const neighbours = (x: number): number[] => {
  f32[0] = x;
  const b = u32[0]!;
  return [fromBits(b - 1), fromBits(b), fromBits(b + 1)];
};

/** Float32 scales on both sides of the bounds of the range that skips the byte check, both signs. */
const BOUND_SCALES = [SIMD_SCALE_MIN, SIMD_SCALE_MAX].flatMap(neighbours).flatMap((x) => [x, -x]);

/** Edge scales, 20,000 random float32 bit patterns, and 20,000 within a few hundred ulps of the SIMD range's bounds, both signs. */
function manyScales(): number[] {
  const rng = new Xoshiro128(23);
  const near = (x: number) => {
    f32[0] = x;
    return fromBits(u32[0]! + Math.floor((rng.uniform() - 0.5) * 600));
  };
  return [
    ...EDGE_SCALES,
    ...BOUND_SCALES,
    ...randomScales(20_000),
    ...Array.from({ length: 20_000 }, (_, k) => near(k % 2 === 0 ? SIMD_SCALE_MIN : SIMD_SCALE_MAX) * (k % 4 < 2 ? 1 : -1)),
  ];
}

function randomScales(n: number): number[] {
  const rng = new Xoshiro128(19);
  return Array.from({ length: n }, () => fromBits(Math.floor(rng.uniform() * 2 ** 32)));
}

const exactTable = (scale: number): Uint16Array => {
  const t = new Uint16Array(256);
  fillBlockTable(E4M3FN_TABLE, scale, t, 0);
  return t;
};

function run(w: BlockScaledWeight, bytes: Uint8Array, strategy: KernelStrategy, start = 0): Uint16Array {
  const out = new Uint16Array(bytes.length);
  new Fp8Dequantizer(w, strategy).run(bytes, start, out);
  return out;
}

describe("the WebAssembly FP8 kernel", () => {
  it("is committed as ci/wasm/fp8-kernel.wat assembles", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["ci/wasm/assemble.mjs", "--check"]);
    expect(stdout).toMatch(/matches ci\/wasm\/fp8-kernel.wat/);
  });

  it("takes the SIMD path for every scale whose products stay normal, and only for scales where it is exact", () => {
    // Every power of two a real checkpoint's block scale can be: the fast path must not depend on luck.
    for (let e = -110; e <= 110; e++) {
      for (const m of [1, 1.0000001, 1.5, 1.9999999]) expect(simdTable(exactTable(m * 2 ** e)), `scale ${m} * 2^${e}`).toBeDefined();
    }
    for (const s of [NaN, Infinity, -Infinity, 2 ** 127, 2 ** -130, 0]) expect(simdTable(exactTable(s)), `scale ${s}`).toBeUndefined();
  });

  it("writes fillBlockTable's exact table in WebAssembly, for both formats and 40,000 scales", () => {
    for (const dtype of ["F8_E4M3", "F8_E5M2"] as const) {
      const decode = weightTable(dtype);
      // Block scales are float32 (a Float32Array grid): the export takes an f32.
      for (const s of manyScales().map(Math.fround)) {
        const want = new Uint16Array(256);
        fillBlockTable(decode, s, want, 0);
        expectSameBits(wasmBlockTable(decode, s), want, `${dtype}, scale ${s}`);
      }
    }
  });

  it("skips the byte check only where the check passes: the scale range's bounds against 40,000 scales", () => {
    const scales = manyScales();
    let skipped = 0;
    for (const s of scales) {
      const exact = exactTable(s);
      const checked = simdTable(exact);
      const fast = simdTable(exact, new Uint16Array(16), s);
      expect(fast, `scale ${s}`).toEqual(checked);
      if (Math.abs(s) >= SIMD_SCALE_MIN && Math.abs(s) <= SIMD_SCALE_MAX) skipped++;
    }
    expect(skipped).toBeGreaterThan(10_000);
    // Outside the range the check decides: it rejects products below float32's normal range
    // (2^-121) and products that overflow float32 (2^121: 448 |s| > 2^128).
    expect(simdTable(exactTable(2 ** -121))).toBeUndefined();
    expect(simdTable(exactTable(2 ** 121))).toBeUndefined();
  });

  it("gives the formula's bits for every byte in every lane and in the tail, on both formats", () => {
    const scales = [...EDGE_SCALES, ...BOUND_SCALES, ...randomScales(400)];
    let simdBlocks = 0;
    // Each row is one block of 16 * 16 + 7 columns: the bytes 0..255 in order, shifted by the row, so
    // every byte meets every one of the 16 lanes, and 7 more go through the scalar tail.
    const rows = 16;
    const cols = 263;
    const bytes = Uint8Array.from({ length: rows * cols }, (_, i) => (Math.floor(i / cols) + (i % cols)) & 0xff);
    for (const dtype of ["F8_E4M3", "F8_E5M2"] as const) {
      for (const s of scales) {
        if (dtype === "F8_E4M3" && simdTable(exactTable(s)) !== undefined) simdBlocks++;
        const w: BlockScaledWeight = { dtype, rows, cols, block: [rows, cols], scales: Float32Array.of(s) };
        const got = run(w, bytes, "wasm");
        const want = Uint16Array.from(bytes, (b) => expectedBits(b, Math.fround(s), dtype));
        expectSameBits(got, want, `${dtype}, scale ${s}`);
      }
    }
    // Both paths were reached: most random float32 scales keep the products normal, the edges do not.
    expect(simdBlocks).toBeGreaterThan(300);
    expect(simdBlocks).toBeLessThan(scales.length);
  });

  it("agrees with the typed-array kernel across block rows, calls of 64 Ki elements and mid-row starts", () => {
    const rng = new Xoshiro128(7);
    const rows = 300;
    const cols = 700;
    const block: [number, number] = [128, 48];
    const cells = Math.ceil(rows / 128) * Math.ceil(cols / 48);
    const w: BlockScaledWeight = { dtype: "F8_E4M3", rows, cols, block, scales: Float32Array.from({ length: cells }, () => (rng.uniform() - 0.5) * 2 ** 10) };
    const bytes = Uint8Array.from({ length: rows * cols }, () => Math.floor(rng.uniform() * 256));
    const want = run(w, bytes, "table");
    expectSameBits(run(w, bytes, "wasm"), want, "whole tensor");
    for (const start of [1, 699, 700, 128 * 700 - 5, 100_001]) {
      const end = Math.min(bytes.length, start + 90_000);
      expectSameBits(run(w, bytes.subarray(start, end), "wasm", start), want.subarray(start, end), `start ${start}`);
    }
  });
});
