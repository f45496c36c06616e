// One benchmark problem: a single MoE layer of E experts (bf16, hidden H, moe_intermediate I)
// fused C experts at a time, and the byte arithmetic every strategy's accounting is built on.
// The layer uses the transformers v5 per-expert names, so the on-disk input is a real
// per-expert checkpoint and the output the fused layout MLX loaders expect.

import type { DType } from "../reference/dtypes.js";
import { UsageError } from "../reference/errors.js";

export const BENCH_DTYPE: DType = "BF16";
const BYTES_PER_ELEMENT = 2;

export const LAYER_PREFIX = "model.layers.0.mlp";

export type Projection = "gate_proj" | "up_proj" | "down_proj";
export const PROJECTIONS: readonly Projection[] = ["gate_proj", "up_proj", "down_proj"];

export interface LayerShape {
  /** A short name for tables and file names, e.g. "qwen3.5-35b-a3b". */
  readonly name: string;
  readonly hidden: number;
  readonly intermediate: number;
  /** Bytes per element; the benchmark's layers are BF16 (2), planned checkpoints may be F32 or F16. */
  readonly elementBytes?: number;
}

export interface FuseProblem {
  readonly shape: LayerShape;
  readonly experts: number;
  /** Experts per step (strategies that do not chunk ignore it). */
  readonly chunk: number;
}

export function expertTensorName(expert: number, proj: Projection): string {
  return `${LAYER_PREFIX}.experts.${expert}.${proj}.weight`;
}

export const GATE_UP_NAME = `${LAYER_PREFIX}.experts.gate_up_proj`;
export const DOWN_NAME = `${LAYER_PREFIX}.experts.down_proj`;

/** Bytes of one expert's gate (= up = down) matrix: I x H elements (bf16 unless the shape says). */
export function projBytes(shape: LayerShape): number {
  return shape.intermediate * shape.hidden * (shape.elementBytes ?? BYTES_PER_ELEMENT);
}

/** Bytes of the per-expert inputs of the layer (gate, up and down of every expert). */
export function inputBytes(p: Pick<FuseProblem, "shape" | "experts">): number {
  return 3 * projBytes(p.shape) * p.experts;
}

/** Bytes of the fused output: gate_up [E, 2I, H] plus down [E, H, I]. */
export function outputBytes(p: Pick<FuseProblem, "shape" | "experts">): number {
  return inputBytes(p);
}

/** The chunk actually used: C is capped at E (a chunk of 128 over 16 experts is one chunk of 16). */
export function effectiveChunk(p: FuseProblem): number {
  return Math.min(p.chunk, p.experts);
}

/** Expert ranges [start, end) of the chunks, in expert order. */
export function chunkRanges(p: FuseProblem): Array<readonly [number, number]> {
  const c = effectiveChunk(p);
  const out: Array<readonly [number, number]> = [];
  for (let b = 0; b < p.experts; b += c) out.push([b, Math.min(b + c, p.experts)]);
  return out;
}

export function validateProblem(p: FuseProblem): void {
  for (const [what, v] of [
    ["hidden size", p.shape.hidden],
    ["intermediate size", p.shape.intermediate],
    ["expert count", p.experts],
    ["chunk size", p.chunk],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new UsageError("INVALID_ARGUMENT", `${what} ${v} must be a positive whole number`);
  }
}

export function describeProblem(p: FuseProblem): string {
  return `${p.shape.name} (H ${p.shape.hidden}, I ${p.shape.intermediate}) E=${p.experts} C=${p.chunk}`;
}
