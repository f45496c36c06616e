// Choosing an engine by name (the CLI's --engine, benchmarks): typed arrays share one stateless
// instance; every ONNX engine owns its sessions and must be closed.

import { type BackendName, type TensorBackend } from "./backend.js";
import { createOnnxBackend } from "./onnx-backend.js";
import { typedBackend } from "./typed-backend.js";

export function createBackend(name: BackendName): TensorBackend {
  return name === "onnx" ? createOnnxBackend() : typedBackend;
}
