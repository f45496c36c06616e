// The scalar encodings of dtypes.ts against onnxruntime-node's own Cast kernels, exhaustively
// where the domain is small (every FP8 code, every f16 code) and at every rounding boundary
// where it is not (f32 -> bf16, f32 -> f16). ORT's JS API has no bf16/float8 tensors, so FP8
// bytes go in as an initializer (raw_data) and bf16 is widened back to float inside the graph.

import { describe, expect, it } from "vitest";
import { BF16_NAN, E4M3FN_TABLE, E5M2_TABLE, E8M0_TABLE, F16_NAN, f16ToF32, f32ArrayToBf16, f32ToF16 } from "../../src/reference/dtypes.js";
import { OnnxType } from "../../src/reference/onnx/model.js";
import { ortTensor, runGraph } from "../../src/reference/onnx/session.js";
import fc from "fast-check";
import { F32_EDGES, bf16Boundaries, f16Boundaries } from "../support/float-reference.js";
import { fcParams } from "../support/fc.js";

/** Random float32 bit patterns over the whole range (FC_SEED reproduces, FC_NUM_RUNS scales). */
function randomF32(): Float32Array {
  const bits = fc.sample(fc.integer({ min: 0, max: 0xffffffff }), fcParams(65536));
  return new Float32Array(Uint32Array.from(bits).buffer);
}

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** ORT's float32 value of every code of an 8-bit float type. */
async function ortDecode8(type: OnnxType, opset?: number): Promise<Float32Array> {
  const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const out = await runGraph(
    {
      nodes: [{ op: "Cast", inputs: ["codes"], outputs: ["y"], attributes: { to: OnnxType.FLOAT } }],
      inputs: [],
      outputs: [{ name: "y", type: OnnxType.FLOAT, shape: [256] }],
      initializers: [{ name: "codes", type, dims: [256], raw: codes }],
      ...(opset === undefined ? {} : { opset }),
    },
    {},
  );
  return out.y!.data as Float32Array;
}

/** x -> Cast(to) -> (widened back to float when the output type is bf16). */
async function ortCast(xs: Float32Array, to: OnnxType): Promise<Float32Array | Uint16Array> {
  const n = xs.length;
  const widen = to === OnnxType.BFLOAT16;
  const out = await runGraph(
    {
      nodes: [
        { op: "Cast", inputs: ["x"], outputs: [widen ? "narrow" : "y"], attributes: { to } },
        ...(widen ? [{ op: "Cast", inputs: ["narrow"], outputs: ["y"], attributes: { to: OnnxType.FLOAT } }] : []),
      ],
      inputs: [{ name: "x", type: OnnxType.FLOAT, shape: [n] }],
      outputs: [{ name: "y", type: widen ? OnnxType.FLOAT : to, shape: [n] }],
    },
    { x: ortTensor("float32", xs, [n]) },
  );
  return out.y!.data as Float32Array | Uint16Array;
}

function expectTable(ours: Float32Array, ort: Float32Array, label: string): void {
  const wrong = [...ours.keys()].filter((c) => !same(ours[c]!, ort[c]!));
  expect(wrong.map((c) => `${label} 0x${c.toString(16)}: ours ${ours[c]}, ORT ${ort[c]}`)).toEqual([]);
}

describe("dtypes against onnxruntime's Cast", () => {
  it("decodes all 256 E4M3FN codes as ORT does", async () => {
    expectTable(E4M3FN_TABLE, await ortDecode8(OnnxType.FLOAT8E4M3FN), "E4M3FN");
  });

  it("decodes all 256 E5M2 codes as ORT does", async () => {
    expectTable(E5M2_TABLE, await ortDecode8(OnnxType.FLOAT8E5M2), "E5M2");
  });

  it("decodes all 256 E8M0 codes as ORT does (opset 24)", async () => {
    expectTable(E8M0_TABLE, await ortDecode8(OnnxType.FLOAT8E8M0, 24), "E8M0");
  });

  it("decodes all 65,536 f16 codes as ORT does", async () => {
    const codes = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const out = await runGraph(
      {
        nodes: [{ op: "Cast", inputs: ["h"], outputs: ["y"], attributes: { to: OnnxType.FLOAT } }],
        inputs: [{ name: "h", type: OnnxType.FLOAT16, shape: [65536] }],
        outputs: [{ name: "y", type: OnnxType.FLOAT, shape: [65536] }],
      },
      { h: ortTensor("float16", codes, [65536]) },
    );
    const ort = out.y!.data as Float32Array;
    const wrong = [...codes].filter((h) => !same(f16ToF32(h), ort[h]!));
    expect(wrong.map((h) => `0x${h.toString(16)}: ours ${f16ToF32(h)}, ORT ${ort[h]}`)).toEqual([]);
  });

  it("rounds f32 to bf16 as ORT does at every tie and near-tie, and on random values (NaN stays NaN)", async () => {
    const xs = Float32Array.from([...bf16Boundaries(), ...F32_EDGES, ...randomF32()]);
    const ort = new Uint32Array((await ortCast(xs, OnnxType.BFLOAT16)).buffer);
    const ours = new Uint16Array(xs.length);
    f32ArrayToBf16(xs, ours);
    const bits = new Uint32Array(xs.buffer);
    const wrong: string[] = [];
    let nans = 0;
    for (let i = 0; i < xs.length; i++) {
      const theirs = ort[i]! >>> 16;
      // NaN bits are no contract (ORT keeps the sign, torch's vector path writes 0xFFFF, ours
      // is always 0x7FC0): a NaN must stay a NaN.
      if (Number.isNaN(xs[i]!)) nans++;
      const agree = Number.isNaN(xs[i]!) ? ours[i] === BF16_NAN && (theirs & 0x7fff) > 0x7f80 : ours[i] === theirs;
      if (!agree) wrong.push(`f32 0x${bits[i]!.toString(16)}: ours 0x${ours[i]!.toString(16)}, ORT 0x${theirs.toString(16)}`);
    }
    expect(nans).toBeGreaterThan(0);
    expect(wrong.slice(0, 20)).toEqual([]);
  });

  it("rounds f32 to f16 as ORT does at every f16 midpoint and its neighbours, and on random values", async () => {
    const xs = Float32Array.from([...f16Boundaries(f16ToF32), ...F32_EDGES, ...randomF32()]);
    const ort = (await ortCast(xs, OnnxType.FLOAT16)) as Uint16Array;
    const wrong: string[] = [];
    for (let i = 0; i < xs.length; i++) {
      const ours = f32ToF16(xs[i]!);
      const agree = Number.isNaN(xs[i]!) ? ours === F16_NAN && (ort[i]! & 0x7fff) > 0x7c00 : ours === ort[i];
      if (!agree) wrong.push(`f32 ${xs[i]}: ours 0x${ours.toString(16)}, ORT 0x${ort[i]!.toString(16)}`);
    }
    expect(wrong.slice(0, 20)).toEqual([]);
  });
});
