// The independent engine: the same tensor ops as onnxruntime-node graphs (Concat, Split,
// Transpose) on the CPU provider. ORT's JS API has no bf16 or float8 types, so bytes travel as
// unsigned integers of the element's width (uint8/16/32/64); an element of another width
// becomes a trailing uint8 axis, and sub-byte dtypes move as flat bytes along the leading axis.
// Graphs use symbolic dims and canonical ranks (a concat or split is seen as [outer, axis,
// inner]; a transpose with its adjacent axes merged), so a handful of sessions serve every shape.

import type * as ort from "onnxruntime-node";
import { type OnnxGraph, type OnnxNode, OnnxType } from "../onnx/model.js";
import { createSession, ortTensor } from "../onnx/session.js";
import type { Tensor, TensorSpec } from "../tensor.js";
import type { TensorBackend } from "./backend.js";
import { checkByteAligned, concatGeometry, elementBytes, resultBuffer, splitGeometry, stackSpec, transposeSpec } from "./geometry.js";

type UnitType = "uint8" | "uint16" | "uint32" | "uint64";
const UNIT_TYPES: Readonly<Record<number, UnitType>> = { 1: "uint8", 2: "uint16", 4: "uint32", 8: "uint64" };
const ONNX_TYPES: Readonly<Record<UnitType, OnnxType>> = {
  uint8: OnnxType.UINT8,
  uint16: OnnxType.UINT16,
  uint32: OnnxType.UINT32,
  uint64: OnnxType.UINT64,
};

/** How a tensor's bytes are seen by ORT: element type and dims (maybe with a trailing byte axis). */
interface Units {
  readonly type: UnitType;
  readonly dims: readonly number[];
}

function unitsOf(spec: TensorSpec, flat: boolean, bytes: number): Units {
  const w = elementBytes(spec);
  if (flat || w === undefined) return { type: "uint8", dims: [bytes] };
  const type = UNIT_TYPES[w];
  return type === undefined ? { type: "uint8", dims: [...spec.shape, w] } : { type, dims: spec.shape };
}

function feed(data: Uint8Array, u: Units): ort.Tensor {
  const width = u.type === "uint8" ? 1 : u.type === "uint16" ? 2 : u.type === "uint32" ? 4 : 8;
  // Typed-array views need aligned offsets; copy the rare unaligned input.
  const bytes = data.byteOffset % width === 0 ? data : data.slice();
  const n = bytes.length / width;
  switch (u.type) {
    case "uint8":
      return ortTensor("uint8", bytes, u.dims);
    case "uint16":
      return ortTensor("uint16", new Uint16Array(bytes.buffer, bytes.byteOffset, n), u.dims);
    case "uint32":
      return ortTensor("uint32", new Uint32Array(bytes.buffer, bytes.byteOffset, n), u.dims);
    case "uint64":
      return ortTensor("uint64", new BigUint64Array(bytes.buffer, bytes.byteOffset, n), u.dims);
  }
}

function bytesOf(t: ort.Tensor): Uint8Array {
  const d = t.data as ArrayBufferView;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Dims seen as [before axis, axis, after axis]. */
function around(dims: readonly number[], axis: number): number[] {
  const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
  return [prod(dims.slice(0, axis)), dims[axis]!, prod(dims.slice(axis + 1))];
}

/**
 * The same transpose on fewer axes: size-1 axes dropped, and axes that stay adjacent and in
 * order merged (so [1, 0] and [0, 2, 1] of any shape share a few canonical forms).
 */
function collapse(shape: readonly number[], perm: readonly number[]): { dims: number[]; perm: number[] } {
  const kept = perm.filter((a) => shape[a]! !== 1);
  const groups: number[][] = [];
  for (const a of kept) {
    const last = groups.at(-1);
    if (last !== undefined && last.at(-1)! + 1 === a) last.push(a);
    else groups.push([a]);
  }
  const inputOrder = [...groups].sort((x, y) => x[0]! - y[0]!);
  const dims = inputOrder.map((g) => g.reduce((n, a) => n * shape[a]!, 1));
  const p = groups.map((g) => inputOrder.indexOf(g));
  return dims.length === 0 ? { dims: [1], perm: [0] } : { dims, perm: p };
}

function symbolic(name: string, rank: number): string[] {
  return Array.from({ length: rank }, (_, i) => `${name}_d${i}`);
}

function graphOf(op: OnnxNode, inputs: { name: string; type: OnnxType; rank: number }[], outputs: { name: string; type: OnnxType; rank: number }[]): OnnxGraph {
  return {
    nodes: [op],
    inputs: inputs.map((v) => ({ name: v.name, type: v.type, shape: symbolic(v.name, v.rank) })),
    outputs: outputs.map((v) => ({ name: v.name, type: v.type, shape: symbolic(v.name, v.rank) })),
  };
}

export class OnnxBackend implements TensorBackend {
  readonly name = "onnx" as const;
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();

  private session(key: string, build: () => OnnxGraph): Promise<ort.InferenceSession> {
    let s = this.sessions.get(key);
    if (s === undefined) {
      s = createSession(build());
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Concat of parts seen as [outer, axis, inner] of one unit type, along axis 1. */
  private async runConcat(datas: readonly Uint8Array[], units: readonly Units[], axis: number, out: Uint8Array): Promise<void> {
    const type = units[0]!.type;
    const names = datas.map((_, k) => `x${k}`);
    const s = await this.session(`concat|${type}|${datas.length}`, () =>
      graphOf(
        { op: "Concat", inputs: names, outputs: ["y"], attributes: { axis: 1 } },
        names.map((name) => ({ name, type: ONNX_TYPES[type], rank: 3 })),
        [{ name: "y", type: ONNX_TYPES[type], rank: 3 }],
      ),
    );
    const r = await s.run(Object.fromEntries(names.map((n, k) => [n, feed(datas[k]!, { type, dims: around(units[k]!.dims, axis) })])));
    out.set(bytesOf(r.y!));
  }

  async stack(parts: readonly Tensor[], out?: Uint8Array): Promise<Tensor> {
    const spec = stackSpec(parts);
    const buf = resultBuffer(spec, out, "stack");
    // A stack is a concat of [1, ...shape] views along the new axis: contiguous blocks of bytes.
    const units = parts.map((p) => unitsOf(p, true, p.data.length));
    await this.runConcat(
      parts.map((p) => p.data),
      units,
      0,
      buf,
    );
    return { ...spec, data: buf };
  }

  async concat(parts: readonly Tensor[], axis: number, out?: Uint8Array): Promise<Tensor> {
    const g = concatGeometry(parts, axis);
    checkByteAligned(g.spec, g.outer, "concat");
    const buf = resultBuffer(g.spec, out, "concat");
    const flat = elementBytes(g.spec) === undefined;
    await this.runConcat(
      parts.map((p) => p.data),
      parts.map((p) => unitsOf(p, flat, p.data.length)),
      flat ? 0 : g.axis,
      buf,
    );
    return { ...g.spec, data: buf };
  }

  async split(t: Tensor, axis: number, sizes: readonly number[], outs?: readonly (Uint8Array | undefined)[]): Promise<Tensor[]> {
    const g = splitGeometry(t, axis, sizes);
    checkByteAligned(t, g.outer, "split");
    const flat = elementBytes(t) === undefined;
    const u = unitsOf(t, flat, t.data.length);
    const names = sizes.map((_, k) => `y${k}`);
    const s = await this.session(`split|${u.type}|${sizes.length}`, () =>
      graphOf(
        { op: "Split", inputs: ["x", "sizes"], outputs: names, attributes: { axis: 1 } },
        [
          { name: "x", type: ONNX_TYPES[u.type], rank: 3 },
          { name: "sizes", type: OnnxType.INT64, rank: 1 },
        ],
        names.map((name) => ({ name, type: ONNX_TYPES[u.type], rank: 3 })),
      ),
    );
    // Flat (sub-byte) splits are measured in bytes, otherwise in elements of the axis.
    const counts = flat ? g.partBytes : sizes;
    const x = feed(t.data, { type: u.type, dims: around(u.dims, flat ? 0 : g.axis) });
    const r = await s.run({ x, sizes: ortTensor("int64", BigInt64Array.from(counts, BigInt), [counts.length]) });
    return g.pieces.map((spec, k) => {
      const buf = resultBuffer(spec, outs?.[k], "split");
      buf.set(bytesOf(r[names[k]!]!));
      return { ...spec, data: buf };
    });
  }

  async transpose(t: Tensor, perm: readonly number[], out?: Uint8Array): Promise<Tensor> {
    const spec = transposeSpec(t, perm);
    const buf = resultBuffer(spec, out, "transpose");
    const u = unitsOf(t, false, t.data.length);
    // An element split into a trailing byte axis keeps that axis last.
    const { dims, perm: p } = collapse(u.dims, u.dims.length > perm.length ? [...perm, perm.length] : perm);
    const s = await this.session(`transpose|${u.type}|${p.join(",")}`, () =>
      graphOf(
        { op: "Transpose", inputs: ["x"], outputs: ["y"], attributes: { perm: p } },
        [{ name: "x", type: ONNX_TYPES[u.type], rank: p.length }],
        [{ name: "y", type: ONNX_TYPES[u.type], rank: p.length }],
      ),
    );
    const r = await s.run({ x: feed(t.data, { type: u.type, dims }) });
    buf.set(bytesOf(r.y!));
    return { ...spec, data: buf };
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s).release()));
  }
}

export function createOnnxBackend(): OnnxBackend {
  return new OnnxBackend();
}
