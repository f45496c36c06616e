// The streaming disk-to-disk fuse. Any WeightSource goes in (a checkpoint on disk, an in-memory
// dict, a lazily dequantizing view), a checkpoint directory comes out through writeCheckpoint
// (atomic, sharded). Each fused tensor is produced chunk by chunk into one reused buffer and
// written as it is made; inputs are read expert by expert. Peak memory is a few chunk buffers,
// whatever the size of the layer or of the checkpoint.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CONFIG_FILE, Checkpoint, type ModelConfig } from "../checkpoint.js";
import { DEFAULT_MAX_SHARD_SIZE, writeCheckpoint } from "../checkpoint-writer.js";
import { CheckpointError, SafetensorsError } from "../errors.js";
import type { TensorBackend } from "../ops/backend.js";
import { typedBackend } from "../ops/typed-backend.js";
import type { TensorSource } from "../safetensors/source.js";
import { specByteLength } from "../tensor.js";
import type { WeightSource } from "../weights.js";
import { DEFAULT_CHUNK, checkChunk, chunkRanges } from "./chunk.js";
import { checkOutputPath } from "./output-path.js";
import { type FusePlan, planPrefuse } from "./plan.js";
import type { PrefuseOptions } from "./prefuse.js";
import { type ExpertReader, Scratch, produceExperts, sliceBytes } from "./produce.js";
import type { PlannedOutput } from "./recipes.js";

export interface FuseProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** The tensor being written. */
  readonly tensor: string;
}

export interface FuseCheckpointOptions extends PrefuseOptions {
  /** Shard limit in bytes (default 5 GB, like oQ and transformers). */
  readonly maxShardSize?: number;
  /** safetensors `__metadata__` of the output. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** config.json's exact text to write (default: `config` serialized). */
  readonly configText?: string;
  readonly onProgress?: (p: FuseProgress) => void;
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

  constructor(private readonly source: TensorSource, private readonly name: string) {
    this.chunks = source.chunks()[Symbol.asyncIterator]();
  }

  async read(at: number, into: Uint8Array): Promise<void> {
    if (at !== this.position) throw new RangeError(`${this.name}: read at ${at}, but the stream is at ${this.position}`);
    let filled = 0;
    while (filled < into.length) {
      if (this.pending.length === 0) {
        const r = await this.chunks.next();
        if (r.done) throw new SafetensorsError("READ_FAILED", `source ended after ${this.position + filled} of ${this.source.byteLength} bytes`, { tensor: this.name });
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

/** A planned output as a writer source: `chunk` experts per step, one reused buffer. */
export function outputSource(o: PlannedOutput, source: WeightSource, backend: TensorBackend, chunk: number): TensorSource {
  const spec = { dtype: o.dtype, shape: o.shape };
  return {
    ...spec,
    byteLength: specByteLength(spec),
    async *chunks() {
      const E = o.shape[0]!;
      const slice = sliceBytes(spec);
      const buffer = new Uint8Array(Math.min(chunk, E) * slice);
      const io = streamReader(source);
      const scratch = new Scratch();
      for (const { first, count } of chunkRanges(E, chunk)) {
        const out = buffer.subarray(0, count * slice);
        await produceExperts(o.recipe, first, count, out, io, backend, scratch);
        yield out;
      }
    },
  };
}

function counted(name: string, s: TensorSource, tick: (bytes: number, name: string) => void): TensorSource {
  return {
    dtype: s.dtype,
    shape: s.shape,
    byteLength: s.byteLength,
    async *chunks() {
      for await (const c of s.chunks()) {
        yield c;
        tick(c.length, name);
      }
    },
  };
}

export async function fuseCheckpoint(source: WeightSource, config: ModelConfig, outDir: string, options: FuseCheckpointOptions = {}): Promise<FuseResult> {
  const chunk = checkChunk(options.chunk ?? DEFAULT_CHUNK);
  const backend = options.backend ?? typedBackend;
  const plan = planPrefuse(source.specs, config, options);
  const consumed = new Set(plan.consumed);
  const tensors = new Map<string, TensorSource>();
  for (const name of source.specs.keys()) if (!consumed.has(name)) tensors.set(name, source.source(name));
  for (const o of plan.outputs) tensors.set(o.name, outputSource(o, source, backend, chunk));

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
  const result = await writeCheckpoint(outDir, written, {
    config,
    configText: options.configText,
    metadata: options.metadata,
    maxShardSize: options.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE,
  });
  return { plan, outDir, files: result.files, totalSize: result.totalSize, tensors: tensors.size };
}

export interface FuseDirOptions extends FuseCheckpointOptions {
  /**
   * What to fuse from the opened checkpoint instead of its raw tensors (for example a lazily
   * FP8-dequantizing view). Its tensors are planned and streamed like the checkpoint's own.
   */
  readonly view?: (ckpt: Checkpoint) => WeightSource | Promise<WeightSource>;
  /** The config to plan with and write (default: the input's config.json, copied verbatim). */
  readonly config?: ModelConfig;
}

/** `moe-prefuse fuse <in> <out>`: checks the paths, opens the checkpoint, streams the fuse. */
export async function fuseCheckpointDir(input: string, outDir: string, options: FuseDirOptions = {}): Promise<FuseResult> {
  await checkOutputPath(input, outDir);
  const ckpt = await Checkpoint.open(input);
  try {
    const configFile = join(ckpt.dir, CONFIG_FILE);
    if (ckpt.config === undefined) throw new CheckpointError("CONFIG_MISSING", "missing: the fuse needs the config to know the expert count", { file: configFile });
    const configText = options.config === undefined ? await readFile(configFile, "utf8") : undefined;
    const source = options.view === undefined ? ckpt : await options.view(ckpt);
    return await fuseCheckpoint(source, options.config ?? ckpt.config, outDir, {
      ...options,
      configFile,
      configText,
      metadata: options.metadata ?? ckpt.metadata,
    });
  } finally {
    await ckpt.close();
  }
}
