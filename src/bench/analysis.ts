// What the raw results mean, as pure functions: where measured and analytic peaks disagree and
// why, how TypeScript compares with torch, which strategy and chunk size to recommend, and what
// that saves on a whole 40-layer model. The report and the consistency check both use these,
// so the report can always be re-derived from the raw JSON.

import { STAGE } from "../reference/safetensors/writer.js";
import { formatBytes } from "../reference/size.js";
import { QWEN35_MOE } from "./grid.js";
import { STEP_COLLECT_BYTES } from "./ledger.js";
import { type FuseProblem, type LayerShape, inputBytes, projBytes } from "./problem.js";
import type { BenchResults, PointResult, TorchRun, TorchStrategy } from "./results.js";
import { STRATEGIES } from "./strategies/registry.js";
import type { StrategyName } from "./strategies/strategy.js";

/** Measured and analytic peaks disagree when they differ by more than this fraction. */
export const DISAGREEMENT = 0.1;
/** Differences below this are the runtime's own noise (JIT code, V8 heap, I/O buffers). */
export const NOISE_FLOOR = 8 << 20;
/** A point is "within 10% of the best time" when its median is at most this times the best. */
export const TIME_TOLERANCE = 1.1;
/** oQ today: stack-concat with 16 experts per chunk (`_DiscoveredPlan._STACK_CHUNK`). */
export const TODAY = { strategy: "stack-concat", chunk: 16 } as const;
/** The whole model the saving is stated for: Qwen3.5/3.6-35B-A3B, 40 layers x 256 experts. */
export const MODEL = { shape: QWEN35_MOE, layers: 40, experts: 256 } as const;

export function sameShape(a: LayerShape, b: LayerShape): boolean {
  return a.name === b.name && a.hidden === b.hidden && a.intermediate === b.intermediate;
}

/** The measured extra peak of a point, never negative. */
export function measuredPeak(p: PointResult): number {
  return Math.max(0, p.memory.extra);
}

export interface Disagreement {
  /** measured / analytic - 1. */
  readonly relative: number;
  readonly flagged: boolean;
  /** Why they differ, for flagged points; empty otherwise. */
  readonly explanation: string;
}

export function disagreement(p: PointResult): Disagreement {
  const measured = measuredPeak(p);
  const diff = measured - p.analyticPeak;
  const relative = p.analyticPeak === 0 ? (measured === 0 ? 0 : Infinity) : diff / p.analyticPeak;
  const flagged = Math.abs(relative) > DISAGREEMENT;
  if (!flagged) return { relative, flagged, explanation: "" };
  const strategy = STRATEGIES.get(p.strategy)!;
  let explanation: string;
  if (!p.memory.exceededBaseline) {
    explanation = "the run never rose above the high-water mark input generation left, so the measured value is only an upper bound";
  } else if (strategy.inputs === "disk" && diff < 0 && -diff <= 2 * projBytes(p.shape) * Math.min(p.chunk, p.experts) + STAGE + NOISE_FLOOR) {
    explanation = `the analytic peak counts all the streaming fuse allocates, and not all of it is written: the writer's ${formatBytes(STAGE)} stage (used only for chunks under ${formatBytes(STAGE / 4)}) and the second step buffer (used only when a tensor takes more than one step); pages never written are not resident`;
  } else if (strategy.inputs === "memory" && strategy.chunked && diff > 0 && diff <= STEP_COLLECT_BYTES + NOISE_FLOOR) {
    explanation = `chunk temporaries dropped between steps are collected once ${formatBytes(STEP_COLLECT_BYTES)} have accumulated (JavaScript frees a buffer only when V8 collects it), so up to that much is still resident at the peak`;
  } else if (Math.abs(diff) <= NOISE_FLOOR) {
    explanation = `the ${formatBytes(Math.abs(diff))} difference is within the runtime's own noise (up to ${formatBytes(NOISE_FLOOR)}: JIT code, V8 heap, I/O buffers), large against so small an analytic peak`;
  } else {
    explanation = `unexplained ${diff > 0 ? "excess" : "shortfall"} of ${formatBytes(Math.abs(diff))}: investigate before trusting this point`;
  }
  return { relative, flagged, explanation };
}

// ---- torch side by side -------------------------------------------------------------------

/** Which TypeScript point each torch strategy is compared with. */
export function tsCounterpart(torch: Exclude<TorchStrategy, "baseline">, experts: number): { strategy: StrategyName; chunk: number } {
  if (torch === "prealloc") return { strategy: "prealloc", chunk: experts };
  return { strategy: "stack-concat", chunk: torch === "chunked16" ? Math.min(16, experts) : experts };
}

export interface TorchComparison {
  readonly shape: LayerShape;
  readonly experts: number;
  readonly torchStrategy: Exclude<TorchStrategy, "baseline">;
  readonly torchSeconds?: number;
  readonly torchPeakRss?: number;
  /** torch's peak RSS minus the baseline run's (same inputs, no fuse). */
  readonly torchExtra?: number;
  readonly ts?: PointResult;
  /** TypeScript median time / torch fuse time. */
  readonly timeRatio?: number;
  /** TypeScript measured extra / torch extra. */
  readonly memoryRatio?: number;
  readonly error?: string;
}

export function torchComparisons(results: BenchResults): TorchComparison[] {
  const runs = results.torch.runs;
  const out: TorchComparison[] = [];
  const blocks = new Map<string, TorchRun[]>();
  for (const r of runs) {
    const key = `${r.shape.name}|${r.experts}`;
    blocks.set(key, [...(blocks.get(key) ?? []), r]);
  }
  for (const block of blocks.values()) {
    const baseline = block.find((r) => r.strategy === "baseline");
    for (const r of block) {
      if (r.strategy === "baseline") continue;
      const want = tsCounterpart(r.strategy, r.experts);
      const ts = results.points.find((p) => sameShape(p.shape, r.shape) && p.experts === r.experts && p.strategy === want.strategy && p.chunk === want.chunk);
      const torchExtra = r.maxRss !== undefined && baseline?.maxRss !== undefined ? r.maxRss - baseline.maxRss : undefined;
      out.push({
        shape: r.shape,
        experts: r.experts,
        torchStrategy: r.strategy,
        ...(r.fuseSeconds !== undefined ? { torchSeconds: r.fuseSeconds } : {}),
        ...(r.maxRss !== undefined ? { torchPeakRss: r.maxRss } : {}),
        ...(torchExtra !== undefined ? { torchExtra } : {}),
        ...(ts ? { ts } : {}),
        ...(ts && r.fuseSeconds ? { timeRatio: ts.time.medianMs / 1000 / r.fuseSeconds } : {}),
        ...(ts && torchExtra !== undefined && torchExtra > 0 ? { memoryRatio: measuredPeak(ts) / torchExtra } : {}),
        ...(r.error !== undefined ? { error: r.error } : baseline?.error !== undefined ? { error: `baseline: ${baseline.error}` } : {}),
      });
    }
  }
  return out;
}

// ---- recommendations ----------------------------------------------------------------------

export interface Choice {
  readonly point: PointResult;
  readonly peak: number;
}

export interface Recommendation {
  readonly shape: LayerShape;
  readonly experts: number;
  /** The fastest in-memory point (median time). */
  readonly fastest: Choice;
  /** Smallest peak among in-memory points within 10% of the fastest time. */
  readonly inMemory: Choice;
  /** oQ today (stack-concat, chunk 16 or the largest measured chunk below it). */
  readonly today?: Choice;
  /** The disk-to-disk stream: smallest peak within 10% of the fastest stream time. */
  readonly disk?: Choice;
}

function choose(candidates: readonly PointResult[]): { fastest: Choice; best: Choice } | undefined {
  if (candidates.length === 0) return undefined;
  const choice = (p: PointResult): Choice => ({ point: p, peak: measuredPeak(p) });
  const fastest = candidates.reduce((a, b) => (b.time.medianMs < a.time.medianMs ? b : a));
  const eligible = candidates.filter((p) => p.time.medianMs <= TIME_TOLERANCE * fastest.time.medianMs);
  const best = eligible.reduce((a, b) => {
    const d = measuredPeak(b) - measuredPeak(a);
    return d < 0 || (d === 0 && b.time.medianMs < a.time.medianMs) ? b : a;
  });
  return { fastest: choice(fastest), best: choice(best) };
}

/** The chunk size standing for "today" at this E: 16, or the largest measured one below it. */
function todayPoint(block: readonly PointResult[]): PointResult | undefined {
  const sc = block.filter((p) => p.strategy === TODAY.strategy && p.chunk <= TODAY.chunk);
  return sc.reduce<PointResult | undefined>((a, b) => (a === undefined || b.chunk > a.chunk ? b : a), undefined);
}

export function recommendations(results: BenchResults): Recommendation[] {
  const out: Recommendation[] = [];
  for (const { shape, experts } of results.grid.blocks.flatMap((b) => b.experts.map((E) => ({ shape: b.shape, experts: E })))) {
    const block = results.points.filter((p) => sameShape(p.shape, shape) && p.experts === experts);
    const mem = choose(block.filter((p) => STRATEGIES.get(p.strategy)!.inputs === "memory"));
    if (mem === undefined) continue;
    const disk = choose(block.filter((p) => STRATEGIES.get(p.strategy)!.inputs === "disk"));
    const today = todayPoint(block);
    out.push({
      shape,
      experts,
      fastest: mem.fastest,
      inMemory: mem.best,
      ...(today ? { today: { point: today, peak: measuredPeak(today) } } : {}),
      ...(disk ? { disk: disk.best } : {}),
    });
  }
  return out;
}

// ---- the whole model ----------------------------------------------------------------------

export interface ModelSaving {
  readonly shape: LayerShape;
  readonly layers: number;
  readonly experts: number;
  /** "measured" when the grid has that E for that shape, else the strategies' analytic peaks. */
  readonly source: "measured" | "analytic";
  /** Per-expert weights of all layers, resident in oQ's eager path. */
  readonly residentWeights: number;
  readonly today: { readonly strategy: StrategyName; readonly chunk: number; readonly transient: number };
  readonly recommended: { readonly strategy: StrategyName; readonly chunk: number; readonly transient: number };
  readonly stream?: { readonly chunk: number; readonly transient: number };
  /** Peak saved: today's per-layer transient minus the recommended one (layers fuse one at a time). */
  readonly saving: number;
}

/**
 * What oQ would save on Qwen3.5/3.6-35B-A3B (40 layers x 256 experts). Layers are fused one
 * after another and each layer's transient is freed before the next, so the model's peak is
 * its resident weights plus ONE layer's transient: the saving is per layer, not times 40.
 * Measured when the grid has that shape at E=256, else from the analytic peaks.
 */
export function modelSaving(results: BenchResults, recs: readonly Recommendation[]): ModelSaving | undefined {
  const { shape } = MODEL;
  const problem = (chunk: number): FuseProblem => ({ shape, experts: MODEL.experts, chunk });
  const residentWeights = MODEL.layers * inputBytes({ shape, experts: MODEL.experts });
  const rec = recs.find((r) => sameShape(r.shape, shape) && r.experts === MODEL.experts);
  if (rec?.today !== undefined) {
    return {
      ...MODEL,
      source: "measured",
      residentWeights,
      today: { strategy: rec.today.point.strategy, chunk: rec.today.point.chunk, transient: rec.today.peak },
      recommended: { strategy: rec.inMemory.point.strategy, chunk: rec.inMemory.point.chunk, transient: rec.inMemory.peak },
      ...(rec.disk ? { stream: { chunk: rec.disk.point.chunk, transient: rec.disk.peak } } : {}),
      saving: rec.today.peak - rec.inMemory.peak,
    };
  }
  // Not measured at E=256: the strategies' analytic peaks (identical for every C but stream's).
  const analytic = (name: StrategyName, chunk: number) => STRATEGIES.get(name)!.analyticPeak(problem(chunk));
  const memoryNames = results.strategies.filter((n) => STRATEGIES.get(n)!.inputs === "memory");
  if (memoryNames.length === 0) return undefined;
  const best = memoryNames.reduce((a, b) => (analytic(b, TODAY.chunk) < analytic(a, TODAY.chunk) ? b : a));
  const today = analytic(TODAY.strategy, TODAY.chunk);
  return {
    ...MODEL,
    source: "analytic",
    residentWeights,
    today: { strategy: TODAY.strategy, chunk: TODAY.chunk, transient: today },
    recommended: { strategy: best, chunk: TODAY.chunk, transient: analytic(best, TODAY.chunk) },
    ...(results.strategies.includes("stream") ? { stream: { chunk: 1, transient: analytic("stream", 1) } } : {}),
    saving: today - analytic(best, TODAY.chunk),
  };
}
