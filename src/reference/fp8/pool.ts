// FP8 dequantization on every core: a pool of worker threads, each running the one kernel
// (kernel.ts, rebuilt in the worker from the same weight and strategy) over a range of rows of
// a tensor, reading and writing shared memory. Each output element depends only on its byte and
// its block's scale, so how the rows are cut among threads never changes a bit.
//
// Every worker instantiates the WebAssembly kernel over the process's kernel memory (arena.ts),
// with a scratch of its own there; buffers in that memory are computed in place.
//
// Lifetime: workers start lazily, on the first work large enough to need them, at most
// `threads` of them; a worker is ref'd only while it has a task, so an idle pool never keeps the
// process alive, and `close()` ends them. One thread (`threads: 1`) never starts a worker: the
// kernel runs in-process, deferred to the event loop's check phase so that I/O issued before it
// proceeds while it computes.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type ErrorLocation, UsageError } from "../errors.js";
import { kernelArena } from "./arena.js";
import { Fp8Error } from "./errors.js";
import type { BlockScaledWeight, Fp8Dequantizer, KernelStrategy } from "./kernel.js";
import type { SharedMemory } from "./wasm-api.js";
import { type Placement, SCRATCH_BYTES, WASM_KERNEL_AVAILABLE } from "./wasm-kernel.js";

/** More threads than this is a typo, not a machine. */
export const MAX_THREADS = 256;

/**
 * Fewest elements worth sending to a worker: below this, a message round trip (tens of µs)
 * costs more than the rows it would compute, and the range runs in-process.
 */
export const MIN_TASK_ELEMENTS = 1 << 16;

/** One worker per core (what the OS lets this process use), at most MAX_THREADS. */
export function defaultThreads(): number {
  return Math.min(availableParallelism(), MAX_THREADS);
}

export function checkThreads(threads: number): number {
  if (!(Number.isSafeInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    throw new UsageError("INVALID_ARGUMENT", `threads must be a whole number from 1 to ${MAX_THREADS}, got ${threads}`);
  }
  return threads;
}

/** What a worker is sent: the kernel's inputs and one range of elements, in shared memory. */
export interface WorkerTask {
  readonly id: number;
  readonly weight: BlockScaledWeight;
  readonly strategy: KernelStrategy;
  readonly src: Uint8Array;
  readonly start: number;
  readonly out: Uint16Array;
  /** Where the buffers sit in the kernel memory, and the worker's scratch there (set when sent). */
  readonly placement?: Placement;
}

/** What a worker is started with: the kernel memory to instantiate its kernel over. */
export interface WorkerStart {
  readonly memory: SharedMemory | undefined;
}

export interface WorkerReply {
  readonly id: number;
  /** The kernel's error message, when it threw. */
  readonly error?: string;
}

interface Pending {
  readonly task: WorkerTask;
  readonly inMemory: Pick<Placement, "srcInMemory" | "outInMemory">;
  readonly where: ErrorLocation;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  /** Its kernel scratch in the kernel memory, given back when the worker is gone. */
  readonly scratch: Uint8Array | undefined;
  /** Tasks sent and not yet answered. */
  readonly sent: Pending[];
}

/**
 * Tasks a worker holds at once: with two, it starts the next as soon as it answers one, without
 * waiting for the main thread to be scheduled and send more (on a loaded machine, that wait is
 * what a thread would otherwise spend idle).
 */
const TASKS_PER_WORKER = 2;

export interface DequantPoolOptions {
  /** Fewest elements per worker task (default MIN_TASK_ELEMENTS); tests lower it to reach the workers with small tensors. */
  readonly minTaskElements?: number;
}

const isShared = (a: ArrayBufferView): boolean => a.buffer instanceof SharedArrayBuffer;

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

/** Runs `f` on a later turn of the event loop (after pending I/O callbacks), as a promise. */
function deferred(f: () => void): Promise<void> {
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        f();
        resolve();
      } catch (e) {
        reject(e);
      }
    }),
  );
}

export class DequantPool {
  readonly threads: number;
  private readonly minTaskElements: number;
  private readonly workers: Thread[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(threads: number = defaultThreads(), options: DequantPoolOptions = {}) {
    this.threads = checkThreads(threads);
    this.minTaskElements = Math.max(1, options.minTaskElements ?? MIN_TASK_ELEMENTS);
  }

  /** Worker threads running now (they start lazily). */
  get started(): number {
    return this.workers.length;
  }

  /**
   * `kernel.run(src, start, out)`, its rows cut among the threads. Inputs and outputs outside
   * shared memory are staged through shared copies. Resolves when every element is written.
   */
  async run(kernel: Fp8Dequantizer, src: Uint8Array, start: number, out: Uint16Array, where: ErrorLocation = {}): Promise<void> {
    const len = src.length;
    const { rows, cols, block } = kernel.weight;
    const parts = this.threads === 1 ? 1 : Math.min(this.threads, Math.floor(len / this.minTaskElements));
    if (parts <= 1 || out.length !== len || start < 0 || start + len > rows * cols) return deferred(() => kernel.run(src, start, out));
    if (this.closed) throw failure("the pool is closed", where);
    const arena = kernelArena();
    const staged = { input: isShared(src) ? undefined : arena.take(len), output: isShared(out) ? undefined : arena.take(2 * len) };
    const input = staged.input?.subarray(0, len) ?? src;
    if (input !== src) input.set(src);
    const output = staged.output === undefined ? out : new Uint16Array(staged.output.buffer, staged.output.byteOffset, len);
    const inMemory = { srcInMemory: arena.offsetOf(input) !== undefined, outInMemory: arena.offsetOf(output) !== undefined };
    const cuts = splitRange(start, start + len, cols, block[0], parts);
    const tasks: Promise<void>[] = [];
    for (let p = 0; p + 1 < cuts.length; p++) {
      const a = cuts[p]! - start;
      const b = cuts[p + 1]! - start;
      const task: WorkerTask = {
        id: this.nextId++,
        weight: kernel.weight,
        strategy: kernel.strategy,
        src: input.subarray(a, b),
        start: start + a,
        out: output.subarray(a, b),
      };
      tasks.push(new Promise<void>((resolve, reject) => this.queue.push({ task, inMemory, where, resolve, reject })));
    }
    this.dispatch();
    try {
      await Promise.all(tasks);
      if (output !== out) out.set(output);
    } finally {
      // A failed task's siblings may still be running: their buffers go back only when all have ended.
      await Promise.allSettled(tasks);
      for (const b of [staged.input, staged.output]) if (b !== undefined) arena.give(b);
    }
  }

  /** Ends every worker; work still queued fails with WORKER_FAILED. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    const unfinished = [...this.queue.splice(0), ...workers.flatMap((t) => t.sent.splice(0))];
    // The workers stop before their tasks fail, so no buffer goes back while a worker still writes it.
    await Promise.all(workers.map((t) => t.worker.terminate()));
    for (const t of workers) if (t.scratch !== undefined) kernelArena().give(t.scratch);
    for (const p of unfinished) p.reject(failure("the pool was closed", p.where));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      // The least busy worker, or a new one while fewer than `threads` run.
      let thread = this.workers.reduce<Thread | undefined>((best, t) => (best === undefined || t.sent.length < best.sent.length ? t : best), undefined);
      if ((thread === undefined || thread.sent.length > 0) && this.workers.length < this.threads) thread = this.spawn();
      if (thread === undefined || thread.sent.length >= TASKS_PER_WORKER) return;
      const p = this.queue.shift()!;
      thread.sent.push(p);
      thread.worker.ref();
      const placement = thread.scratch === undefined ? undefined : { scratch: thread.scratch.byteOffset, ...p.inMemory };
      thread.worker.postMessage({ ...p.task, placement });
    }
  }

  private spawn(): Thread {
    const arena = kernelArena();
    const start: WorkerStart = { memory: WASM_KERNEL_AVAILABLE ? arena.memory : undefined };
    const scratch = start.memory === undefined ? undefined : arena.takeScratch(SCRATCH_BYTES);
    const thread: Thread = { worker: new Worker(workerEntry(), { workerData: start }), scratch, sent: [] };
    const { worker } = thread;
    worker.unref();
    worker.on("message", (r: WorkerReply) => {
      const k = thread.sent.findIndex((p) => p.task.id === r.id);
      const p = k < 0 ? undefined : thread.sent.splice(k, 1)[0];
      if (thread.sent.length === 0) worker.unref();
      if (p !== undefined) {
        if (r.error === undefined) p.resolve();
        else p.reject(failure(r.error, p.where));
      }
      this.dispatch();
    });
    worker.on("error", (e: Error) => this.lose(thread, e.message));
    worker.on("exit", (code: number) => this.lose(thread, `exited with code ${code}`));
    this.workers.push(thread);
    return thread;
  }

  /** A worker that died: its tasks fail, the rest of the queue goes to the others (or a new one). */
  private lose(thread: Thread, why: string): void {
    const k = this.workers.indexOf(thread);
    if (k < 0) return;
    this.workers.splice(k, 1);
    if (thread.scratch !== undefined) kernelArena().give(thread.scratch);
    for (const p of thread.sent.splice(0)) p.reject(failure(why, p.where));
    if (!this.closed) this.dispatch();
  }
}

let processPool: DequantPool | undefined;

/**
 * The process's default pool, one worker per core, for callers that do not manage one (the
 * reference stages of the gate and the golden corpus). Never closed: its idle workers do not
 * keep the process alive.
 */
export function defaultPool(): DequantPool {
  processPool ??= new DequantPool();
  return processPool;
}
