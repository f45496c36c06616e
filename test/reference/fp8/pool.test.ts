// The worker pool's edges: where it cuts a tensor, what a failing, dying or closed worker becomes
// (the project's typed one-line error), that one thread starts no worker, and that bad thread
// counts are refused.

import { describe, expect, it, vi } from "vitest";
import { UsageError } from "../../../src/reference/errors.js";
import { Fp8Error } from "../../../src/reference/fp8/errors.js";
import { Fp8Dequantizer } from "../../../src/reference/fp8/kernel.js";
import { DequantPool, splitRange } from "../../../src/reference/fp8/pool.js";
import { MAX_THREADS } from "../../../src/reference/fp8/threads.js";
import { WorkQueue } from "../../../src/reference/fp8/work-queue.js";

const kernel = (rows: number, cols: number) =>
  new Fp8Dequantizer({ dtype: "F8_E4M3", rows, cols, block: [4, 4], scales: new Float32Array(Math.ceil(rows / 4) * Math.ceil(cols / 4)).fill(1) });

describe("splitRange", () => {
  it("cuts at block rows when each part holds one, else at rows, else anywhere, covering the range once", () => {
    expect(splitRange(0, 64 * 10, 10, 4, 4)).toEqual([0, 160, 320, 480, 640]);
    expect(splitRange(0, 6 * 10, 10, 4, 3)).toEqual([0, 20, 40, 60]);
    expect(splitRange(3, 10, 10, 4, 3)).toEqual([3, 5, 8, 10]);
    // A range starting mid-row cuts at absolute block-row boundaries.
    expect(splitRange(15, 15 + 80 * 4, 4, 8, 2)).toEqual([15, 160, 335]);
  });
});

/** The pool still computes (on two threads: the main thread and one worker). */
async function goesOn(pool: DequantPool): Promise<void> {
  const out = new Uint16Array(64);
  await pool.run(kernel(8, 8), new Uint8Array(64).fill(0x38), 0, out);
  expect(out.every((x) => x === 0x3f80)).toBe(true);
  expect(pool.started).toBe(1);
}

/**
 * A run of 32 Mi elements on the direct path (tens of ms a task) on `pool`, once one of its
 * workers has started: the run, that worker, and the pool's insides the tests look at.
 */
async function slowRunOnAWorker(pool: DequantPool) {
  const inner = pool as unknown as { scratch: Uint8Array[]; workers: { worker: import("node:worker_threads").Worker }[] };
  const rows = 8192;
  const cols = 4096;
  const slow = new Fp8Dequantizer({ dtype: "F8_E4M3", rows, cols, block: [8192, 4096], scales: Float32Array.of(1) }, "direct");
  const run = pool.run(slow, new Uint8Array(rows * cols), 0, new Uint16Array(rows * cols));
  run.catch(() => undefined);
  const until = Date.now() + 20_000;
  while (pool.started === 0 && Date.now() < until) await Promise.resolve();
  expect(pool.started).toBe(1);
  return { run, worker: inner.workers[0]!.worker, inner };
}

describe("DequantPool", () => {
  it("keeps a run whole when tasks already wait, still starts workers for them, and gives the single-thread bytes", async () => {
    const publish = vi.spyOn(WorkQueue.prototype, "publish");
    // The default task size (2^16 elements): 98,304 elements make one task, 131,072 make two.
    const pool = new DequantPool(2);
    try {
      const make = (rows: number, seed: number) => {
        const cols = 256;
        const src = Uint8Array.from({ length: rows * cols }, (_, i) => (i * 37 + seed * 101) & 0x7e);
        const scales = Float32Array.from({ length: Math.ceil(rows / 128) * 2 }, (_, k) => 2 ** ((k % 9) - 4));
        const weight = { dtype: "F8_E4M3", rows, cols, block: [128, 128], scales } as const;
        const want = new Uint16Array(src.length);
        new Fp8Dequantizer(weight, "direct").run(src, 0, want);
        return { k: new Fp8Dequantizer(weight), src, want, out: new Uint16Array(src.length) };
      };
      const small = [make(384, 0), make(384, 1)];
      const first = small.map((r) => pool.run(r.k, r.src, 0, r.out));
      // Microtasks only: both are published, and nothing computes them yet (no worker; the main
      // thread computes after a turn of the event loop).
      for (let i = 0; i < 10; i++) await Promise.resolve();
      const large = Array.from({ length: 6 }, (_, r) => make(512, 2 + r));
      await Promise.all([...first, ...large.map((r) => pool.run(r.k, r.src, 0, r.out))]);
      // The whole runs started the worker the waiting tasks need.
      expect(pool.started).toBe(1);
      // With nothing waiting, runs are cut again.
      const later = [make(512, 8), make(512, 9)];
      await Promise.all(later.map((r) => pool.run(r.k, r.src, 0, r.out)));
      for (const r of [...small, ...large, ...later]) expect(Buffer.from(r.out.buffer).equals(Buffer.from(r.want.buffer))).toBe(true);
      const tasks = publish.mock.calls.map((c) => c[2].length - 1);
      expect(tasks).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 2, 2]);
    } finally {
      publish.mockRestore();
      await pool.close();
    }
  });

  it("runs one thread in-process, never starting a worker", async () => {
    const pool = new DequantPool(1, { minTaskElements: 1 });
    const out = new Uint16Array(64);
    await pool.run(kernel(8, 8), new Uint8Array(64).fill(0x38), 0, out);
    expect(out.every((x) => x === 0x3f80)).toBe(true);
    expect(pool.started).toBe(0);
    await pool.close();
  });

  it("turns a kernel error in a worker into a one-line Fp8Error WORKER_FAILED naming the file and tensor", async () => {
    const pool = new DequantPool(2, { minTaskElements: 1 });
    try {
      // A kernel whose scale grid a worker cannot use (built behind the constructor's check).
      const k = kernel(8, 8);
      const broken = Object.assign(Object.create(Fp8Dequantizer.prototype) as Fp8Dequantizer, {
        weight: { ...k.weight, scales: new Float32Array(1) },
        strategy: "auto",
      });
      const run = pool.run(broken, new Uint8Array(new SharedArrayBuffer(64)), 0, new Uint16Array(new SharedArrayBuffer(128)), {
        file: "ckpt",
        tensor: "w.weight",
      });
      await expect(run).rejects.toThrow(Fp8Error);
      await expect(run).rejects.toMatchObject({
        code: "WORKER_FAILED",
        message: "ckpt: tensor 'w.weight': dequantization worker thread failed: scale grid has 1 values, the block grid needs 4",
      });
      await goesOn(pool);
    } finally {
      await pool.close();
    }
    await expect(pool.run(kernel(8, 8), new Uint8Array(64), 0, new Uint16Array(64))).rejects.toMatchObject({
      code: "WORKER_FAILED",
      message: "dequantization worker thread failed: the pool is closed",
    });
  });

  it("fails the runs in flight with WORKER_FAILED when a worker dies, and goes on with new workers", async () => {
    const pool = new DequantPool(2, { minTaskElements: 1 });
    try {
      // The direct path over 2 x 16 Mi elements takes tens of ms per task: the main thread computes
      // its half, and the worker, still starting or mid-task, is killed before it is done.
      const rows = 8192;
      const cols = 4096;
      const slow = new Fp8Dequantizer({ dtype: "F8_E4M3", rows, cols, block: [8192, 4096], scales: Float32Array.of(1) }, "direct");
      const queue = (pool as unknown as { queue: { waiting(): number } }).queue;
      const run = pool.run(slow, new Uint8Array(rows * cols), 0, new Uint16Array(rows * cols), { file: "ckpt", tensor: "w.weight" });
      run.catch(() => undefined);
      // The run is published within microtasks (its slot, its 32 MiB staged into the kernel
      // memory), and the main thread takes a task only from its event loop's check phase: while
      // this loop spins on microtasks, a task leaves the queue only for the worker. Once it has
      // one, it is killed mid-task (a task takes tens of ms), however slowly it started.
      const until = Date.now() + 20_000;
      while (!(pool.started === 1 && queue.waiting() === 1) && Date.now() < until) await Promise.resolve();
      expect(queue.waiting()).toBe(1);
      const workers = (pool as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers;
      await workers[0]!.worker.terminate();
      await expect(run).rejects.toMatchObject({
        code: "WORKER_FAILED",
        message: expect.stringMatching(/^ckpt: tensor 'w.weight': dequantization worker thread failed: exited with code/),
      });
      expect(pool.started).toBe(0);
      // A one-task run right after starts no worker: the main thread must take it, even if its
      // watcher was waiting for the dead worker's task (work-queue.test.ts pins the wake-up).
      const one = new Uint16Array(1);
      await pool.run(kernel(1, 1), Uint8Array.of(0x38), 0, one);
      expect(one[0]).toBe(0x3f80);
      await goesOn(pool);
    } finally {
      await pool.close();
    }
  });

  it("gives every worker's scratch back by the time close() resolves, also when a worker's stop is under way", async () => {
    const pool = new DequantPool(2, { minTaskElements: 1 });
    const { run, worker, inner } = await slowRunOnAWorker(pool);
    // A worker error (what worker_threads emits for an exception in the thread) stops every
    // worker, which takes a while; the caller closes the pool meanwhile.
    worker.emit("error", new Error("boom"));
    const closing = pool.close();
    await run.catch(() => undefined);
    await closing;
    // close() waited for that stop: the worker has ended (a thread that exited has id -1), and
    // its block came back before close() gave the pool's blocks to the kernel memory.
    expect(worker.threadId).toBe(-1);
    expect(inner.scratch).toEqual([]);
  });

  it("starts no worker after close(), not even for a run begun just before it", async () => {
    const pool = new DequantPool(4, { minTaskElements: 1 });
    const inner = pool as unknown as { workers: unknown[] };
    // run() checks that the pool is open, then waits a microtask for a run slot before it starts
    // workers: close() in that window must leave nothing running.
    const run = pool.run(kernel(64, 64), new Uint8Array(64 * 64), 0, new Uint16Array(64 * 64));
    run.catch(() => undefined);
    await pool.close();
    await run.catch(() => undefined);
    const left = inner.workers.length;
    await pool.close();
    expect(left, "workers running after close() resolved").toBe(0);
  });

  it("holds no more scratch than its threads need when a run comes while its workers stop", async () => {
    const pool = new DequantPool(2, { minTaskElements: 1 });
    try {
      const { run: first, worker, inner } = await slowRunOnAWorker(pool);
      // A worker's error stops every worker (a while); a run arriving meanwhile must not start
      // another with a fresh block while the stopping one's is not back yet.
      worker.emit("error", new Error("boom"));
      const second = pool.run(kernel(64, 64), new Uint8Array(64 * 64), 0, new Uint16Array(64 * 64));
      second.catch(() => undefined);
      await Promise.allSettled([first, second]);
      expect(inner.scratch.length + inner.workers.length, "blocks for its one worker").toBeLessThanOrEqual(1);
    } finally {
      await pool.close();
    }
  });

  it("refuses thread counts outside 1..MAX_THREADS", () => {
    for (const bad of [0, -1, 1.5, MAX_THREADS + 1, Number.NaN]) expect(() => new DequantPool(bad)).toThrow(UsageError);
  });
});
