// Choosing an engine by name (the CLI's --engine, benchmarks): typed arrays share one stateless
// instance; every ONNX engine owns its sessions and must be closed. onnxruntime-node is loaded
// only when asked for, so commands that do not use it start without its native library.

import type { BackendName, TensorBackend } from "./backend.js";
import { typedBackend } from "./typed-backend.js";

export async function createBackend(name: BackendName): Promise<TensorBackend> {
  if (name === "typed") return typedBackend;
  const { createOnnxBackend } = await import("./onnx-backend.js");
  return createOnnxBackend();
}
