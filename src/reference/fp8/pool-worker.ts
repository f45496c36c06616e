// A dequantization worker thread (pool.ts): it rebuilds the kernel it is sent and runs it over
// its rows, writing into the shared output. The kernel is the very Fp8Dequantizer of the
// single-thread path, so every thread count gives the same bits.

import { parentPort } from "node:worker_threads";
import { Fp8Dequantizer } from "./kernel.js";
import type { WorkerReply, WorkerTask } from "./pool.js";

const port = parentPort;
if (port === null) throw new Error("pool-worker.ts runs as a worker thread of the FP8 dequantization pool");
port.on("message", (t: WorkerTask) => {
  let reply: WorkerReply;
  try {
    new Fp8Dequantizer(t.weight, t.strategy).run(t.src, t.start, t.out);
    reply = { id: t.id };
  } catch (e) {
    reply = { id: t.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
