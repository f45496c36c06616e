import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { type DType, dtypeBits } from "../../../src/reference/dtypes.js";
import { TensorOpError } from "../../../src/reference/ops/geometry.js";
import { createOnnxBackend } from "../../../src/reference/ops/onnx-backend.js";
import { typedBackend } from "../../../src/reference/ops/typed-backend.js";
import { type Tensor, bytesEqual } from "../../../src/reference/tensor.js";
import { fcParams } from "../../support/fc.js";
import { bytesFor } from "../../support/moe.js";

const onnx = createOnnxBackend();
afterAll(() => onnx.close());

const WHOLE: DType[] = ["U8", "BF16", "F16", "F32", "I32", "F64", "C64", "F8_E4M3"];

function make(dtype: DType, shape: readonly number[], seed: string, misalign = false): Tensor {
  const n = (shape.reduce((a, b) => a * b, 1) * dtypeBits(dtype)) / 8;
  const data = bytesFor(seed, n);
  if (!misalign) return { dtype, shape, data };
  // The same bytes at an odd offset of a larger buffer.
  const host = new Uint8Array(n + 1);
  host.set(data, 1);
  return { dtype, shape, data: host.subarray(1) };
}

/** Element index helpers for the naive reference. */
const strides = (shape: readonly number[]) => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

function naiveTranspose(t: Tensor, perm: readonly number[]): Uint8Array {
  const w = dtypeBits(t.dtype) / 8;
  const out = new Uint8Array(t.data.length);
  const inS = strides(t.shape);
  const outShape = perm.map((p) => t.shape[p]!);
  const n = t.data.length / w;
  for (let o = 0; o < n; o++) {
    let rest = o;
    let src = 0;
    outShape.forEach((_d, i) => {
      const sz = outShape.slice(i + 1).reduce((a, b) => a * b, 1);
      const idx = Math.floor(rest / sz);
      rest -= idx * sz;
      src += idx * inS[perm[i]!]!;
    });
    out.set(t.data.subarray(src * w, src * w + w), o * w);
  }
  return out;
}

function naiveConcat(parts: readonly Tensor[], axis: number): Uint8Array {
  const w = dtypeBits(parts[0]!.dtype) / 8;
  const outer = parts[0]!.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const chunks: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const inner = p.shape.slice(axis).reduce((a, b) => a * b, 1) * w;
      chunks.push(...p.data.subarray(o * inner, (o + 1) * inner));
    }
  }
  return Uint8Array.from(chunks);
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });

describe("tensor-op engines", () => {
  it("property: transpose agrees with the element-wise definition on both engines, aligned or not", async () => {
    const arb = shapeArb.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        perm: fc.shuffledSubarray([...shape.keys()], { minLength: shape.length }),
        dtype: fc.constantFrom(...WHOLE),
        misalign: fc.boolean(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ shape, perm, dtype, misalign }) => {
        const t = make(dtype, shape, `${shape}${perm}`, misalign);
        const want = naiveTranspose(t, perm);
        const a = await typedBackend.transpose(t, perm);
        const b = await onnx.transpose(t, perm);
        expect(a.shape).toEqual(perm.map((p) => shape[p]));
        expect(bytesEqual(a.data, want)).toBe(true);
        expect(bytesEqual(b.data, want)).toBe(true);
      }),
      fcParams(),
    );
  });

  it("property: concat and its inverse split agree with the definition on both engines", async () => {
    const arb = shapeArb.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        axis: fc.integer({ min: 0, max: shape.length - 1 }),
        sizes: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
        dtype: fc.constantFrom(...WHOLE),
        negative: fc.boolean(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(arb, async ({ shape, axis, sizes, dtype, negative }) => {
        const parts = sizes.map((s, k) =>
          make(
            dtype,
            shape.map((d, i) => (i === axis ? s : d)),
            `p${k}${shape}`,
            k % 2 === 1,
          ),
        );
        const ax = negative ? axis - shape.length : axis;
        const want = naiveConcat(parts, axis);
        for (const engine of [typedBackend, onnx]) {
          const c = await engine.concat(parts, ax);
          expect(bytesEqual(c.data, want)).toBe(true);
          const back = await engine.split(c, ax, sizes);
          back.forEach((p, k) => {
            expect(bytesEqual(p.data, parts[k]!.data)).toBe(true);
          });
        }
      }),
      fcParams(),
    );
  });

  it("property: stack places whole tensors one after another on both engines", async () => {
    const arb = fc.record({ shape: shapeArb, n: fc.integer({ min: 1, max: 5 }), dtype: fc.constantFrom<DType>(...WHOLE, "F4") });
    await fc.assert(
      fc.asyncProperty(arb, async ({ shape, n, dtype }) => {
        const s = dtype === "F4" ? [...shape, 2] : shape;
        const parts = Array.from({ length: n }, (_, k) => make(dtype, s, `s${k}`));
        const want = Uint8Array.from(parts.flatMap((p) => [...p.data]));
        for (const engine of [typedBackend, onnx]) {
          const r = await engine.stack(parts);
          expect(r.shape).toEqual([n, ...s]);
          expect(bytesEqual(r.data, want)).toBe(true);
        }
      }),
      fcParams(),
    );
  });

  it("writes into a given output buffer, and leaves parts that already sit there in place", async () => {
    const out = new Uint8Array(8);
    const a = { dtype: "U8" as const, shape: [4], data: out.subarray(0, 4) };
    a.data.set([1, 2, 3, 4]);
    const b = { dtype: "U8" as const, shape: [4], data: Uint8Array.from([5, 6, 7, 8]) };
    const r = await typedBackend.concat([a, b], 0, out);
    expect(r.data).toBe(out);
    expect([...out]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const r2 = await onnx.stack([a, b], new Uint8Array(8));
    expect([...r2.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("handles sub-byte dtypes along the leading axis only", async () => {
    const f4 = make("F4", [2, 4], "f4");
    for (const engine of [typedBackend, onnx]) {
      expect(bytesEqual((await engine.concat([f4, f4], 0)).data, Uint8Array.from([...f4.data, ...f4.data]))).toBe(true);
      await expect(engine.concat([f4, f4], 1)).rejects.toThrow(TensorOpError);
      await expect(engine.transpose(f4, [1, 0])).rejects.toThrow(/smaller than a byte/);
    }
  });

  it("rejects arguments that do not fit", async () => {
    const a = make("BF16", [2, 3], "a");
    for (const engine of [typedBackend, onnx]) {
      await expect(engine.concat([a, make("BF16", [3, 3], "b")], 1)).rejects.toThrow(/does not fit/);
      await expect(engine.concat([a, make("F16", [2, 3], "b")], 0)).rejects.toThrow(/does not fit/);
      await expect(engine.stack([a, make("BF16", [3, 2], "b")])).rejects.toThrow(/differs/);
      await expect(engine.split(a, 0, [1, 2])).rejects.toThrow(/do not add up/);
      await expect(engine.transpose(a, [0, 0])).rejects.toThrow(/not a permutation/);
      await expect(engine.concat([a], 2)).rejects.toThrow(/out of range/);
      await expect(engine.stack([a], new Uint8Array(3))).rejects.toThrow(/output buffer holds 3 bytes/);
      await expect(engine.stack([{ ...a, data: new Uint8Array(5) }])).rejects.toThrow(/needs 12 bytes, got 5/);
    }
  });
});
