// A lazily dequantizing view of any WeightSource: its specs show FP8 weights as BF16 (scales and
// activation scales gone), and reading a weight decodes it on demand, chunk by chunk as the
// underlying source yields it, so memory per tensor stays bounded (a few input and output chunks
// of at most DEQUANT_CHUNK_ELEMENTS) however large the weight. The kernel runs on a worker pool
// (pool.ts) while the next chunk is read and the last one written. Because it is itself a
// WeightSource, any stage that streams from a checkpoint streams from the dequantized checkpoint
// unchanged: `fuse(dequantView(checkpoint, config))` dequantizes and prefuses in one pass.

import type { ModelConfig } from "../checkpoint.js";
import { type ErrorLocation, OutputError, SafetensorsError } from "../errors.js";
import type { TensorSource } from "../safetensors/source.js";
import type { Tensor, TensorSpec } from "../tensor.js";
import type { WeightSource } from "../weights.js";
import { dequantizedConfig } from "./config.js";
import { type DequantOptions, dequantizerFor, planLocation } from "./dequant.js";
import type { KernelStrategy } from "./kernel.js";
import { type Arena, kernelArena } from "./arena.js";
import { DequantPool, defaultPool } from "./pool.js";
import { type DequantEntry, type DequantPlan, planDequant } from "./plan.js";

/** Largest output chunk a dequantized tensor is produced in (elements; 8 MiB of BF16). */
export const DEQUANT_CHUNK_ELEMENTS = 4 << 20;

/**
 * Chunks of one tensor in flight ahead of the one its consumer holds. With 2, the source reads
 * chunk k + 2 while the pool computes chunk k + 1 and the consumer writes chunk k (PIECES_HELD
 * counts the buffers that takes).
 */
const DEPTH = 2;

/**
 * Most pieces of one tensor held at once (src/plan/memory.ts counts them): FP8 inputs, the one
 * whose result its consumer holds, the DEPTH - 1 after it and the next being read; BF16 outputs
 * (without a target in shared memory), the consumer's and the DEPTH - 1 after it.
 */
export const PIECES_HELD = { input: DEPTH + 1, output: DEPTH } as const;

export interface DequantView extends WeightSource {
  readonly plan: DequantPlan;
  /** The input config without quantization_config. */
  readonly config: ModelConfig | undefined;
  /** Ends the worker pool the view started for `threads` (a no-op otherwise). */
  close(): Promise<void>;
}

export interface DequantViewOptions extends DequantOptions {
  /** Output chunk size in elements (default DEQUANT_CHUNK_ELEMENTS). */
  readonly chunkElements?: number;
  /** Worker threads for the kernel: the view starts a pool of its own, ended by `close()`. */
  readonly threads?: number;
  /** Or a pool the caller owns (and closes). Default: the process's pool (one thread per core). */
  readonly pool?: DequantPool;
}

const noop = (): void => undefined;

interface InFlight {
  readonly done: Promise<void>;
  readonly input: Uint8Array;
  /** The output region; `held` is its shared buffer when it is not the caller's target. */
  readonly out: Uint16Array;
  readonly held: Uint8Array | undefined;
}

interface Piece {
  /** A buffer of the kernel memory (arena.ts) holding the piece's FP8 bytes from offset 0. */
  readonly input: Uint8Array;
  readonly count: number;
}

/**
 * The weight's bytes in consecutive pieces of at most `chunkElements`, each in a shared buffer:
 * read there directly when the source can read a range (a file, memory), else copied from its
 * chunks (each copied before the next is asked for, since the source may refill its buffer).
 */
async function* sharedPieces(weight: TensorSource, entry: DequantEntry, where: ErrorLocation, chunkElements: number, buffers: Arena): AsyncGenerator<Piece> {
  const numel = entry.shape[0] * entry.shape[1];
  if (weight.readRange !== undefined) {
    for (let off = 0; off < numel; off += chunkElements) {
      const count = Math.min(chunkElements, numel - off);
      const input = buffers.take(count);
      try {
        await weight.readRange(input.subarray(0, count), off);
      } catch (e) {
        buffers.give(input);
        throw e;
      }
      yield { input, count };
    }
    return;
  }
  let got = 0;
  for await (const chunk of weight.chunks()) {
    if (got + chunk.length > numel) {
      got = Infinity;
      break;
    }
    for (let off = 0; off < chunk.length; off += chunkElements) {
      const count = Math.min(chunk.length - off, chunkElements);
      const input = buffers.take(count);
      input.set(chunk.subarray(off, off + count));
      yield { input, count };
    }
    got += chunk.length;
  }
  if (got !== numel) {
    throw new OutputError(
      "SOURCE_MISMATCH",
      `the source yielded ${got < numel ? got : "more than"} of the ${numel} bytes of ${entry.dtype} [${entry.shape.join(", ")}]`,
      where,
    );
  }
}

/**
 * Dequantizes `entry` from `source`, yielding consecutive BF16 regions. With a shared `target`,
 * each region is the part of `target` just written; otherwise it is a reused shared buffer, valid
 * until the next region is asked for. The next piece is read before the pool computes the
 * current one, so reading, computing and writing overlap.
 */
async function* dequantRegions(
  source: WeightSource,
  entry: DequantEntry,
  checkpoint: string,
  strategy: KernelStrategy | undefined,
  chunkElements: number,
  pool: DequantPool,
  buffers: Arena,
  target?: Uint16Array,
): AsyncGenerator<Uint16Array> {
  const kernel = dequantizerFor(entry, await source.read(entry.scale), checkpoint, strategy);
  const where = { file: checkpoint, tensor: entry.weight };
  const pieces = sharedPieces(source.source(entry.weight), entry, where, chunkElements, buffers);
  const inflight: InFlight[] = [];
  const release = (f: InFlight) => {
    buffers.give(f.input);
    if (f.held !== undefined) buffers.give(f.held);
  };
  let next = pieces.next();
  next.catch(noop);
  let start = 0;
  /**
   * Yields the results of the pieces in flight, oldest first, until `keep` are left. A piece
   * stays in `inflight` while the consumer holds its result, and is given back when it asks for
   * more.
   */
  async function* settle(keep: number): AsyncGenerator<Uint16Array> {
    while (inflight.length > keep) {
      const f = inflight[0]!;
      await f.done;
      yield f.out;
      inflight.shift();
      release(f);
    }
  }
  try {
    for (let r = await next; !r.done; r = await next) {
      const { input, count } = r.value;
      const held = target === undefined ? buffers.take(2 * count) : undefined;
      const out = held === undefined ? target!.subarray(start, start + count) : new Uint16Array(held.buffer, held.byteOffset, count);
      const done = pool.run(kernel, input.subarray(0, count), start, out, where);
      done.catch(noop);
      inflight.push({ done, input, out, held });
      start += count;
      next = pieces.next();
      next.catch(noop);
      yield* settle(DEPTH - 1);
    }
    yield* settle(0);
  } finally {
    // A consumer that stops early (or a failed piece) must not leave work running on buffers
    // that go back to the kernel memory, nor keep them: every piece taken is given back, the
    // one read ahead included.
    const left = inflight.splice(0);
    for (const f of left) await f.done.catch(noop);
    for (const f of left) release(f);
    const ahead = await next.catch(() => undefined);
    if (ahead !== undefined && !ahead.done) buffers.give(ahead.value.input);
    await pieces.return(undefined);
  }
}

const bytesOf = (a: Uint16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function dequantView(source: WeightSource, config: ModelConfig | undefined, options: DequantViewOptions = {}): DequantView {
  const where = planLocation(options, "<weights>");
  const plan = planDequant(source.specs, config, where);
  const entries = new Map(plan.dequantized.map((e) => [e.weight, e]));
  const chunkElements = options.chunkElements ?? DEQUANT_CHUNK_ELEMENTS;
  if (!(Number.isSafeInteger(chunkElements) && chunkElements >= 1)) throw new RangeError(`chunkElements ${chunkElements} must be a positive integer`);

  const spec = (name: string): TensorSpec => {
    const s = plan.specs.get(name);
    if (s === undefined) {
      const why = source.specs.has(name) ? "removed by FP8 dequantization" : "no such tensor";
      throw new SafetensorsError("TENSOR_NOT_FOUND", why, { file: where.checkpoint, tensor: name });
    }
    return s;
  };
  const owned = options.pool === undefined && options.threads !== undefined ? new DequantPool(options.threads) : undefined;
  const pool = options.pool ?? owned ?? defaultPool();
  const buffers = kernelArena();
  const regions = (entry: DequantEntry, target?: Uint16Array) =>
    dequantRegions(source, entry, where.checkpoint, options.strategy, chunkElements, pool, buffers, target);

  const readInto = async (name: string, target: Uint8Array, targetOffset: number): Promise<void> => {
    spec(name);
    const entry = entries.get(name);
    if (entry === undefined) return source.readInto(name, target, targetOffset);
    const numel = entry.shape[0] * entry.shape[1];
    if (targetOffset < 0 || targetOffset + 2 * numel > target.length) {
      throw new SafetensorsError("READ_FAILED", `a target of ${target.length} bytes cannot hold the tensor's ${2 * numel} bytes at offset ${targetOffset}`, {
        file: where.checkpoint,
        tensor: name,
      });
    }
    const at = target.byteOffset + targetOffset;
    if (at % 2 === 0 && target.buffer instanceof SharedArrayBuffer) {
      // Aligned and shared: the kernel writes straight into the caller's buffer.
      for await (const _ of regions(entry, new Uint16Array(target.buffer, at, numel)));
      return;
    }
    let pos = targetOffset;
    for await (const out of regions(entry)) {
      target.set(bytesOf(out), pos);
      pos += out.byteLength;
    }
  };

  return {
    plan,
    config: dequantizedConfig(config),
    specs: plan.specs,
    buffers,
    close: async () => owned?.close(),
    readInto,
    async read(name: string): Promise<Tensor> {
      const s = spec(name);
      if (!entries.has(name)) return source.read(name);
      const data = new Uint8Array(2 * s.shape[0]! * s.shape[1]!);
      await readInto(name, data, 0);
      return { dtype: s.dtype, shape: s.shape, data };
    },
    source(name: string): TensorSource {
      const s = spec(name);
      const entry = entries.get(name);
      if (entry === undefined) return source.source(name);
      // prefetch() starts the first chunks (read and compute) before the writer gets here.
      let early: { readonly it: AsyncGenerator<Uint16Array>; readonly first: Promise<IteratorResult<Uint16Array>> } | undefined;
      return {
        dtype: s.dtype,
        shape: s.shape,
        byteLength: 2 * entry.shape[0] * entry.shape[1],
        prefetch() {
          if (early !== undefined) return;
          const it = regions(entry);
          const first = it.next();
          first.catch(noop);
          early = { it, first };
        },
        async cancel() {
          const started = early;
          early = undefined;
          if (started === undefined) return;
          // Its first region settled, the generator is paused at a yield (or done), so
          // return() runs its clean-up: every piece taken goes back to the kernel memory.
          await started.first.catch(noop);
          await started.it.return(undefined);
        },
        async *chunks() {
          const started = early;
          early = undefined;
          const it = started?.it ?? regions(entry);
          try {
            for (let r = await (started?.first ?? it.next()); !r.done; r = await it.next()) yield bytesOf(r.value);
          } finally {
            await it.return(undefined);
          }
        },
      };
    },
  };
}
