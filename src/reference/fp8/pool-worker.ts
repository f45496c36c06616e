// A dequantization worker thread (pool.ts): it rebuilds the kernel it is sent and runs it over
// its rows, writing into the shared output. The kernel is the very Fp8Dequantizer of the
// single-thread path, so every thread count gives the same bits; its WebAssembly instance works
// in the kernel memory of the thread that started this one.

import { parentPort, workerData } from "node:worker_threads";
import { Fp8Dequantizer } from "./kernel.js";
import type { WorkerReply, WorkerStart, WorkerTask } from "./pool.js";
import { adoptKernelMemory } from "./wasm-kernel.js";

const port = parentPort;
if (port === null) throw new Error("pool-worker.ts runs as a worker thread of the FP8 dequantization pool");
const start = workerData as WorkerStart;
if (start.memory !== undefined) adoptKernelMemory(start.memory);
port.on("message", (t: WorkerTask) => {
  let reply: WorkerReply;
  try {
    new Fp8Dequantizer(t.weight, t.strategy).run(t.src, t.start, t.out, t.placement);
    reply = { id: t.id };
  } catch (e) {
    reply = { id: t.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
