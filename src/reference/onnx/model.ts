// Building small ONNX models (one graph of a few nodes) as bytes, from a plain description. Field
// numbers are those of onnx.proto; only what the harness's graphs use is covered.

import { ProtoWriter } from "./protobuf.js";

/** ONNX TensorProto.DataType values. */
export const OnnxType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  /** OCP MX scale type; Cast needs opset 24. */
  FLOAT8E8M0: 24,
} as const;
export type OnnxType = (typeof OnnxType)[keyof typeof OnnxType];

export type AttributeValue = number | bigint | string | readonly number[] | { readonly float: number };

export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface OnnxValue {
  readonly name: string;
  readonly type: OnnxType;
  /** Dimensions; a string names a symbolic (dynamic) dimension. */
  readonly shape: readonly (number | string)[];
}

export interface OnnxInitializer {
  readonly name: string;
  readonly type: OnnxType;
  readonly dims: readonly number[];
  /** Little-endian element bytes (`raw_data`). */
  readonly raw: Uint8Array;
}

export interface OnnxGraph {
  readonly nodes: readonly OnnxNode[];
  readonly inputs: readonly OnnxValue[];
  readonly outputs: readonly OnnxValue[];
  readonly initializers?: readonly OnnxInitializer[];
  /** Default opset 21 (float8 Cast and blocked DequantizeLinear). */
  readonly opset?: number;
}

// IR version 10 goes with opset 21.
const IR_VERSION = 10;

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

function attribute(w: ProtoWriter, name: string, value: AttributeValue): void {
  w.string(1, name);
  if (typeof value === "string") w.bytes(4, new TextEncoder().encode(value)).int(20, ATTR_STRING);
  else if (typeof value === "number" || typeof value === "bigint") w.int(3, value).int(20, ATTR_INT);
  else if ("float" in value) w.float(2, value.float).int(20, ATTR_FLOAT);
  else {
    for (const v of value) w.int(8, v);
    w.int(20, ATTR_INTS);
  }
}

function valueInfo(w: ProtoWriter, v: OnnxValue): void {
  w.string(1, v.name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.int(1, v.type).message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === "string" ? dim.string(2, d) : dim.int(1, d)));
      }),
    ),
  );
}

export function buildModel(graph: OnnxGraph): Uint8Array {
  return new ProtoWriter()
    .int(1, IR_VERSION)
    .string(2, "moe-prefuse")
    .message(7, (g) => {
      for (const [i, n] of graph.nodes.entries()) {
        g.message(1, (node) => {
          for (const x of n.inputs) node.string(1, x);
          for (const y of n.outputs) node.string(2, y);
          node.string(3, `n${i}`).string(4, n.op);
          for (const [k, v] of Object.entries(n.attributes ?? {})) node.message(5, (a) => attribute(a, k, v));
        });
      }
      g.string(2, "graph");
      for (const t of graph.initializers ?? []) {
        g.message(5, (tp) => {
          for (const d of t.dims) tp.int(1, d);
          tp.int(2, t.type).string(8, t.name).bytes(9, t.raw);
        });
      }
      for (const v of graph.inputs) g.message(11, (x) => valueInfo(x, v));
      for (const v of graph.outputs) g.message(12, (x) => valueInfo(x, v));
    })
    .message(8, (o) => o.string(1, "").int(2, graph.opset ?? 21))
    .finish();
}
