// FP8 dequantization on every core: a pool of worker threads, each running the one kernel
// (kernel.ts, rebuilt in the worker from the same weight and strategy) over a range of rows of
// a tensor, reading and writing the kernel memory (arena.ts) in place. Each output element
// depends only on its byte and its block's scale, so how the rows are cut among threads never
// changes a bit.
//
// Work goes through a queue in shared memory (work-queue.ts): a run (one `run` call) is cut into
// tasks that the workers take as they come free; no message passes per task, and the main thread
// is woken once per run. The main thread takes tasks too, whenever its event loop has nothing
// else to do. A worker posts a message only when its kernel throws.
//
// Lifetime: workers start lazily, on the first work large enough to need them, at most
// `threads` of them; they are ref'd only while runs are pending, so an idle pool never keeps the
// process alive, and `close()` ends them. Their scratch blocks in the kernel memory are taken
// when the pool is made, before the buffers of any run it serves, and given back by `close()`:
// taken when a worker starts, mid-run, a block kept for the pool's life would sit above the
// run's buffers and hold the memory's top up (arena.ts). The default pool's come from the
// memory's reserve; a pool takes one a core (at most SCRATCH_UP_FRONT) at once and the rest as
// its workers start, above the buffers of the run then going, until it closes (`--threads 256`
// on two cores would otherwise grow the memory by 510 MiB at once, which a data-segment limit
// refuses). One thread (`threads: 1`) never starts a worker: the
// kernel runs in-process, deferred to the event loop's check phase so that I/O issued before it
// proceeds while it computes. So does everything on a runtime without WebAssembly (no kernel
// memory to share).

import { Worker } from "node:worker_threads";
import type { ErrorLocation } from "../errors.js";
import { SCRATCH_UP_FRONT, kernelArena } from "./arena.js";
import { Fp8Error } from "./errors.js";
import type { Fp8Dequantizer } from "./kernel.js";
import type { SharedMemory } from "./wasm-api.js";
import { SCRATCH_BYTES, mainThreadScratch } from "./wasm-kernel.js";
import { checkThreads, defaultThreads } from "./threads.js";
import { QUEUE_RUNS, WorkQueue, runTask } from "./work-queue.js";

/** Only the default pool takes its scratch from the kernel memory's reserve (module-private: no other pool can ask). */
const RESERVED: unique symbol = Symbol("the default pool");

/**
 * Fewest elements worth giving to a worker: below this, waking a thread costs more than the rows
 * it would compute, and the range runs in-process.
 */
export const MIN_TASK_ELEMENTS = 1 << 16;

/** What a worker is started with: the kernel memory, the queue, and its own scratch there. */
export interface WorkerStart {
  readonly memory: SharedMemory;
  readonly queue: SharedArrayBuffer;
  readonly scratch: number;
}

/** What a worker posts: only the error of a task whose kernel threw. */
export interface WorkerError {
  /** The run's slot and id (a slot serves many runs). */
  readonly run: number;
  readonly id: number;
  readonly error: string;
}

/** How long an idle worker waits before looking again whether it must end. */
export const WORKER_IDLE_WAIT_MS = 200;

export interface DequantPoolOptions {
  /** Fewest elements per worker task (default MIN_TASK_ELEMENTS); tests lower it to reach the workers with small tensors. */
  readonly minTaskElements?: number;
}

interface Thread {
  readonly worker: Worker;
  /** Its kernel scratch in the kernel memory, the pool's again when the worker is gone. */
  readonly scratch: Uint8Array;
}

/** A run the workers are on, settled by the pool's watcher (or failed when a worker dies). */
interface Pending {
  readonly id: number;
  readonly resolve: () => void;
  /** Ends the run with WORKER_FAILED: `why` one line. */
  readonly fail: (why: string) => void;
  /** The message of a task whose kernel threw, once it has arrived. */
  error?: string;
  /** All its tasks are done and one failed: it waits for that task's message. */
  failedAwaitingMessage?: boolean;
}

const failure = (detail: string, where: ErrorLocation): Fp8Error => new Fp8Error("WORKER_FAILED", `dequantization worker thread failed: ${detail}`, where);

/**
 * The worker's entry. Built code runs dist/.../pool.js, whose sibling is pool-worker.js. Tests
 * and benchmarks run these .ts sources through tsx, whose `--import` hook does not reach worker
 * threads on Node 20: the worker then starts from a small module that registers tsx's hooks in
 * its own thread and imports pool-worker.ts.
 */
function workerEntry(): URL {
  const worker = new URL(import.meta.url.endsWith(".ts") ? "./pool-worker.ts" : "./pool-worker.js", import.meta.url);
  if (!worker.pathname.endsWith(".ts")) return worker;
  const bootstrap = `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register(); await import(${JSON.stringify(worker.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}

/**
 * Cuts elements [start, end) of a weight with `cols` columns and `bm`-row blocks into at most
 * `parts` near-equal ranges: at block-row boundaries when each range can hold a block row (so
 * no two threads build the same block's tables), else at row boundaries, else anywhere.
 */
export function splitRange(start: number, end: number, cols: number, bm: number, parts: number): number[] {
  const size = (end - start) / parts;
  const unit = bm * cols <= size ? bm * cols : cols <= size && cols > 0 ? cols : 1;
  const cuts = [start];
  for (let p = 1; p < parts; p++) {
    const c = Math.round((start + size * p) / unit) * unit;
    if (c > cuts[cuts.length - 1]! && c < end) cuts.push(c);
  }
  cuts.push(end);
  return cuts;
}

/** Resolves on the next turn of the event loop's check phase, after pending I/O callbacks. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs `f` on a later turn of the event loop (after pending I/O callbacks), as a promise. */
const deferred = (f: () => void): Promise<void> => nextTurn().then(f);

export class DequantPool {
  readonly threads: number;
  private readonly minTaskElements: number;
  private readonly workers: Thread[] = [];
  /** Scratch blocks for workers not running now, one per worker the pool may start. */
  private readonly scratch: Uint8Array[] = [];
  private readonly queue = new WorkQueue();
  /** Run slots of the queue not in use, and the runs in flight by slot. */
  private readonly freeRuns = Array.from({ length: QUEUE_RUNS }, (_, k) => QUEUE_RUNS - 1 - k);
  private readonly pending = new Map<number, Pending>();
  /** Callers waiting for a run slot or ring space. */
  private readonly waiting: (() => void)[] = [];
  private watching = false;
  private nextId = 0;
  private closed = false;
  /** Worker stops under way (a worker lost, or close()): close() waits for them, so every block is back when it resolves. */
  private readonly stopping = new Set<Promise<void>>();
  private readonly reserved: boolean;

  constructor(threads: number = defaultThreads(), options: DequantPoolOptions = {}, reserved?: typeof RESERVED) {
    this.threads = checkThreads(threads);
    this.minTaskElements = Math.max(1, options.minTaskElements ?? MIN_TASK_ELEMENTS);
    this.reserved = reserved === RESERVED;
    if (kernelArena().memory === undefined) return;
    // The main thread's scratch first, from the reserve: taken at its first task, mid-run, it
    // would sit above that run's buffers for the process's life.
    try {
      mainThreadScratch();
    } catch {
      // refused: the main thread finds out at its first task
    }
    // The main thread computes too (help), so one worker fewer.
    for (let k = 1; k < Math.min(this.threads, defaultThreads(), SCRATCH_UP_FRONT) && this.takeScratch(); k++);
  }

  /** A worker's scratch, for the workers not started yet; false when the kernel memory has no room for it. */
  private takeScratch(): boolean {
    try {
      this.scratch.push(kernelArena().takeScratch(SCRATCH_BYTES, this.reserved));
      return true;
    } catch {
      return false;
    }
  }

  /** Worker threads running now (they start lazily). */
  get started(): number {
    return this.workers.length;
  }

  /**
   * `kernel.run(src, start, out)`, its rows cut among the threads. Inputs and outputs outside
   * the kernel memory are staged through copies in it. Resolves when every element is written.
   */
  async run(kernel: Fp8Dequantizer, src: Uint8Array, start: number, out: Uint16Array, where: ErrorLocation = {}): Promise<void> {
    const len = src.length;
    const { rows, cols, block } = kernel.weight;
    const arena = kernelArena();
    // The queue holds element indices as int32: a weight past 2^31 elements runs in-process.
    const inProcess = this.threads === 1 || len < this.minTaskElements || arena.memory === undefined || rows * cols > 0x7fffffff;
    if (inProcess || out.length !== len || start < 0 || start + len > rows * cols) return deferred(() => kernel.run(src, start, out));
    if (this.closed) throw failure("the pool is closed", where);
    // Cut among the threads only when they lack work: with as many tasks already waiting as there
    // are threads, the run stays one task (one claim, one kernel set-up and one long stream per
    // thread: measured 3-5% faster with many runs in flight). Cut at the weight's block rows,
    // then counted from the range's first element.
    const parts = this.queue.waiting() >= this.threads ? 1 : Math.min(this.threads, Math.floor(len / this.minTaskElements));
    const cuts = splitRange(start, start + len, cols, block[0], parts).map((c) => c - start);
    const staged: Uint8Array[] = [];
    const inMemory = (view: Uint8Array, bytes: number): Uint8Array => {
      if (arena.offsetOf(view) !== undefined) return view;
      const b = arena.take(bytes);
      staged.push(b);
      return b;
    };
    try {
      const input = inMemory(src, len);
      if (input !== src) input.set(src);
      const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      const output = inMemory(outBytes, 2 * len);
      // Past the kernel memory's limit (buffers outside it), the range runs in-process.
      if (arena.offsetOf(input) === undefined || arena.offsetOf(output) === undefined) return await deferred(() => kernel.run(src, start, out));
      const slot = await this.slot(cuts.length - 1);
      try {
        const scales = kernel.weight.scales;
        let scalesAt = this.queue.inlineScales(slot, scales);
        if (scalesAt === undefined) {
          const b = arena.take(4 * scales.length);
          staged.push(b);
          if (arena.offsetOf(b) === undefined) return await deferred(() => kernel.run(src, start, out));
          new Float32Array(b.buffer, b.byteOffset, scales.length).set(scales);
          scalesAt = b.byteOffset;
        }
        this.nextId = (this.nextId + 1) | 0;
        const id = this.nextId;
        const done = new Promise<void>((resolve, reject) => {
          this.pending.set(slot, { id, resolve, fail: (why) => reject(failure(why, where)) });
        });
        this.queue.publish(
          slot,
          {
            dtype: kernel.weight.dtype,
            rows,
            cols,
            block,
            strategy: kernel.strategy,
            scalesAt,
            scaleCount: scales.length,
            srcAt: input.byteOffset,
            outAt: output.byteOffset,
            start,
            id,
          },
          cuts,
        );
        // Workers for the tasks waiting, not only this run's: runs kept whole would otherwise
        // never start one.
        this.ensureWorkers(Math.max(cuts.length - 1, this.queue.waiting()));
        this.watch();
        await done;
      } finally {
        this.pending.delete(slot);
        this.freeRuns.push(slot);
        this.refIfBusy();
        this.waiting.shift()?.();
      }
      if (output !== outBytes) out.set(new Uint16Array(output.buffer, output.byteOffset, len));
    } finally {
      for (const b of staged) arena.give(b);
    }
  }

  /** Ends every worker; runs in flight fail with WORKER_FAILED. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stopWorkers("the pool was closed");
    await Promise.all(this.stopping);
    for (const b of this.scratch.splice(0)) kernelArena().give(b);
  }

  /** A free run slot, with ring room for `tasks` more tasks (waiting for runs to end if needed). */
  private async slot(tasks: number): Promise<number> {
    while (this.freeRuns.length === 0 || this.queue.freeTasks() < tasks) {
      if (this.closed) throw failure("the pool is closed", {});
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    return this.freeRuns.pop()!;
  }

  /**
   * The main thread is one of the N threads: while runs are pending, its watcher takes tasks
   * from the queue, one per turn of the event loop, so N threads are N - 1 workers and this one,
   * and the main thread never waits on a core it could use. One task per turn, so that I/O
   * callbacks are not held back for long. Whether it took one.
   */
  private help(): boolean {
    // The scratch first: if it cannot be had, no task has been taken (and lost).
    const scratch = mainThreadScratch();
    const task = this.queue.take(0);
    if (task === undefined) return false;
    const error = runTask(this.queue, task, kernelArena().memory!.buffer, scratch);
    const p = this.pending.get(task.run);
    if (error !== undefined && p !== undefined && p.id === this.queue.run(task.run).id) p.error = error;
    this.queue.finish(task.run, error !== undefined);
    return true;
  }

  private ensureWorkers(tasks: number): void {
    // None while workers stop (close(), or a worker lost): the runs in flight fail with that stop,
    // and a worker or block taken now would outlive close() or add to the blocks the stop gives back.
    if (this.closed || this.stopping.size > 0) return;
    const arena = kernelArena();
    // With no room for more scratch (256 threads' worth lent), the pool runs the workers it has.
    while (this.workers.length < Math.min(this.threads - 1, tasks - 1) && (this.scratch.length > 0 || this.takeScratch())) {
      const scratch = this.scratch.pop()!;
      const start: WorkerStart = { memory: arena.memory!, queue: this.queue.control.buffer as SharedArrayBuffer, scratch: scratch.byteOffset };
      const thread: Thread = { worker: new Worker(workerEntry(), { workerData: start }), scratch };
      thread.worker.on("message", (m: WorkerError) => {
        const p = this.pending.get(m.run);
        if (p === undefined || p.id !== m.id) return;
        p.error = m.error;
        if (!p.failedAwaitingMessage) return;
        this.pending.delete(m.run);
        p.fail(m.error);
      });
      thread.worker.on("error", (e: Error) => void this.lose(thread, e.message));
      thread.worker.on("exit", (code: number) => void this.lose(thread, `exited with code ${code}`));
      this.workers.push(thread);
    }
    this.refIfBusy();
  }

  /**
   * While runs are pending: settles those whose tasks are all done, then helps with a task left
   * in the queue or, when none is, waits for the next run to finish (one waiter for the whole
   * pool, woken at most once per finished run). It yields a turn of the event loop before it
   * computes whenever callers may publish more (at its start, after settling runs), so the
   * workers find the queue full: a main thread that computes right after publishing starves
   * them (it measured a worker going to sleep on an empty queue 100 to 500 times per 768 runs).
   */
  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    void (async () => {
      try {
        await nextTurn();
        while (this.pending.size > 0) {
          const seen = this.queue.finishedRuns();
          const settled = this.settle();
          if ([...this.pending.values()].every((p) => p.failedAwaitingMessage)) break;
          if (settled > 0 || this.help()) await nextTurn();
          else await this.queue.nextFinished(seen);
        }
      } catch (e) {
        // Nothing here should throw; if something does, the runs in flight fail (workers stopped
        // first, as for a dead worker) rather than wait forever.
        void this.stopWorkers(`the pool's main thread failed: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        this.watching = false;
      }
    })();
  }

  /** Resolves or fails the pending runs whose tasks are all done; how many it settled. */
  private settle(): number {
    let settled = 0;
    for (const [slot, p] of this.pending) {
      if (p.failedAwaitingMessage || this.queue.remaining(slot) !== 0) continue;
      if (this.queue.failed(slot) && p.error === undefined) {
        // The failing task posts its message before it counts itself done: it is on its way.
        p.failedAwaitingMessage = true;
        continue;
      }
      this.pending.delete(slot);
      if (this.queue.failed(slot)) p.fail(p.error!);
      else p.resolve();
      settled++;
    }
    return settled;
  }

  /** Workers keep the process alive only while runs are pending. */
  private refIfBusy(): void {
    for (const t of this.workers) {
      if (this.pending.size > 0) t.worker.ref();
      else t.worker.unref();
    }
  }

  /**
   * A worker that died: its task may never finish, so every worker stops (before any run fails,
   * so no buffer goes back while one still writes it), the queue starts afresh, and the runs in
   * flight fail; later runs start new workers.
   */
  private async lose(thread: Thread, why: string): Promise<void> {
    if (!this.workers.includes(thread)) return;
    await this.stopWorkers(why);
  }

  private async stopWorkers(why: string): Promise<void> {
    const workers = this.workers.splice(0);
    this.queue.stop();
    // Their scratch is the pool's again once they have ended, before anyone waiting on the stop goes on.
    const ended = Promise.all(workers.map((t) => t.worker.terminate())).then(() => void this.scratch.push(...workers.map((t) => t.scratch)));
    this.stopping.add(ended);
    await ended;
    this.stopping.delete(ended);
    this.queue.reset();
    for (const p of this.pending.values()) p.fail(why);
    for (const wake of this.waiting.splice(0)) wake();
  }
}

let processPool: DequantPool | undefined;

/**
 * The process's default pool, one thread per core, for callers that do not manage one (the
 * reference stages of the gate and the golden corpus). Never closed: its idle workers do not
 * keep the process alive.
 */
export function defaultPool(): DequantPool {
  processPool ??= new DequantPool(defaultThreads(), {}, RESERVED);
  return processPool;
}
