// What each way of prefusing a whole checkpoint will need in memory, from its plan alone. The
// per-layer terms are the benchmark's analytic model (src/bench/strategies: the closed forms its
// ledger checks and bench:plan-memory validates against measured peaks); this module adds what
// a whole checkpoint brings on top of one layer: the resident weights, the worst layer, and the
// streaming fuse's read buffers.
//
// Notation, per fused layer L: E_L experts, e_L = bytes of one expert's gate (= up = down)
// matrix, C = --chunk. R = bytes of every tensor the prefuse reads, after FP8 dequantization
// (BF16 doubles the bytes of FP8 weights; their scales are dropped).
//
//   oq-eager  = R + max_L 4 e_L E_L        oQ: the whole checkpoint in memory (mlx load of every
//               shard), then per layer stack C experts per chunk, keep the chunks, concatenate
//               them (stack-concat: chunks 2eE + gate_up output 2eE; independent of C)
//   prealloc  = R + max_L 3 e_L E_L        the same weight dict, each fused tensor allocated once
//               and filled expert by expert (the output itself; independent of C)
//   stream    = max over the tensors `fuse` writes, in its write order, of
//                 (step-buffer bytes written so far + copy-buffer bytes written so far
//                  + stage bytes used)
//               `moe-prefuse fuse`, disk to disk (the benchmark's `stream`: two step buffers
//               and the writer's stage, STAGE = 4 MiB). Step buffers are P bytes each,
//               P = max over outputs of (experts per step x slice bytes), experts per step =
//               min(C, E, floor(4 MiB / slice)), at least 1 (fuseCheckpoint's DEFAULT_STEP_BYTES);
//               pass-through tensors up to P are read whole into a step buffer, larger ones
//               (but dequantized FP8 weights, which come in the view's pieces: V below)
//               through the run's one copy buffer of min(8 MiB, largest of them) (COPY_CHUNK),
//               allocated on first use and kept to the end, so its bytes never wait for V8 to
//               collect them and the peak does not depend on GC timing; the stage holds the
//               chunks under STAGE / 4. The benchmark's closed form, 2P + STAGE, counts what
//               is allocated; pages never written are not resident, and measured peaks
//               (bench:plan-memory) follow the written bytes, so those are what is counted.
//             + FP8 only: V + N x S + (T - 1) x WORKER
//               The dequantizing view reads a weight of n elements in pieces of min(4 Mi, n)
//               (DEQUANT_CHUNK_ELEMENTS) into blocks of the kernel memory (fp8/arena.ts), at most
//               3 of a weight at once, and where its reader's buffer is not in shared memory it
//               also holds up to 2 BF16 pieces (2 bytes an element; PIECES_HELD). The memory keeps
//               the blocks given back for their size class (only those at its top come back for
//               any class), so what stays resident is at most, per class, the most blocks of it
//               ever held at once times the most bytes written into one: V sums that over the
//               classes and over every moment of the run. A
//               moment is a tensor being written, with its readers: a fused output's step reads
//               its FP8 inputs at once (k experts for stack, 2k for concat-rows, into the step
//               buffer, which is shared) or one at a time (the transposing recipes, into plain
//               scratch: with BF16 pieces); a pass-through FP8 weight up to P is read into a step
//               buffer; a larger one comes in the view's BF16 pieces. Beside it, every larger one
//               the writer has asked to prefetch and not yet written (the next tensor, then more
//               while they total at most 8 MiB: PREFETCH_BYTES) holds its first pieces. N is the
//               most readers of a moment, and each holds
//               its scale tensor (S = the largest scale grid). T dequantization threads (--threads,
//               default one per core) are the main thread and T - 1 worker threads of WORKER =
//               12 MiB each (a V8 isolate, its modules and kernel instance). The step buffers
//               themselves are the stream's (above): in the kernel memory, but counted once.
//
// Layers are fused one after another and each layer's per-expert inputs are replaced by its
// output, so only the worst layer's transient adds to R.

import { stackConcat } from "../bench/strategies/stack-concat.js";
import { prealloc } from "../bench/strategies/prealloc.js";
import type { FuseProblem } from "../bench/problem.js";
import { isFp8Weight } from "../reference/fp8/formats.js";
import { blockSize } from "../reference/fp8/arena.js";
import { defaultThreads } from "../reference/fp8/threads.js";
import { DEQUANT_CHUNK_ELEMENTS, PIECES_HELD } from "../reference/fp8/view.js";
import { DEFAULT_MAX_SHARD_SIZE, planShards } from "../reference/checkpoint-writer.js";
import { dtypeRank } from "../reference/dtypes.js";
import { chunkRanges } from "../reference/prefuse/chunk.js";
import { DEFAULT_STEP_BYTES, expertsPerStep } from "../reference/prefuse/fuse-checkpoint.js";
import type { FusePlan } from "../reference/prefuse/plan.js";
import type { OutputRecipe } from "../reference/prefuse/recipes.js";
import { sliceBytes } from "../reference/prefuse/produce.js";
import { compareNames } from "../reference/safetensors/layout.js";
import { COPY_CHUNK } from "../reference/safetensors/source.js";
import { STAGE, prefetchEnds } from "../reference/safetensors/writer.js";
import { type TensorSpec, specByteLength } from "../reference/tensor.js";

export const MEMORY_STRATEGIES = ["oq-eager", "prealloc", "stream"] as const;
export type MemoryStrategyName = (typeof MEMORY_STRATEGIES)[number];

export interface MemoryEstimate {
  readonly strategy: MemoryStrategyName;
  readonly chunk: number;
  /** Predicted peak bytes: the smallest memory budget this way of prefusing needs. */
  readonly peakBytes: number;
  /** peakBytes <= the budget. */
  readonly fits: boolean;
}

export interface MemoryModelInput {
  readonly plan: FusePlan;
  /** The tensors the prefuse reads (after FP8 dequantization, when there is one). */
  readonly specs: ReadonlyMap<string, TensorSpec>;
  /** The checkpoint's own tensors (before dequantization): which are FP8, and their scales. */
  readonly sourceSpecs: ReadonlyMap<string, TensorSpec>;
  /** Whether the prefuse reads through the FP8 dequantization. */
  readonly dequantized: boolean;
  /** The dequantization's threads (fuse --dequant-fp8 --threads; default one per core). */
  readonly dequantThreads?: number;
}

/**
 * Resident bytes a dequantization worker thread adds. Measured 2026-12-03 (2-core VM, Node 20):
 * the peak RSS of `fuse --dequant-fp8` on a 413 MB FP8 checkpoint was 88, 98, 109, 116-122 and
 * 141 MiB with 1, 2, 3, 4 and 6 threads (0 to 5 workers): 10 to 11 MiB a worker; rounded up.
 */
export const DEQUANT_WORKER_BYTES = 12 << 20;

/** The terms of the model, for reports and tests. */
export interface MemoryTerms {
  /** R: bytes of every tensor the prefuse reads. */
  readonly residentBytes: number;
  /** The fused layers as the benchmark's problems (chunk left at 1; only E and e matter to the eager terms). */
  readonly layers: readonly FuseProblem[];
}

/**
 * A fused layer as a benchmark problem. The analytic peaks depend on the shape only through
 * e = I x H x bytes per element, so the layer is described by its bytes: e is a third of one
 * expert's share of the layer's outputs (gate_up 2e + down e, or gate, up and down e each).
 */
function layerProblem(plan: FusePlan, prefix: string, chunk: number): FuseProblem | undefined {
  const outputs = plan.outputs.filter((o) => o.layer === prefix);
  const experts = outputs[0]?.shape[0];
  if (experts === undefined || experts === 0) return undefined;
  const perExpert = outputs.reduce((a, o) => a + specByteLength(o), 0) / experts;
  return { shape: { name: prefix, hidden: 1, intermediate: Math.ceil(perExpert / 3), elementBytes: 1 }, experts, chunk };
}

export function memoryTerms(input: MemoryModelInput): MemoryTerms {
  let residentBytes = 0;
  for (const spec of input.specs.values()) residentBytes += specByteLength(spec);
  const layers = input.plan.layers.flatMap((l) => (l.state === "fused" ? [layerProblem(input.plan, l.prefix, 1)].filter((p) => p !== undefined) : []));
  return { residentBytes, layers };
}

/** P: the step buffer size `fuse --chunk C` allocates (fuseCheckpoint: the largest step of any output). */
export function stepBufferBytes(plan: FusePlan, chunk: number): number {
  return Math.max(0, ...plan.outputs.map((o) => expertsPerStep(o, chunk, DEFAULT_STEP_BYTES) * sliceBytes({ dtype: o.dtype, shape: o.shape })));
}

/** A tensor as the streaming fuse writes it: its bytes, and how they reach the writer. */
interface Written {
  readonly name: string;
  readonly spec: TensorSpec;
  /**
   * "steps": a fused output, in steps through the step buffers; "pooled": read whole into one;
   * "copied": through a copy buffer; "viewed": in the dequantizing view's own pieces.
   */
  readonly via: "steps" | "pooled" | "copied" | "viewed";
  /** FP8 only: the weights the dequantizing view reads at once to produce it (for a fused output, one step's). */
  readonly readers: readonly Fp8Reader[];
  /** Bytes of each chunk handed to the writer. */
  readonly chunks: readonly number[];
}

function pieces(total: number, size: number): number[] {
  const out: number[] = [];
  for (let at = 0; at < total; at += size) out.push(Math.min(size, total - at));
  return out;
}

/**
 * The tensors `fuse` writes, in the order it writes them: shards by name (planShards, when the
 * output exceeds one 5 GB shard), and within a file by dtype rank, then name (layoutFile).
 */
function writeOrder(input: MemoryModelInput, chunk: number, pool: number): Written[][] {
  const consumed = new Set(input.plan.consumed);
  const tensors = new Map<string, Written>();
  const readers = fp8Readers(input);
  for (const [name, spec] of input.specs) {
    if (consumed.has(name)) continue;
    const bytes = specByteLength(spec);
    const pooled = bytes <= pool && pool > 0;
    const elements = readers.elements(name);
    // A dequantized FP8 weight too large for a step buffer comes in the view's own BF16 pieces
    // (counted with the view's buffers), not through the copy buffer.
    const via = pooled ? "pooled" : elements !== undefined ? "viewed" : "copied";
    tensors.set(name, {
      name,
      spec,
      via,
      chunks: pooled ? [bytes] : pieces(bytes, via === "viewed" ? 2 * DEQUANT_CHUNK_ELEMENTS : COPY_CHUNK),
      readers: elements === undefined ? [] : [{ elements, bf16Pieces: via === "viewed" }],
    });
  }
  for (const o of input.plan.outputs) {
    const slice = sliceBytes({ dtype: o.dtype, shape: o.shape });
    const step = expertsPerStep(o, chunk, DEFAULT_STEP_BYTES);
    tensors.set(o.name, {
      name: o.name,
      spec: o,
      via: "steps",
      chunks: [...chunkRanges(o.shape[0]!, step)].map((r) => r.count * slice),
      readers: readers.ofStep(o.recipe, step),
    });
  }
  const sized = new Map([...tensors].map(([n, t]) => [n, { byteLength: specByteLength(t.spec) }]));
  const total = [...sized.values()].reduce((a, t) => a + t.byteLength, 0);
  const groups = total <= DEFAULT_MAX_SHARD_SIZE ? [[...tensors.keys()]] : planShards(sized, DEFAULT_MAX_SHARD_SIZE);
  return groups.map((g) => g.map((n) => tensors.get(n)!).sort((a, b) => dtypeRank(b.spec.dtype) - dtypeRank(a.spec.dtype) || compareNames(a.name, b.name)));
}

/**
 * The streaming fuse's peak: a walk over what it writes, in order, keeping what is resident.
 * The two step buffers are one pool (ChunkBuffers: created on first use, reused LIFO, never
 * freed) and the copy buffer is one (fuseCheckpoint's CopyBuffer: created on first use, never
 * freed); of each, a page counts once it is written. Each file's writer stage counts the bytes
 * staged in it (chunks under STAGE / 4), at most STAGE. Peak = max over tensors of (pool bytes
 * written + copy-buffer bytes written + stage used).
 */
function streamPeak(files: readonly (readonly Written[])[]): number {
  const touched: number[] = [];
  const free: number[] = [];
  const take = (): number => {
    const k = free.pop();
    if (k !== undefined) return k;
    touched.push(0);
    return touched.length - 1;
  };
  let peak = 0;
  let copy = 0;
  for (const file of files) {
    let stage = 0;
    for (const t of file) {
      if (t.via === "copied") copy = Math.max(copy, ...t.chunks);
      else if (t.via === "pooled" || t.via === "steps") {
        // A fused output alternates its chunks between two buffers; a pooled tensor fills one.
        const held = t.via === "steps" ? [take(), take()] : [take()];
        t.chunks.forEach((c, k) => {
          const b = held[k % held.length]!;
          touched[b] = Math.max(touched[b]!, c);
        });
        free.push(...held);
      }
      for (const c of t.chunks) if (c < STAGE / 4) stage = Math.min(STAGE, stage + c);
      peak = Math.max(peak, touched.reduce((a, b) => a + b, 0) + copy + stage);
    }
  }
  return peak;
}

/** One FP8 weight being read by the dequantizing view: its elements, and whether it also holds BF16 pieces. */
interface Fp8Reader {
  readonly elements: number;
  readonly bf16Pieces: boolean;
}

/** Which tensors the view dequantizes, and the FP8 weights one step of a fused output reads at once. */
function fp8Readers(input: MemoryModelInput) {
  const elements = (name: string): number | undefined => {
    const spec = input.sourceSpecs.get(name);
    return input.dequantized && spec !== undefined && isFp8Weight(spec.dtype) ? spec.shape.reduce((a, b) => a * b, 1) : undefined;
  };
  const of = (names: readonly string[], bf16Pieces: boolean): Fp8Reader[] =>
    names.flatMap((n) => {
      const e = elements(n);
      return e === undefined ? [] : [{ elements: e, bf16Pieces }];
    });
  // produce.ts: stack and concat-rows read a step's experts at once, straight into the step buffer
  // (shared memory); the transposing recipes one at a time, into plain scratch.
  const ofStep = (r: OutputRecipe, k: number): Fp8Reader[] => {
    if (r.op === "stack") return of(r.inputs.names.slice(0, k), false);
    if (r.op === "concat-rows") return of([...r.gate.names.slice(0, k), ...r.up.names.slice(0, k)], false);
    if (r.op === "stack-transposed") return of(r.inputs.names.slice(0, 1), true);
    if (r.op === "concat-columns") return of(r.gate.names.slice(0, 1), true);
    return [];
  };
  return { elements, ofStep };
}

/**
 * Blocks of the kernel memory one reader holds at most, by size class, each with the bytes
 * written into it: its full pieces' and its tail piece's, FP8 (PIECES_HELD.input of them) and
 * BF16 (PIECES_HELD.output). A tail of its full pieces' class takes the place of one of them.
 */
function readerBlocks({ elements, bf16Pieces }: Fp8Reader): [size: number, count: number, bytes: number][] {
  const full = Math.floor(elements / DEQUANT_CHUNK_ELEMENTS);
  const tail = elements % DEQUANT_CHUNK_ELEMENTS;
  const widths = bf16Pieces ? [[1, PIECES_HELD.input] as const, [2, PIECES_HELD.output] as const] : [[1, PIECES_HELD.input] as const];
  return widths.flatMap(([width, held]) => {
    const pieceSize = blockSize(width * DEQUANT_CHUNK_ELEMENTS);
    const tailSize = blockSize(width * tail);
    if (full > 0 && tail > 0 && tailSize === pieceSize) return [[pieceSize, Math.min(held, full + 1), width * DEQUANT_CHUNK_ELEMENTS]];
    const blocks: [number, number, number][] = [];
    if (full > 0) blocks.push([pieceSize, Math.min(held, full), width * DEQUANT_CHUNK_ELEMENTS]);
    if (tail > 0) blocks.push([tailSize, 1, width * tail]);
    return blocks;
  });
}

/**
 * FP8 only: V + N x S + (T - 1) x WORKER above, on top of the stream. The moments of the run are
 * the tensors in write order, each with the dequantized tensors the writer has asked to prefetch
 * and not yet written (prefetchEnds, the writer's own rule; only the view's own sources start
 * early, and hold their first pieces until written).
 */
function fp8ViewBuffers(input: MemoryModelInput, files: readonly (readonly Written[])[]): number {
  if (!input.dequantized) return 0;
  const moments: Fp8Reader[][] = [];
  for (const file of files) {
    const ends = prefetchEnds(file.map((t) => specByteLength(t.spec)));
    for (const [k, t] of file.entries()) {
      const prefetched = file.slice(k + 1, ends[k]).filter((p) => p.via === "viewed");
      moments.push([...t.readers, ...prefetched.flatMap((p) => p.readers)]);
    }
  }
  // Per size class: the most blocks held at once, and the most bytes written into one.
  const classes = new Map<number, { count: number; bytes: number }>();
  for (const readers of moments) {
    const now = new Map<number, { count: number; bytes: number }>();
    for (const [size, count, bytes] of readers.flatMap(readerBlocks)) {
      const c = now.get(size) ?? { count: 0, bytes: 0 };
      now.set(size, { count: c.count + count, bytes: Math.max(c.bytes, bytes) });
    }
    for (const [size, c] of now) {
      const kept = classes.get(size) ?? { count: 0, bytes: 0 };
      classes.set(size, { count: Math.max(kept.count, c.count), bytes: Math.max(kept.bytes, c.bytes) });
    }
  }
  let scale = 0;
  for (const [name, spec] of input.sourceSpecs) if (!input.specs.has(name) && !isFp8Weight(spec.dtype)) scale = Math.max(scale, specByteLength(spec));
  const readersAtOnce = Math.max(0, ...moments.map((m) => m.length));
  const view = [...classes.values()].reduce((a, c) => a + c.count * c.bytes, 0);
  const threads = input.dequantThreads ?? defaultThreads();
  return view + readersAtOnce * scale + (threads - 1) * DEQUANT_WORKER_BYTES;
}

/** Predicted peak bytes of `strategy` with `chunk` experts per step. */
export function predictPeak(input: MemoryModelInput, strategy: MemoryStrategyName, chunk: number): number {
  const terms = memoryTerms(input);
  switch (strategy) {
    case "oq-eager":
      return terms.residentBytes + Math.max(0, ...terms.layers.map((p) => stackConcat.analyticPeak({ ...p, chunk })));
    case "prealloc":
      return terms.residentBytes + Math.max(0, ...terms.layers.map((p) => prealloc.analyticPeak({ ...p, chunk })));
    case "stream": {
      const files = writeOrder(input, chunk, stepBufferBytes(input.plan, chunk));
      return streamPeak(files) + fp8ViewBuffers(input, files);
    }
  }
}

/** One estimate per strategy and chunk size, judged against `budget` bytes. */
export function memoryEstimates(input: MemoryModelInput, chunks: readonly number[], budget: number): MemoryEstimate[] {
  return MEMORY_STRATEGIES.flatMap((strategy) =>
    chunks.map((chunk) => {
      const peakBytes = predictPeak(input, strategy, chunk);
      return { strategy, chunk, peakBytes, fits: peakBytes <= budget };
    }),
  );
}
