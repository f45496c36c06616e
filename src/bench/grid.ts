// The benchmark grids, as data: which layer shapes, expert counts and chunk sizes are measured,
// and how many timed iterations each point gets. `full` is the grid, `quick` a
// scaled-down one for smoke runs (CI), `tiny` the one the test suite runs in seconds.

import { UsageError } from "../reference/errors.js";
import type { FuseProblem, LayerShape } from "./problem.js";
import { STRATEGIES } from "./strategies/registry.js";
import type { StrategyName } from "./strategies/strategy.js";

/** Qwen3.5/3.6-35B-A3B: 40 layers x 256 experts (Qwen/Qwen3.6-35B-A3B config.json on the Hub: num_hidden_layers 40, num_experts 256). */
export const QWEN35_MOE: LayerShape = { name: "qwen3.5-35b-a3b", hidden: 2048, intermediate: 512 };
/** Qwen3-235B-A22B (128 experts in the real model; measured at fewer to stay within memory). */
export const QWEN3_235B: LayerShape = { name: "qwen3-235b-a22b", hidden: 4096, intermediate: 1536 };

export interface GridBlock {
  readonly shape: LayerShape;
  readonly experts: readonly number[];
}

export interface Grid {
  readonly name: string;
  readonly blocks: readonly GridBlock[];
  /** Chunk sizes tried for every E (those <= E, plus E itself). */
  readonly chunks: readonly number[];
  /** Minimum timed iterations per point (tinybench `iterations`). */
  readonly iterations: number;
  /** Time budget per point in ms (tinybench `time`): small points get more iterations. */
  readonly timeMs: number;
}

const POWERS = [1, 2, 4, 8, 16, 32, 64, 128];

export const GRIDS: Readonly<Record<string, Grid>> = {
  full: {
    name: "full",
    blocks: [
      { shape: QWEN35_MOE, experts: [16, 64, 128, 256] },
      { shape: QWEN3_235B, experts: [16, 32] },
    ],
    chunks: POWERS,
    iterations: 3,
    timeMs: 250,
  },
  quick: {
    name: "quick",
    blocks: [{ shape: { name: "mini", hidden: 512, intermediate: 128 }, experts: [16, 64] }],
    chunks: [1, 4, 16],
    iterations: 3,
    timeMs: 100,
  },
  tiny: {
    name: "tiny",
    blocks: [{ shape: { name: "tiny", hidden: 64, intermediate: 32 }, experts: [8] }],
    chunks: [1, 3],
    iterations: 2,
    timeMs: 0,
  },
};

export function getGrid(name: string): Grid {
  const g = GRIDS[name];
  if (g === undefined) throw new UsageError("INVALID_ARGUMENT", `unknown grid '${name}' (known: ${Object.keys(GRIDS).join(", ")})`);
  return g;
}

export interface GridPoint {
  readonly problem: FuseProblem;
  readonly strategy: StrategyName;
}

/** The chunk sizes of one E: the grid's chunks up to E, and E. */
export function chunksFor(grid: Grid, experts: number): number[] {
  return [...new Set([...grid.chunks.filter((c) => c <= experts), experts])].sort((a, b) => a - b);
}

/**
 * Every point of the grid, block by block and E by E (so one E's points run together). A
 * strategy that ignores the chunk runs once per E, at C = E.
 */
export function gridPoints(grid: Grid, strategies: readonly StrategyName[]): GridPoint[] {
  const out: GridPoint[] = [];
  for (const { shape, experts } of grid.blocks) {
    for (const E of experts) {
      for (const name of strategies) {
        const chunks = STRATEGIES.get(name)!.chunked ? chunksFor(grid, E) : [E];
        for (const chunk of chunks) out.push({ problem: { shape, experts: E, chunk }, strategy: name });
      }
    }
  }
  return out;
}
