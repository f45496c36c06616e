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
//   stream    = 2 P + STAGE + B            `moe-prefuse fuse`, disk to disk: two step buffers of
//               P bytes, P = max over outputs of (experts per step x slice bytes), experts per
//               step = min(C, E, floor(4 MiB / slice)) but at least 1 (fuseCheckpoint's
//               DEFAULT_STEP_BYTES); the writer's 4 MiB stage; B = read buffers, below.
//   B         = min(8 MiB, T)              a pass-through tensor larger than P streams through one
//               copy buffer (COPY_CHUNK) instead of the step buffers; T = the largest such tensor
//             + FP8 only: min(8 MiB, W) + S + D
//               reading an FP8 weight streams it through a copy buffer (W = largest FP8 weight),
//               its scale tensor is read whole (S = largest scale), and a dequantized pass-through
//               tensor larger than P is decoded through a BF16 scratch of
//               D = 2 x min(4 Mi, elements) bytes (DEQUANT_CHUNK_ELEMENTS).
//
// Layers are fused one after another and each layer's per-expert inputs are replaced by its
// output, so only the worst layer's transient adds to R. Everything is an upper bound on what
// is touched: a stage or step buffer never filled is never resident.

import { stackConcat } from "../bench/strategies/stack-concat.js";
import { prealloc } from "../bench/strategies/prealloc.js";
import { streamPeakBytes } from "../bench/strategies/stream.js";
import type { FuseProblem } from "../bench/problem.js";
import { isFp8Weight } from "../reference/fp8/formats.js";
import { DEQUANT_CHUNK_ELEMENTS } from "../reference/fp8/view.js";
import { DEFAULT_STEP_BYTES, expertsPerStep } from "../reference/prefuse/fuse-checkpoint.js";
import type { FusePlan } from "../reference/prefuse/plan.js";
import { sliceBytes } from "../reference/prefuse/produce.js";
import { COPY_CHUNK } from "../reference/safetensors/source.js";
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
  /** The checkpoint's own tensors (before dequantization): where FP8 read buffers come from. */
  readonly sourceSpecs: ReadonlyMap<string, TensorSpec>;
  /** Whether the prefuse reads through the FP8 dequantization. */
  readonly dequantized: boolean;
}

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

/** B: the streaming fuse's read buffers beyond its step buffers. */
function readBuffers(input: MemoryModelInput, pool: number): number {
  const consumed = new Set(input.plan.consumed);
  let largestPassthrough = 0;
  let largestDequantizedPassthrough = 0;
  for (const [name, spec] of input.specs) {
    if (consumed.has(name)) continue;
    const bytes = specByteLength(spec);
    if (bytes <= pool) continue;
    largestPassthrough = Math.max(largestPassthrough, bytes);
    const raw = input.sourceSpecs.get(name);
    if (input.dequantized && raw !== undefined && isFp8Weight(raw.dtype)) largestDequantizedPassthrough = Math.max(largestDequantizedPassthrough, bytes / 2);
  }
  let b = Math.min(COPY_CHUNK, largestPassthrough);
  if (input.dequantized) {
    let fp8 = 0;
    let scale = 0;
    for (const [name, spec] of input.sourceSpecs) {
      if (isFp8Weight(spec.dtype)) fp8 = Math.max(fp8, specByteLength(spec));
      else if (!input.specs.has(name)) scale = Math.max(scale, specByteLength(spec));
    }
    b += Math.min(COPY_CHUNK, fp8) + scale + 2 * Math.min(DEQUANT_CHUNK_ELEMENTS, largestDequantizedPassthrough);
  }
  return b;
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
      const pool = stepBufferBytes(input.plan, chunk);
      return streamPeakBytes(pool) + readBuffers(input, pool);
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
