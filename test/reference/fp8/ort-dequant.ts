// The second engine for FP8 dequantization: onnxruntime-node. The FP8 weight and the scale grid
// go into the graph as initializers of their own ONNX types (FLOAT8E4M3FN / FLOAT8E5M2,
// FLOAT / FLOAT16 / BFLOAT16; E8M0 as UINT8 decoded in-graph as 2^(s-127), 255 -> NaN), so ORT
// does every decode itself. The grid is expanded along rows with Gather(Range(m) / bm), then
// DequantizeLinear (opset 21, blocked along axis 1 with block_size bn, partial last block)
// multiplies in float32, and Cast -> BFLOAT16 -> FLOAT rounds to bf16 (nearest even) inside the
// graph. ORT keeps a NaN's sign when rounding, so NaN results are reported as NaN, not bits.

import { OnnxType, type OnnxGraph, type OnnxInitializer, type OnnxNode } from "../../../src/reference/onnx/model.js";
import { runGraph } from "../../../src/reference/onnx/session.js";

export type WeightType = "F8_E4M3" | "F8_E5M2";
export type ScaleType = "F32" | "BF16" | "F16" | "F8_E8M0";

export interface OrtCase {
  readonly dtype: WeightType;
  readonly m: number;
  readonly n: number;
  readonly bm: number;
  readonly bn: number;
  readonly weight: Uint8Array;
  readonly scaleDtype: ScaleType;
  /** Raw little-endian scale bytes, grid [ceil(m/bm), ceil(n/bn)]. */
  readonly scale: Uint8Array;
}

/** The bf16 bits ORT computes per element, or -1 where the result is NaN. */
export async function ortDequant(c: OrtCase): Promise<Int32Array> {
  const gr = Math.ceil(c.m / c.bm);
  const gc = Math.ceil(c.n / c.bn);
  const i64 = (name: string, v: number): OnnxInitializer => ({
    name,
    type: OnnxType.INT64,
    dims: [],
    raw: new Uint8Array(new BigInt64Array([BigInt(v)]).buffer),
  });
  const f32 = (name: string, v: number): OnnxInitializer => ({ name, type: OnnxType.FLOAT, dims: [], raw: new Uint8Array(new Float32Array([v]).buffer) });
  const scaleType = { F32: OnnxType.FLOAT, BF16: OnnxType.BFLOAT16, F16: OnnxType.FLOAT16, F8_E8M0: OnnxType.UINT8 }[c.scaleDtype];
  const initializers: OnnxInitializer[] = [
    { name: "w", type: c.dtype === "F8_E4M3" ? OnnxType.FLOAT8E4M3FN : OnnxType.FLOAT8E5M2, dims: [c.m, c.n], raw: c.weight },
    { name: "s_raw", type: scaleType, dims: [gr, gc], raw: c.scale },
    i64("zero", 0),
    i64("one", 1),
    i64("rows", c.m),
    i64("bm", c.bm),
  ];
  const nodes: OnnxNode[] = [];
  if (c.scaleDtype === "F32") nodes.push({ op: "Identity", inputs: ["s_raw"], outputs: ["s"] });
  else nodes.push({ op: "Cast", inputs: ["s_raw"], outputs: [c.scaleDtype === "F8_E8M0" ? "s_code" : "s"], attributes: { to: OnnxType.FLOAT } });
  if (c.scaleDtype === "F8_E8M0") {
    initializers.push(f32("two", 2), f32("bias", 127), f32("nan_code", 255), f32("nan", NaN));
    nodes.push(
      { op: "Sub", inputs: ["s_code", "bias"], outputs: ["s_exp"] },
      { op: "Pow", inputs: ["two", "s_exp"], outputs: ["s_pow"] },
      { op: "Equal", inputs: ["s_code", "nan_code"], outputs: ["s_is_nan"] },
      { op: "Where", inputs: ["s_is_nan", "nan", "s_pow"], outputs: ["s"] },
    );
  }
  nodes.push(
    { op: "Range", inputs: ["zero", "rows", "one"], outputs: ["row"] },
    { op: "Div", inputs: ["row", "bm"], outputs: ["block_row"] },
    { op: "Gather", inputs: ["s", "block_row"], outputs: ["s_rows"], attributes: { axis: 0 } },
    { op: "DequantizeLinear", inputs: ["w", "s_rows"], outputs: ["y"], attributes: { axis: 1, block_size: c.bn } },
    { op: "Cast", inputs: ["y"], outputs: ["y_bf16"], attributes: { to: OnnxType.BFLOAT16 } },
    { op: "Cast", inputs: ["y_bf16"], outputs: ["z"], attributes: { to: OnnxType.FLOAT } },
  );
  const graph: OnnxGraph = { nodes, inputs: [], outputs: [{ name: "z", type: OnnxType.FLOAT, shape: [c.m, c.n] }], initializers };
  const out = await runGraph(graph, {});
  const z = out.z!.data as Float32Array;
  const bits = new Uint32Array(z.buffer, z.byteOffset, z.length);
  const result = new Int32Array(z.length);
  for (let i = 0; i < z.length; i++) result[i] = Number.isNaN(z[i]!) ? -1 : bits[i]! >>> 16;
  return result;
}
