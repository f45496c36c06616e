// Measuring one grid point, inside the fresh child process that owns it. Order matters:
//   1. build the inputs (in memory, or open the per-expert checkpoint on disk), collect;
//   2. baseline: RSS and maxRSS now;
//   3. tinybench runs the strategy `iterations` times (more if the time budget allows); right
//      after the FIRST run, maxRSS is read (the peak of one fuse, from a clean process), then the
//      output is verified byte for byte; after every run the output is dropped and collected,
//      so each run starts from the baseline and pays the same first-touch page costs.
// The ledger's peak must be identical in every run and the strategy must release everything
// but its output: either failing is a strategy bug, reported as an error.

import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Bench } from "tinybench";
import { Checkpoint } from "../reference/checkpoint.js";
import { memoryWeights, type WeightSource } from "../reference/weights.js";
import { expertWeights } from "./inputs.js";
import { MemoryLedger, collectGarbage } from "./ledger.js";
import { type FuseProblem, inputBytes, outputBytes } from "./problem.js";
import type { MemoryStats, PointResult, TimeStats } from "./results.js";
import { getStrategy } from "./strategies/registry.js";
import type { StrategyName, StrategyOutput } from "./strategies/strategy.js";
import { verifyOutput } from "./verify.js";

export interface PointSpec {
  readonly problem: FuseProblem;
  readonly strategy: StrategyName;
  readonly iterations: number;
  readonly timeMs: number;
  /** The per-expert checkpoint, for strategies that read from disk. */
  readonly inputDir?: string;
  /** Where strategies that write to disk put their outputs (a fresh directory per run). */
  readonly workDir: string;
}

function rssNow(): { rss: number; maxRss: number } {
  return { rss: process.memoryUsage().rss, maxRss: process.resourceUsage().maxRSS * 1024 };
}

export async function measurePoint(spec: PointSpec): Promise<PointResult> {
  const strategy = getStrategy(spec.strategy);
  const { problem } = spec;
  const onDisk = strategy.inputs === "disk";
  if (onDisk && spec.inputDir === undefined) throw new Error(`strategy ${strategy.name} reads a checkpoint on disk: no input directory given`);
  const ckpt = onDisk ? await Checkpoint.open(spec.inputDir!) : undefined;
  const tensors = onDisk ? undefined : expertWeights(problem);
  const weights: WeightSource = ckpt ?? memoryWeights(tensors!);
  const layout = strategy.outputLayout(problem);
  const outputSize = layout.reduce((a, t) => a + t.byteLength, 0);

  let runs = 0;
  let output: StrategyOutput | undefined;
  let ledger: MemoryLedger | undefined;
  let analytic: { peak: number; moment: string } | undefined;
  let memory: MemoryStats | undefined;
  let verified = false;
  let baseline = rssNow();

  const bench = new Bench({ iterations: spec.iterations, time: spec.timeMs, warmup: false, throws: true });
  // In-memory strategies are synchronous and timed as such; the disk one is awaited.
  const task =
    strategy.inputs === "memory"
      ? () => {
          ledger = new MemoryLedger();
          output = strategy.run({ problem, tensors: tensors!, ledger });
        }
      : async () => {
          ledger = new MemoryLedger();
          output = await strategy.run({ problem, weights, config: ckpt!.config ?? {}, ledger, outDir: join(spec.workDir, `out-${process.pid}-${runs++}`) });
        };
  bench.add(`${strategy.name} E=${problem.experts} C=${problem.chunk}`, task, {
    // Said explicitly: otherwise tinybench calls a sync function once, untimed, to find out.
    async: strategy.inputs === "disk",
    afterEach: async () => {
      if (output === undefined || ledger === undefined) return;
      const after = rssNow();
      const held = output.residency === "memory" ? outputSize : 0;
      if (ledger.current !== held) throw new Error(`strategy ${strategy.name} still holds ${ledger.current} bytes after its run (its output is ${held})`);
      if (analytic === undefined) {
        analytic = { peak: ledger.peak, moment: ledger.peakDescription };
        memory = {
          baselineRss: baseline.rss,
          baselineMaxRss: baseline.maxRss,
          peakMaxRss: after.maxRss,
          extra: after.maxRss - baseline.rss,
          exceededBaseline: after.maxRss > baseline.maxRss,
        };
        await verifyOutput(layout, problem, output, weights);
        verified = true;
      } else if (ledger.peak !== analytic.peak) {
        throw new Error(`strategy ${strategy.name}: ledger peak ${ledger.peak} differs from the first run's ${analytic.peak}`);
      }
      if (output.residency === "disk") await rm(output.dir, { recursive: true, force: true });
      output = undefined;
      ledger = undefined;
      collectGarbage();
    },
  });

  collectGarbage();
  baseline = rssNow();
  try {
    await bench.run();
  } finally {
    await ckpt?.close();
  }
  const result = bench.tasks[0]!.result;
  if (result.state !== "completed" || analytic === undefined || memory === undefined) {
    throw new Error(`benchmark did not complete (${result.state})`);
  }
  const l = result.latency;
  const time: TimeStats = { medianMs: l.p50, minMs: l.min, maxMs: l.max, meanMs: l.mean, samples: l.samplesCount, rmePercent: l.rme };
  return {
    shape: problem.shape,
    experts: problem.experts,
    chunk: problem.chunk,
    strategy: strategy.name,
    residentInputBytes: onDisk ? 0 : inputBytes(problem),
    outputBytes: outputBytes(problem),
    analyticPeak: analytic.peak,
    peakMoment: analytic.moment,
    time,
    memory,
    verified,
  };
}
