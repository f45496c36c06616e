// Splitting fused experts with onnxruntime-node, an engine that shares no code with the
// reference's tensor ops: `mx.split(gate_up, 2, axis=-2)` as an ONNX Split (num_outputs 2), and
// for layouts stored transposed the split along the last axis followed by Transpose(0, 2, 1),
// as mlx-vlm's sanitize does. Elements travel as unsigned integers of their width (ORT's JS API
// has no bf16), which moves the bytes unchanged.

import type * as ort from "onnxruntime-node";
import { dtypeBits } from "../../src/reference/dtypes.js";
import { type OnnxNode, OnnxType } from "../../src/reference/onnx/model.js";
import { createSession, ortTensor } from "../../src/reference/onnx/session.js";
import type { Tensor } from "../../src/reference/tensor.js";

type Unit = "uint8" | "uint16" | "uint32";
const ONNX_UNIT: Readonly<Record<Unit, OnnxType>> = { uint8: OnnxType.UINT8, uint16: OnnxType.UINT16, uint32: OnnxType.UINT32 };

function unitOf(t: Tensor): Unit {
  const bits = dtypeBits(t.dtype);
  if (bits === 8) return "uint8";
  if (bits === 16) return "uint16";
  if (bits === 32) return "uint32";
  throw new Error(`ort-split: ${t.dtype} is not an 8, 16 or 32-bit type`);
}

function feed(t: Tensor, unit: Unit): ort.Tensor {
  const data = t.data.slice(); // aligned, and ORT never sees our buffers
  const view = unit === "uint8" ? data : unit === "uint16" ? new Uint16Array(data.buffer) : new Uint32Array(data.buffer);
  return ortTensor(unit, view, t.shape);
}

function bytesOf(t: ort.Tensor): Uint8Array {
  const d = t.data as ArrayBufferView;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
}

const dims = (name: string) => [`${name}0`, `${name}1`, `${name}2`];

export class OrtSplit {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();

  private session(key: string, nodes: OnnxNode[], unit: Unit, outputs: string[]): Promise<ort.InferenceSession> {
    let s = this.sessions.get(key);
    if (s === undefined) {
      const type = ONNX_UNIT[unit];
      s = createSession({
        nodes,
        inputs: [{ name: "x", type, shape: dims("x") }],
        outputs: outputs.map((name) => ({ name, type, shape: dims(name) })),
      });
      this.sessions.set(key, s);
    }
    return s;
  }

  /**
   * The gate and up halves of a fused gate_up as `[E, I, H]` each: rows `[E, 2I, H]` split along
   * axis -2; columns `[E, H, 2I]` split along the last axis, each half transposed (0, 2, 1).
   */
  async halves(gateUp: Tensor, columns: boolean): Promise<[Tensor, Tensor]> {
    const unit = unitOf(gateUp);
    const split: OnnxNode = {
      op: "Split",
      inputs: ["x"],
      outputs: columns ? ["s0", "s1"] : ["y0", "y1"],
      attributes: { axis: columns ? 2 : 1, num_outputs: 2 },
    };
    const nodes = columns
      ? [split, ...[0, 1].map((k): OnnxNode => ({ op: "Transpose", inputs: [`s${k}`], outputs: [`y${k}`], attributes: { perm: [0, 2, 1] } }))]
      : [split];
    const s = await this.session(`halves|${unit}|${columns}`, nodes, unit, ["y0", "y1"]);
    const r = await s.run({ x: feed(gateUp, unit) });
    const [E, a, b] = gateUp.shape as [number, number, number];
    const shape = columns ? [E, b / 2, a] : [E, a / 2, b];
    const half = (k: number): Tensor => ({ dtype: gateUp.dtype, shape, data: bytesOf(r[`y${k}`]!) });
    return [half(0), half(1)];
  }

  /** transpose(0, 2, 1) of a 3-D tensor. */
  async swapLast(t: Tensor): Promise<Tensor> {
    const unit = unitOf(t);
    const s = await this.session(`transpose|${unit}`, [{ op: "Transpose", inputs: ["x"], outputs: ["y"], attributes: { perm: [0, 2, 1] } }], unit, ["y"]);
    const r = await s.run({ x: feed(t, unit) });
    const [E, a, b] = t.shape as [number, number, number];
    return { dtype: t.dtype, shape: [E, b, a], data: bytesOf(r.y!) };
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s).release()));
  }
}
