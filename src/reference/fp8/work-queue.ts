// The FP8 pool's work queue, in shared memory: the main thread publishes runs (one dequantization
// of a range of a tensor, cut into tasks) and the workers take tasks from a ring, so no message
// passes per task. A message round trip cost about 40 µs of both threads' time in this VM, a
// third of a task with the WebAssembly kernel; with the queue a worker goes from one task to the
// next without the main thread, and the main thread waits on one counter of finished runs
// (Atomics.waitAsync), woken at most once per run. See docs/fp8-performance.md for the measurements.
//
// Layout (Int32Array over a SharedArrayBuffer):
//   [HEAD] next task to take (workers, compare-and-swap)   [TAIL] next free task slot (main)
//   [STOP] 1 when the workers must end                      [FINISHED] runs finished, ever
//   [SLEEPERS] workers in Atomics.wait: the main thread notifies only when one is (a notify is
//          a system call; with every worker busy, publishing is then a few stores)
//   ring:  QUEUE_TASKS x [run, offset, count]   elements [offset, offset + count) of the run
//   runs:  QUEUE_RUNS x [remaining tasks, failed, dtype, rows, cols, bm, bn, strategy,
//          scales at, scale count, src at, out at, start, id]   (byte offsets in the kernel memory;
//          scales at -1 - k: the grid is inline, at float k of the scales area)
//   scales: QUEUE_RUNS x INLINE_SCALES float32s, a run's grid when it is that small (most are:
//          a 7168 x 2048 weight in 128 x 128 blocks has 896), so that no kernel-memory block
//          is taken and given back per run
// Counters wrap as int32; slots are taken modulo the ring. A worker reads a task's slot before
// it claims it, and the main thread never writes a slot more than QUEUE_TASKS - 1 ahead of HEAD,
// so a claimed slot cannot have been overwritten.

import type { Fp8WeightDType } from "./formats.js";
import { Fp8Dequantizer, type KernelStrategy } from "./kernel.js";

export const QUEUE_TASKS = 4096;
export const QUEUE_RUNS = 1024;

const HEAD = 0;
const TAIL = 1;
const STOP = 2;
const FINISHED = 3;
const SLEEPERS = 4;
const RING = 5;
const TASK_INTS = 3;
const RUNS = RING + QUEUE_TASKS * TASK_INTS;
const RUN_INTS = 14;
const REMAINING = 0;
const FAILED = 1;
/** Float32 scales held inline per run slot. */
export const INLINE_SCALES = 1024;
const SCALES = RUNS + QUEUE_RUNS * RUN_INTS;

const DTYPES: readonly Fp8WeightDType[] = ["F8_E4M3", "F8_E5M2"];
const STRATEGIES: readonly KernelStrategy[] = ["auto", "wasm", "table", "direct"];

/** One run: where its weight's parameters, scales and buffers are (byte offsets in the kernel memory). */
export interface RunSpec {
  readonly dtype: Fp8WeightDType;
  readonly rows: number;
  readonly cols: number;
  readonly block: readonly [number, number];
  readonly strategy: KernelStrategy;
  /** Float32 scale grid at this byte offset in the kernel memory, `scaleCount` values; -1 - k: inline, from float k of the queue's scales area. */
  readonly scalesAt: number;
  readonly scaleCount: number;
  /** The run's FP8 bytes and BF16 output; element k of the run is element start + k of the weight. */
  readonly srcAt: number;
  readonly outAt: number;
  readonly start: number;
  /** Which run this is (slots are reused): a failing task's message names it. */
  readonly id: number;
}

export interface Task {
  readonly run: number;
  readonly offset: number;
  readonly count: number;
}

/** What Node 20 has and TypeScript's ES2022 library does not declare. */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, index: number, value: number): { async: boolean; value: unknown } }).waitAsync;

export class WorkQueue {
  readonly control: Int32Array;

  /** The inline scales area, float32 over the same buffer. */
  readonly scales: Float32Array;

  constructor(buffer = new SharedArrayBuffer(4 * (SCALES + QUEUE_RUNS * INLINE_SCALES))) {
    this.control = new Int32Array(buffer);
    this.scales = new Float32Array(buffer);
  }

  /** Copies `scales` inline into run slot `run`'s area and returns its `scalesAt`, or undefined when the grid is too large. */
  inlineScales(run: number, scales: Float32Array): number | undefined {
    if (scales.length > INLINE_SCALES) return undefined;
    const at = SCALES + run * INLINE_SCALES;
    this.scales.set(scales, at);
    return -1 - at;
  }

  // ---- the main thread ----

  /** Tasks published and not yet taken. */
  waiting(): number {
    return (Atomics.load(this.control, TAIL) - Atomics.load(this.control, HEAD)) | 0;
  }

  /** Task slots free in the ring. */
  freeTasks(): number {
    return QUEUE_TASKS - 1 - this.waiting();
  }

  /** Publishes run slot `run` (unused) as the tasks between consecutive `cuts` (element offsets in the run). */
  publish(run: number, spec: RunSpec, cuts: readonly number[]): void {
    const c = this.control;
    const r = RUNS + run * RUN_INTS;
    c.set(
      [
        cuts.length - 1,
        0,
        DTYPES.indexOf(spec.dtype),
        spec.rows,
        spec.cols,
        spec.block[0],
        spec.block[1],
        STRATEGIES.indexOf(spec.strategy),
        spec.scalesAt,
        spec.scaleCount,
        spec.srcAt,
        spec.outAt,
        spec.start,
        spec.id,
      ],
      r,
    );
    let tail = Atomics.load(c, TAIL);
    for (let p = 0; p + 1 < cuts.length; p++) {
      c.set([run, cuts[p]!, cuts[p + 1]! - cuts[p]!], RING + slot(tail) * TASK_INTS);
      tail = (tail + 1) | 0;
    }
    // Sequentially consistent: a worker that sees the new TAIL sees the slots written before it.
    Atomics.store(c, TAIL, tail);
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, TAIL);
  }

  /** Tasks of `run` not finished yet. */
  remaining(run: number): number {
    return Atomics.load(this.control, RUNS + run * RUN_INTS + REMAINING);
  }

  /** The count of runs finished, ever (it wraps). */
  finishedRuns(): number {
    return Atomics.load(this.control, FINISHED);
  }

  /** Resolves once the count of finished runs is no longer `seen`. */
  async nextFinished(seen: number): Promise<void> {
    const w = waitAsync(this.control, FINISHED, seen);
    if (w.async) await w.value;
  }

  failed(run: number): boolean {
    return Atomics.load(this.control, RUNS + run * RUN_INTS + FAILED) !== 0;
  }

  /** Tells the workers to end (they see it within their wait's timeout). */
  stop(): void {
    Atomics.store(this.control, STOP, 1);
    Atomics.notify(this.control, TAIL);
  }

  /**
   * Forgets every task and run, for workers started afresh (call with no worker running), and
   * wakes whoever waits for a finished run. The inline scales are left: each publish writes its
   * own (zeroing their 4 MiB took 10 ms, a twentieth of a small checkpoint's whole dequantization).
   */
  reset(): void {
    this.control.fill(0, 0, SCALES);
    // The pool's watcher may wait on FINISHED (nextFinished): it must look again, not wait for a
    // count that will never move.
    Atomics.notify(this.control, FINISHED);
  }

  // ---- a worker ----

  /** The next task, or undefined when there was none for `timeoutMs` (0: none now) or the queue is stopping. */
  take(timeoutMs: number): Task | undefined {
    const c = this.control;
    for (;;) {
      if (Atomics.load(c, STOP) !== 0) return undefined;
      const head = Atomics.load(c, HEAD);
      const tail = Atomics.load(c, TAIL);
      if (head === tail) {
        if (timeoutMs === 0) return undefined;
        // Counted before the wait checks TAIL, all sequentially consistent: either the main
        // thread's publish sees this sleeper and notifies, or this wait sees the new TAIL.
        Atomics.add(c, SLEEPERS, 1);
        const woke = Atomics.wait(c, TAIL, tail, timeoutMs);
        Atomics.sub(c, SLEEPERS, 1);
        if (woke === "timed-out") return undefined;
        continue;
      }
      const at = RING + slot(head) * TASK_INTS;
      const task = { run: c[at]!, offset: c[at + 1]!, count: c[at + 2]! };
      if (Atomics.compareExchange(c, HEAD, head, (head + 1) | 0) === head) return task;
    }
  }

  stopping(): boolean {
    return Atomics.load(this.control, STOP) !== 0;
  }

  run(run: number): RunSpec {
    const c = this.control;
    const r = RUNS + run * RUN_INTS;
    return {
      dtype: DTYPES[c[r + 2]!]!,
      rows: c[r + 3]!,
      cols: c[r + 4]!,
      block: [c[r + 5]!, c[r + 6]!],
      strategy: STRATEGIES[c[r + 7]!]!,
      scalesAt: c[r + 8]!,
      scaleCount: c[r + 9]!,
      srcAt: c[r + 10]!,
      outAt: c[r + 11]!,
      start: c[r + 12]!,
      id: c[r + 13]!,
    };
  }

  /** The run's scale grid, from the kernel memory (`memory`) or inline. */
  scalesOf(spec: RunSpec, memory: SharedArrayBuffer): Float32Array {
    return spec.scalesAt < 0
      ? this.scales.subarray(-1 - spec.scalesAt, -1 - spec.scalesAt + spec.scaleCount)
      : new Float32Array(memory, spec.scalesAt, spec.scaleCount);
  }

  /** Marks one task of `run` done (failed or not); the last one counts the run finished and wakes the main thread. */
  finish(run: number, failed: boolean): void {
    const r = RUNS + run * RUN_INTS;
    if (failed) Atomics.store(this.control, r + FAILED, 1);
    if (Atomics.sub(this.control, r + REMAINING, 1) === 1) {
      Atomics.add(this.control, FINISHED, 1);
      Atomics.notify(this.control, FINISHED);
    }
  }
}

/**
 * Runs one task in the calling thread (a worker, or the main thread helping), in place in the
 * kernel memory `memory`, with that thread's `scratch`; the kernel's error message when it throws.
 */
export function runTask(queue: WorkQueue, task: Task, memory: SharedArrayBuffer, scratch: number): string | undefined {
  const run = queue.run(task.run);
  try {
    const kernel = new Fp8Dequantizer(
      { dtype: run.dtype, rows: run.rows, cols: run.cols, block: run.block, scales: queue.scalesOf(run, memory) },
      run.strategy,
    );
    const src = new Uint8Array(memory, run.srcAt + task.offset, task.count);
    const out = new Uint16Array(memory, run.outAt + 2 * task.offset, task.count);
    kernel.run(src, run.start + task.offset, out, { scratch, srcInMemory: true, outInMemory: true });
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const slot = (counter: number): number => ((counter % QUEUE_TASKS) + QUEUE_TASKS) % QUEUE_TASKS;
