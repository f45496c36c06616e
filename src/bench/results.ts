// The raw results of a benchmark run: what `bench/results/<date>-<host>.json` holds. Everything
// in the Markdown report and the charts is derived from this, so a report can be re-rendered
// from the JSON alone.

import type { Grid } from "./grid.js";
import type { LayerShape } from "./problem.js";
import type { StrategyName } from "./strategies/strategy.js";

export const RESULTS_SCHEMA = "moe-prefuse-bench/1";

export interface TimeStats {
  /** tinybench latency p50, ms. */
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly meanMs: number;
  readonly samples: number;
  /** Relative margin of error of the mean, percent. */
  readonly rmePercent: number;
}

export interface MemoryStats {
  /** RSS right before the first run (inputs generated, collected), bytes. */
  readonly baselineRss: number;
  /** maxRSS (high-water mark) at the same moment, bytes. */
  readonly baselineMaxRss: number;
  /** maxRSS after the first run, bytes. */
  readonly peakMaxRss: number;
  /** peakMaxRss - baselineRss: what the first run added at its worst moment. */
  readonly extra: number;
  /**
   * False when the run never rose above the high-water mark input generation had left, so
   * `extra` is only an upper bound.
   */
  readonly exceededBaseline: boolean;
}

export interface PointResult {
  readonly shape: LayerShape;
  readonly experts: number;
  readonly chunk: number;
  readonly strategy: StrategyName;
  /** Bytes of per-expert inputs resident in the process (0 when read from disk). */
  readonly residentInputBytes: number;
  readonly outputBytes: number;
  /** The strategy's ledger: bytes live at its worst moment, and what they were. */
  readonly analyticPeak: number;
  readonly peakMoment: string;
  readonly time: TimeStats;
  readonly memory: MemoryStats;
  /** Every output byte compared with the inputs after the first run. */
  readonly verified: boolean;
  /** The machine's 1-minute load average when the point started (noise indicator). */
  readonly loadAverage?: number;
}

export interface PointFailure {
  readonly shape: LayerShape;
  readonly experts: number;
  readonly chunk: number;
  readonly strategy: StrategyName;
  readonly reason: string;
  /** "skipped" (not run, e.g. over the memory limit) or "failed" (the child failed). */
  readonly kind: "skipped" | "failed";
}

export type TorchStrategy = "baseline" | "stackcat" | "chunked16" | "prealloc";

export interface TorchRun {
  readonly shape: LayerShape;
  readonly experts: number;
  readonly strategy: TorchStrategy;
  /** The anchor's own fuse time (`fuse_s`), absent for the baseline run. */
  readonly fuseSeconds?: number;
  /** Peak RSS of the whole python process, bytes. */
  readonly maxRss?: number;
  readonly error?: string;
}

export interface TorchSection {
  /** "ran", or why not: "not installed", "disabled", "no anchor". */
  readonly status: "ran" | "not installed" | "disabled" | "no anchor";
  readonly reason?: string;
  readonly python?: string;
  readonly version?: string;
  readonly anchor?: string;
  /** How peak RSS was read: `/usr/bin/time -v` or python's own getrusage. */
  readonly rssTool?: string;
  readonly runs: readonly TorchRun[];
}

export interface Environment {
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly totalMemory: number;
  readonly loadAverageStart: readonly number[];
  readonly loadAverageEnd: readonly number[];
  readonly childNodeFlags: readonly string[];
  readonly childEnv: Readonly<Record<string, string>>;
  readonly durationSeconds: number;
}

export interface BenchResults {
  readonly schema: typeof RESULTS_SCHEMA;
  readonly createdAt: string;
  readonly host: string;
  /** Free text shown at the top of the report (e.g. "preliminary: shared machine"). */
  readonly note?: string;
  readonly grid: Grid;
  readonly strategies: readonly StrategyName[];
  readonly environment: Environment;
  readonly points: readonly PointResult[];
  readonly failures: readonly PointFailure[];
  readonly torch: TorchSection;
}
