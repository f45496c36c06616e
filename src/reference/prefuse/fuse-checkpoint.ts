// The streaming disk-to-disk fuse. Any WeightSource goes in (a checkpoint on disk, an in-memory
// dict, a lazily dequantizing view), a checkpoint directory comes out through writeCheckpoint
// (atomic, sharded). Each fused tensor is produced a step of experts at a time into one of two
// reused buffers and written as it is made; inputs are read expert by expert. Larger pass-through
// tensors go through one reused copy buffer. Peak memory is those buffers, whatever the size of
// the layer or of the checkpoint.

import { dirname, join } from "node:path";
import { CONFIG_FILE, Checkpoint, type ModelConfig } from "../checkpoint.js";
import { DEFAULT_MAX_SHARD_SIZE, writeCheckpoint } from "../checkpoint-writer.js";
import { CheckpointError, PrefuseError, SafetensorsError, UsageError } from "../errors.js";
import type { TensorBackend } from "../ops/backend.js";
import { typedBackend } from "../ops/typed-backend.js";
import { COPY_CHUNK, type TensorSource } from "../safetensors/source.js";
import { specByteLength } from "../tensor.js";
import type { BufferSupply, WeightSource } from "../weights.js";
import { DEFAULT_CHUNK, checkChunk, chunkRanges } from "./chunk.js";
import { readRegularFile } from "../input-file.js";
import { checkOutputPath } from "../output-path.js";
import { type FusePlan, planPrefuse } from "./plan.js";
import { summarizeReasons } from "./report.js";
import type { PrefuseOptions } from "./prefuse.js";
import { type ExpertReader, Scratch, produceExperts, sliceBytes } from "./produce.js";
import type { PlannedOutput } from "./recipes.js";

export interface FuseProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** The tensor being written. */
  readonly tensor: string;
}

// Readings (the release gate's alternatives) are the in-memory prefuse's: the streaming fuse is this project's reading.
export interface FuseCheckpointOptions extends Omit<PrefuseOptions, "readings"> {
  /**
   * Byte budget of one streaming step (default 4 MiB): a step stacks `chunk` experts, or as many
   * as fit in this budget if fewer (at least one). Never changes the bytes.
   */
  readonly maxStepBytes?: number;
  /** Shard limit in bytes (default 5 GB, like oQ and transformers). */
  readonly maxShardSize?: number;
  /** safetensors `__metadata__` of the output. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** config.json's exact text to write (default: `config` serialized). */
  readonly configText?: string;
  readonly onProgress?: (p: FuseProgress) => void;
  /**
   * Refuse (before writing anything) when a layer with per-expert tensors cannot be fused. oQ
   * leaves such layers per expert and lets the downstream sanitize fail; a pipeline that wants
   * the failure here, naming the tensor, asks for it.
   */
  readonly strict?: boolean;
}

export interface FuseResult {
  readonly plan: FusePlan;
  readonly outDir: string;
  readonly files: readonly string[];
  readonly totalSize: number;
  readonly tensors: number;
}

/** Bytes read in order from a tensor's chunk stream, however its chunks are cut. */
class SequentialBytes {
  private readonly chunks: AsyncIterator<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);
  private position = 0;

  constructor(
    private readonly source: TensorSource,
    private readonly name: string,
  ) {
    this.chunks = source.chunks()[Symbol.asyncIterator]();
  }

  async read(at: number, into: Uint8Array): Promise<void> {
    if (at !== this.position) throw new RangeError(`${this.name}: read at ${at}, but the stream is at ${this.position}`);
    let filled = 0;
    while (filled < into.length) {
      if (this.pending.length === 0) {
        const r = await this.chunks.next();
        if (r.done)
          throw new SafetensorsError("READ_FAILED", `source ended after ${this.position + filled} of ${this.source.byteLength} bytes`, { tensor: this.name });
        this.pending = r.value;
      }
      const n = Math.min(this.pending.length, into.length - filled);
      into.set(this.pending.subarray(0, n), filled);
      this.pending = this.pending.subarray(n);
      filled += n;
    }
    this.position += into.length;
  }
}

/** Reads per-expert tensors straight into the slots they are given; fused inputs sequentially. */
function streamReader(source: WeightSource): ExpertReader {
  const cursors = new Map<string, SequentialBytes>();
  return {
    async tensor(name, spec, into) {
      await source.readInto(name, into, 0);
      return { dtype: spec.dtype, shape: spec.shape, data: into };
    },
    async experts(name, spec, first, count, into) {
      let cursor = cursors.get(name);
      if (cursor === undefined) {
        cursor = new SequentialBytes(source.source(name), name);
        cursors.set(name, cursor);
      }
      const b = sliceBytes(spec);
      const data = into.subarray(0, count * b);
      await cursor.read(first * b, data);
      return { dtype: spec.dtype, shape: [count, ...spec.shape.slice(1)], data };
    },
  };
}

/**
 * The reusable buffers of one fuse, all of one size. Tensors are written one after another, so
 * two buffers serve the whole run: one being written while the next chunk is produced into the
 * other. Nothing else of that size is allocated, so memory stays flat from start to end. They
 * come from the source's supply when it has one (a dequantizing view then computes into them in
 * place), and go back to it at `close`.
 */
export class ChunkBuffers {
  private readonly free: Uint8Array[] = [];
  private readonly supplied: Uint8Array[] = [];

  constructor(
    readonly size: number,
    private readonly supply?: BufferSupply,
  ) {}

  take(): Uint8Array {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.supply === undefined) return new Uint8Array(this.size);
    const b = this.supply.take(this.size);
    this.supplied.push(b);
    return b.subarray(0, this.size);
  }

  give(...buffers: Uint8Array[]): void {
    this.free.push(...buffers);
  }

  /** Gives the supplied buffers back; the run is over. */
  close(): void {
    for (const b of this.supplied.splice(0)) this.supply!.give(b);
    this.free.length = 0;
  }
}

/**
 * Default byte budget of one streaming step. A step's bytes are read, then written at once; kept
 * well inside the CPU's last-level cache, the write copies from cache instead of memory, which
 * measured here (32 MiB L3) as about twice the throughput of 64 MiB steps.
 */
export const DEFAULT_STEP_BYTES = 4 << 20;

/** Experts per streaming step: `chunk`, capped by the byte budget, at least one. */
export function expertsPerStep(o: PlannedOutput, chunk: number, maxStepBytes: number): number {
  const slice = sliceBytes({ dtype: o.dtype, shape: o.shape });
  const fit = slice === 0 ? chunk : Math.floor(maxStepBytes / slice);
  return Math.max(1, Math.min(chunk, fit, o.shape[0]!));
}

/** A pass-through tensor read whole into a pooled buffer (no garbage per tensor). */
function pooledSource(name: string, source: WeightSource, pool: ChunkBuffers): TensorSource {
  const spec = source.specs.get(name)!;
  const byteLength = specByteLength(spec);
  return {
    dtype: spec.dtype,
    shape: spec.shape,
    byteLength,
    async *chunks() {
      const buffer = pool.take();
      try {
        const data = buffer.subarray(0, byteLength);
        await source.readInto(name, data, 0);
        yield data;
      } finally {
        pool.give(buffer);
      }
    },
  };
}

/**
 * The one copy buffer of a run, allocated on first use and kept to the end: pass-through tensors
 * larger than a step buffer are read through it a piece at a time. Tensors are written one after
 * another and a yielded piece belongs to the writer only until it asks for the next, so one buffer
 * serves them all. A buffer per tensor (the source's own) would leave dropped buffers for V8 to
 * collect whenever it likes, so the peak would depend on garbage-collection timing.
 */
class CopyBuffer {
  private buffer: Uint8Array | undefined;

  constructor(readonly size: number) {}

  get(): Uint8Array {
    this.buffer ??= new Uint8Array(this.size);
    return this.buffer;
  }
}

/**
 * A large pass-through tensor read through the run's copy buffer. A source that cannot read a
 * range (one that computes its bytes, such as a dequantizing view) streams its own chunks.
 */
function copiedSource(name: string, source: WeightSource, copy: CopyBuffer): TensorSource {
  const own = source.source(name);
  if (own.readRange === undefined) return own;
  return {
    dtype: own.dtype,
    shape: own.shape,
    byteLength: own.byteLength,
    readRange: (target, offset) => own.readRange!(target, offset),
    async *chunks() {
      const buffer = copy.get();
      for (let at = 0; at < own.byteLength; at += buffer.length) {
        const piece = buffer.subarray(0, Math.min(buffer.length, own.byteLength - at));
        await own.readRange!(piece, at);
        yield piece;
      }
    },
  };
}

/**
 * A planned output as a writer source, `step` experts at a time. The next step is produced (its
 * inputs read) while the consumer writes the current one.
 */
export function outputSource(o: PlannedOutput, source: WeightSource, backend: TensorBackend, step: number, pool?: ChunkBuffers): TensorSource {
  const spec = { dtype: o.dtype, shape: o.shape };
  return {
    ...spec,
    byteLength: specByteLength(spec),
    async *chunks() {
      const slice = sliceBytes(spec);
      const ranges = [...chunkRanges(o.shape[0]!, step)];
      const buffers = pool ?? new ChunkBuffers(Math.min(step, o.shape[0]!) * slice);
      const [a, b] = [buffers.take(), buffers.take()];
      const producer = { io: streamReader(source), backend, scratch: new Scratch() };
      const produce = async (k: number): Promise<Uint8Array> => {
        const range = ranges[k]!;
        const out = (k % 2 === 0 ? a : b).subarray(0, range.count * slice);
        await produceExperts(o.recipe, range, out, producer);
        return out;
      };
      // A step produced ahead can fail (a shard truncated under us, EIO) while the consumer is
      // still writing the previous one, long before anyone awaits it: observed at once, so that
      // Node does not report it as an unhandled rejection and crash with a stack trace; the
      // error itself still reaches the consumer when the step is awaited.
      const make = (k: number): Promise<Uint8Array> => {
        const step = produce(k);
        step.catch(() => undefined);
        return step;
      };
      let next: Promise<Uint8Array> | undefined = ranges.length > 0 ? make(0) : undefined;
      try {
        for (let k = 0; next !== undefined; k++) {
          const out = await next;
          next = k + 1 < ranges.length ? make(k + 1) : undefined;
          yield out;
        }
      } finally {
        // A consumer that stops early (a failed write) must not leave a step running on our buffers.
        await next?.catch(() => undefined);
        buffers.give(a, b);
      }
    },
  };
}

function counted(name: string, s: TensorSource, tick: (bytes: number, name: string) => void): TensorSource {
  return {
    dtype: s.dtype,
    shape: s.shape,
    byteLength: s.byteLength,
    // Kept, so that reporting progress (any fuse on a terminal) does not stop a dequantizing
    // view's tensors from starting before they are written.
    prefetch: s.prefetch === undefined ? undefined : () => s.prefetch!(),
    cancel: s.cancel === undefined ? undefined : () => s.cancel!(),
    async *chunks() {
      for await (const c of s.chunks()) {
        yield c;
        tick(c.length, name);
      }
    },
  };
}

function refuseUntouched(plan: FusePlan, file: string): void {
  const layer = plan.layers.find((l) => l.state === "untouched");
  if (layer?.state !== "untouched") return;
  const first = layer.reasons[0];
  throw new PrefuseError(
    "LAYER_UNTOUCHED",
    `layer ${layer.prefix} cannot be fused: ${summarizeReasons(layer.reasons)}`,
    first?.tensor === undefined ? { file } : { file, tensor: first.tensor },
  );
}

export async function fuseCheckpoint(source: WeightSource, config: ModelConfig, outDir: string, options: FuseCheckpointOptions = {}): Promise<FuseResult> {
  const chunk = checkChunk(options.chunk ?? DEFAULT_CHUNK);
  const backend = options.backend ?? typedBackend;
  const plan = planPrefuse(source.specs, config, options);
  if (options.strict) refuseUntouched(plan, options.configFile === undefined ? outDir : dirname(options.configFile));
  const consumed = new Set(plan.consumed);
  const maxStepBytes = options.maxStepBytes ?? DEFAULT_STEP_BYTES;
  if (!(maxStepBytes > 0)) throw new UsageError("INVALID_ARGUMENT", `step budget ${maxStepBytes} must be a positive number of bytes`);
  const steps = plan.outputs.map((o) => expertsPerStep(o, chunk, maxStepBytes));
  // One buffer size for the run: the largest step. Pass-through tensors that fit are read whole
  // into the same buffers; larger ones through one copy buffer of up to COPY_CHUNK bytes.
  const pool = new ChunkBuffers(Math.max(0, ...plan.outputs.map((o, k) => steps[k]! * sliceBytes({ dtype: o.dtype, shape: o.shape }))), source.buffers);
  const pooled = (bytes: number) => bytes <= pool.size && pool.size > 0;
  const passThrough = [...source.specs].filter(([name]) => !consumed.has(name));
  const copy = new CopyBuffer(Math.min(COPY_CHUNK, Math.max(0, ...passThrough.map(([, spec]) => specByteLength(spec)).filter((b) => !pooled(b)))));
  const tensors = new Map<string, TensorSource>();
  for (const [name, spec] of passThrough) tensors.set(name, pooled(specByteLength(spec)) ? pooledSource(name, source, pool) : copiedSource(name, source, copy));
  plan.outputs.forEach((o, k) => {
    tensors.set(o.name, outputSource(o, source, backend, steps[k]!, pool));
  });

  const { onProgress } = options;
  let written = tensors;
  if (onProgress !== undefined) {
    const bytesTotal = [...tensors.values()].reduce((a, t) => a + t.byteLength, 0);
    let bytesDone = 0;
    const tick = (n: number, tensor: string) => {
      bytesDone += n;
      onProgress({ bytesDone, bytesTotal, tensor });
    };
    written = new Map([...tensors].map(([n, s]) => [n, counted(n, s, tick)]));
  }
  try {
    const result = await writeCheckpoint(outDir, written, {
      config,
      configText: options.configText,
      metadata: options.metadata,
      maxShardSize: options.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE,
    });
    return { plan, outDir, files: result.files, totalSize: result.totalSize, tensors: tensors.size };
  } finally {
    pool.close();
  }
}

export interface FuseDirOptions extends FuseCheckpointOptions {
  /**
   * What to fuse from the opened checkpoint instead of its raw tensors (for example a lazily
   * FP8-dequantizing view). Its tensors are planned and streamed like the checkpoint's own.
   */
  readonly view?: (ckpt: Checkpoint) => ConfiguredSource | Promise<ConfiguredSource>;
  /** The config to plan with and write (default: the view's, else the input's config.json copied verbatim). */
  readonly config?: ModelConfig;
}

/** A view may carry the config that goes with its tensors (a dequantized view drops quantization_config). */
export type ConfiguredSource = WeightSource & { readonly config?: ModelConfig | undefined };

/** `moe-prefuse fuse <in> <out>`: checks the paths, opens the checkpoint, streams the fuse. */
export async function fuseCheckpointDir(input: string, outDir: string, options: FuseDirOptions = {}): Promise<FuseResult> {
  await checkOutputPath(input, outDir);
  const ckpt = await Checkpoint.open(input);
  try {
    const configFile = join(ckpt.dir, CONFIG_FILE);
    if (ckpt.config === undefined)
      throw new CheckpointError("CONFIG_MISSING", "missing: the fuse needs the config to know the expert count", { file: configFile });
    const source: ConfiguredSource = options.view === undefined ? ckpt : await options.view(ckpt);
    const config = options.config ?? (source === ckpt ? undefined : source.config);
    const configText = config === undefined ? await readRegularFile(configFile) : undefined;
    return await fuseCheckpoint(source, config ?? ckpt.config, outDir, {
      ...options,
      configFile,
      configText,
      metadata: options.metadata ?? ckpt.metadata,
    });
  } finally {
    await ckpt.close();
  }
}
