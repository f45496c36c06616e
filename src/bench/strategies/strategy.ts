// What every prefuse strategy under benchmark provides: a run over real buffers (accounted in a
// MemoryLedger), the closed form of its analytic peak (bytes live at its worst moment beyond
// its inputs), and what it reads and produces, so the harness can prepare inputs, verify the
// output byte for byte and explain the numbers.

import type { ModelConfig } from "../../reference/checkpoint.js";
import type { Tensor } from "../../reference/tensor.js";
import type { WeightSource } from "../../reference/weights.js";
import type { OutputTensor } from "../layout.js";
import type { MemoryLedger } from "../ledger.js";
import type { FuseProblem } from "../problem.js";

export const STRATEGY_NAMES = ["stack-concat", "prealloc", "split-retain", "stream"] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** What an in-memory strategy gets: the weight dict, as oQ's `weights` holds it. */
export interface MemoryStrategyInput {
  readonly problem: FuseProblem;
  readonly tensors: ReadonlyMap<string, Tensor>;
  readonly ledger: MemoryLedger;
}

/** What a disk-to-disk strategy gets: a per-expert checkpoint, its config and a fresh output directory path. */
export interface DiskStrategyInput {
  readonly problem: FuseProblem;
  readonly weights: WeightSource;
  readonly config: ModelConfig;
  readonly ledger: MemoryLedger;
  readonly outDir: string;
}

/** The strategy's result: output tensors held in memory (by name), or a checkpoint it wrote. */
export type StrategyOutput =
  | { readonly residency: "memory"; readonly tensors: ReadonlyMap<string, Uint8Array> }
  | { readonly residency: "disk"; readonly dir: string };

interface StrategyBase {
  readonly name: StrategyName;
  /** One line for the report: what the strategy does and whom it models. */
  readonly summary: string;
  /** The analytic peak as a formula in E (experts), C (chunk) and e (bytes of one expert matrix, I*H*2). */
  readonly formula: string;
  /** Whether the chunk size changes what it does (the grid runs others once per E). */
  readonly chunked: boolean;
  /** Closed-form analytic peak in bytes (beyond the inputs). */
  analyticPeak(p: FuseProblem): number;
  /** The layout its output has (the fused one, or switch_mlp after sanitize). */
  outputLayout(p: FuseProblem): readonly OutputTensor[];
}

/**
 * In memory, synchronous like the torch and MLX code it models (an `await` inside would let
 * stale references keep dropped buffers alive past a collection).
 */
export interface MemoryStrategy extends StrategyBase {
  readonly inputs: "memory";
  run(input: MemoryStrategyInput): StrategyOutput & { readonly residency: "memory" };
}

export interface DiskStrategy extends StrategyBase {
  readonly inputs: "disk";
  run(input: DiskStrategyInput): Promise<StrategyOutput & { readonly residency: "disk" }>;
}

export type Strategy = MemoryStrategy | DiskStrategy;

/** An expert matrix from the weight dict. */
export function expertData(tensors: ReadonlyMap<string, Tensor>, name: string): Uint8Array {
  const t = tensors.get(name);
  if (t === undefined) throw new Error(`input tensor '${name}' is missing from the weight dict`);
  return t.data;
}
