// Running a built ONNX graph on onnxruntime-node's CPU provider: the harness's independent
// engine. ORT's JS API has no bf16 or float8 tensor types, so graphs take and return types it
// does have (uint8/uint16/float32...) and convert inside the graph.

import * as ort from "onnxruntime-node";
import { type OnnxGraph, buildModel } from "./model.js";

export type OrtTensor = ort.Tensor;
export type OrtFeeds = Record<string, ort.Tensor>;

export async function createSession(graph: OnnxGraph): Promise<ort.InferenceSession> {
  // Severity 3 (errors only): ORT otherwise prints coloured warnings on stderr.
  return ort.InferenceSession.create(buildModel(graph), { logSeverityLevel: 3, executionProviders: ["cpu"] });
}

/** Builds, runs once and releases a graph; returns its outputs by name. */
export async function runGraph(graph: OnnxGraph, feeds: OrtFeeds): Promise<Record<string, ort.Tensor>> {
  const session = await createSession(graph);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export function ortTensor<T extends ort.Tensor.Type>(type: T, data: ort.Tensor.DataTypeMap[T], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor(type, data, dims);
}
