// The derived numbers: disagreement flags and their explanations, the recommendation rule, the
// whole-model saving and the torch ratios, on hand-made results.

import { describe, expect, it } from "vitest";
import { disagreement, modelSaving, recommendations, torchComparisons } from "../../src/bench/analysis.js";
import { GRIDS, QWEN35_MOE } from "../../src/bench/grid.js";
import type { LayerShape } from "../../src/bench/problem.js";
import type { BenchResults, PointResult, TorchRun } from "../../src/bench/results.js";
import { RESULTS_SCHEMA } from "../../src/bench/results.js";
import { STRATEGIES } from "../../src/bench/strategies/registry.js";
import type { StrategyName } from "../../src/bench/strategies/strategy.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function point(strategy: StrategyName, chunk: number, medianMs: number, extra: number, shape: LayerShape = QWEN35_MOE, experts = 256): PointResult {
  const problem = { shape, experts, chunk };
  const analyticPeak = STRATEGIES.get(strategy)!.analyticPeak(problem);
  const baselineRss = 2 * GiB;
  return {
    shape,
    experts,
    chunk,
    strategy,
    residentInputBytes: 0,
    outputBytes: 0,
    analyticPeak,
    peakMoment: "",
    time: { medianMs, minMs: medianMs, maxMs: medianMs, meanMs: medianMs, samples: 3, rmePercent: 0 },
    memory: { baselineRss, baselineMaxRss: baselineRss, peakMaxRss: baselineRss + extra, extra, exceededBaseline: extra > 0 },
    verified: true,
  };
}

function withExtra(p: PointResult, extra: number): PointResult {
  return { ...p, memory: { ...p.memory, extra, peakMaxRss: p.memory.baselineRss + extra, exceededBaseline: extra > 0 } };
}

function results(points: PointResult[], torchRuns: TorchRun[] = []): BenchResults {
  return {
    schema: RESULTS_SCHEMA,
    createdAt: "2026-01-01T00:00:00.000Z",
    host: "h",
    grid: { ...GRIDS.full!, blocks: [{ shape: QWEN35_MOE, experts: [256] }] },
    strategies: ["stack-concat", "prealloc", "split-retain", "stream"],
    environment: {
      node: "v20",
      platform: "linux",
      arch: "x64",
      cpuModel: "x",
      cpus: 2,
      totalMemory: 1,
      loadAverageStart: [0],
      loadAverageEnd: [0],
      childNodeFlags: [],
      childEnv: {},
      durationSeconds: 1,
    },
    points,
    failures: [],
    torch: { status: "ran", runs: torchRuns },
  };
}

describe("disagreement", () => {
  it("flags more than 10% either way, and only that", () => {
    const p = point("prealloc", 256, 1000, 0);
    const a = p.analyticPeak;
    expect(disagreement(withExtra(p, Math.round(a * 1.09))).flagged).toBe(false);
    expect(disagreement(withExtra(p, Math.round(a * 1.11))).flagged).toBe(true);
    expect(disagreement(withExtra(p, Math.round(a * 0.89))).flagged).toBe(true);
    expect(disagreement(withExtra(p, a)).explanation).toBe("");
  });

  it("explains each kind of disagreement, and admits an unexplained one", () => {
    const stream = point("stream", 1, 10, 300 * 1024, { name: "s", hidden: 512, intermediate: 128 });
    expect(disagreement(stream).explanation).toMatch(/second step buffer.*pages never written are not resident/);
    const sc = point("stack-concat", 1, 10, 0, { name: "s", hidden: 512, intermediate: 128 }, 16);
    expect(disagreement(withExtra(sc, sc.analyticPeak + 4 * MiB)).explanation).toMatch(/collected once/);
    const pre = point("prealloc", 8, 1, 0, { name: "s", hidden: 64, intermediate: 32 }, 8);
    expect(disagreement(withExtra(pre, pre.analyticPeak * 2)).explanation).toMatch(/runtime's own noise/);
    const big = point("prealloc", 256, 1000, 3 * GiB);
    expect(disagreement(big).explanation).toMatch(/unexplained excess/);
    const under = { ...big, memory: { ...big.memory, exceededBaseline: false } };
    expect(disagreement(under).explanation).toMatch(/upper bound/);
  });
});

describe("recommendations", () => {
  it("picks the smallest peak within 10% of the fastest in-memory time, and states today's cost", () => {
    const pts = [
      point("stack-concat", 16, 1000, 2 * GiB),
      point("stack-concat", 1, 950, 2 * GiB),
      point("prealloc", 256, 980, 1.5 * GiB), // within 10% of the fastest
      point("split-retain", 16, 900, 2.5 * GiB), // fastest
      point("stream", 1, 3000, 8 * MiB),
      point("stream", 16, 2000, 68 * MiB),
    ];
    const [rec] = recommendations(results(pts));
    expect(rec!.fastest.point.strategy).toBe("split-retain");
    expect(rec!.inMemory.point.strategy).toBe("prealloc");
    expect(rec!.today!.point.chunk).toBe(16);
    expect(rec!.disk!.point.chunk).toBe(16); // the 1-chunk stream is 50% slower
    const m = modelSaving(results(pts), [rec!])!;
    expect(m.source).toBe("measured");
    expect(m.saving).toBe(0.5 * GiB);
    expect(m.residentWeights).toBe(40 * 1.5 * GiB);
  });

  it("excludes a lower peak that is more than 10% slower", () => {
    const pts = [point("stack-concat", 16, 1000, 2 * GiB), point("prealloc", 256, 1200, 1.5 * GiB)];
    expect(recommendations(results(pts))[0]!.inMemory.point.strategy).toBe("stack-concat");
  });

  it("falls back to analytic peaks for the whole model when E=256 was not measured", () => {
    const r = { ...results([]), grid: GRIDS.quick! };
    const m = modelSaving(r, [])!;
    expect(m.source).toBe("analytic");
    expect(m.today.transient).toBe(2 * GiB); // 4eE at E=256, H 2048, I 512
    expect(m.recommended).toMatchObject({ strategy: "prealloc", transient: 1.5 * GiB });
    expect(m.saving).toBe(0.5 * GiB);
  });
});

describe("torch comparisons", () => {
  it("subtracts the baseline run and pairs each torch strategy with its TypeScript point", () => {
    const pts = [point("stack-concat", 16, 2000, 2 * GiB), point("stack-concat", 256, 1800, 2 * GiB), point("prealloc", 256, 1000, 1.5 * GiB)];
    const runs: TorchRun[] = [
      { shape: QWEN35_MOE, experts: 256, strategy: "baseline", maxRss: 2 * GiB },
      { shape: QWEN35_MOE, experts: 256, strategy: "chunked16", fuseSeconds: 4, maxRss: 6 * GiB },
      { shape: QWEN35_MOE, experts: 256, strategy: "stackcat", fuseSeconds: 3.6, maxRss: 5 * GiB },
      { shape: QWEN35_MOE, experts: 256, strategy: "prealloc", fuseSeconds: 2, maxRss: 3.5 * GiB },
    ];
    const c = torchComparisons(results(pts, runs));
    const chunked = c.find((x) => x.torchStrategy === "chunked16")!;
    expect(chunked.ts!.chunk).toBe(16);
    expect(chunked.torchExtra).toBe(4 * GiB);
    expect(chunked.timeRatio).toBeCloseTo(0.5);
    expect(chunked.memoryRatio).toBeCloseTo(0.5);
    expect(c.find((x) => x.torchStrategy === "stackcat")!.ts!.chunk).toBe(256);
    expect(c.find((x) => x.torchStrategy === "prealloc")!.memoryRatio).toBeCloseTo(1);
  });

  it("carries a failed baseline into the comparison instead of inventing an extra", () => {
    const runs: TorchRun[] = [
      { shape: QWEN35_MOE, experts: 256, strategy: "baseline", error: "oops" },
      { shape: QWEN35_MOE, experts: 256, strategy: "prealloc", fuseSeconds: 2, maxRss: GiB },
    ];
    const [c] = torchComparisons(results([], runs));
    expect(c!.torchExtra).toBeUndefined();
    expect(c!.error).toBe("baseline: oops");
  });
});
