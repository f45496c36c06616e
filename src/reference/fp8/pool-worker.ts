// A dequantization worker thread (pool.ts): it takes tasks from the pool's queue in shared memory
// (work-queue.ts) and runs, for each, the very Fp8Dequantizer of the single-thread path over its
// range, in place in the kernel memory, so every thread count gives the same bits. It posts a
// message only when a kernel throws; its WebAssembly instance works in the kernel memory of the
// thread that started it.

import { parentPort, workerData } from "node:worker_threads";
import { Fp8Dequantizer } from "./kernel.js";
import { WORKER_IDLE_WAIT_MS, type WorkerError, type WorkerStart } from "./pool.js";
import { adoptKernelMemory } from "./wasm-kernel.js";
import { WorkQueue } from "./work-queue.js";

const port = parentPort;
if (port === null) throw new Error("pool-worker.ts runs as a worker thread of the FP8 dequantization pool");
const { memory, queue: control, scratch } = workerData as WorkerStart;
adoptKernelMemory(memory);
const queue = new WorkQueue(control);

while (!queue.stopping()) {
  const task = queue.take(WORKER_IDLE_WAIT_MS);
  if (task === undefined) continue;
  const run = queue.run(task.run);
  let failed = false;
  try {
    const bytes = memory.buffer;
    const scales = queue.scalesOf(run, bytes);
    const kernel = new Fp8Dequantizer({ dtype: run.dtype, rows: run.rows, cols: run.cols, block: run.block, scales }, run.strategy);
    const src = new Uint8Array(bytes, run.srcAt + task.offset, task.count);
    const out = new Uint16Array(bytes, run.outAt + 2 * task.offset, task.count);
    kernel.run(src, run.start + task.offset, out, { scratch, srcInMemory: true, outInMemory: true });
  } catch (e) {
    failed = true;
    const message: WorkerError = { run: task.run, id: run.id, error: e instanceof Error ? e.message : String(e) };
    port.postMessage(message);
  }
  queue.finish(task.run, failed);
}
