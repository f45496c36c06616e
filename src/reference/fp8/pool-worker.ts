// A dequantization worker thread (pool.ts): it takes tasks from the pool's queue in shared memory
// (work-queue.ts) and runs, for each, the very Fp8Dequantizer of the single-thread path over its
// range, in place in the kernel memory, so every thread count gives the same bits. It posts a
// message only when a kernel throws; its WebAssembly instance works in the kernel memory of the
// thread that started it.

import { parentPort, workerData } from "node:worker_threads";
import { WORKER_IDLE_WAIT_MS, type WorkerError, type WorkerStart } from "./pool.js";
import { adoptKernelMemory } from "./wasm-kernel.js";
import { WorkQueue, runTask } from "./work-queue.js";

const port = parentPort;
if (port === null) throw new Error("pool-worker.ts runs as a worker thread of the FP8 dequantization pool");
const { memory, queue: control, scratch } = workerData as WorkerStart;
adoptKernelMemory(memory);
const queue = new WorkQueue(control);

while (!queue.stopping()) {
  const task = queue.take(WORKER_IDLE_WAIT_MS);
  if (task === undefined) continue;
  const error = runTask(queue, task, memory.buffer, scratch);
  if (error !== undefined) {
    const message: WorkerError = { run: task.run, id: queue.run(task.run).id, error };
    port.postMessage(message);
  }
  queue.finish(task.run, error !== undefined);
}
