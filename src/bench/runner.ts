// Running a grid: one fresh child process per point (so each maxRSS belongs to one point), E by
// E, with the torch anchor run for the same shape right after the TypeScript points of that E
// (side by side in one run). Points whose projected footprint exceeds the memory limit are
// skipped and reported, never run: the machine may be shared.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { cpus, hostname, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageRoot } from "../package-info.js";
import { formatBytes } from "../reference/size.js";
import { type Grid, type GridPoint, gridPoints } from "./grid.js";
import { writeExpertCheckpoint } from "./inputs.js";
import type { PointSpec } from "./measure.js";
import { describeProblem, inputBytes } from "./problem.js";
import { type BenchResults, type PointFailure, type PointResult, RESULTS_SCHEMA, type TorchRun, type TorchSection } from "./results.js";
import { STRATEGIES } from "./strategies/registry.js";
import type { StrategyName } from "./strategies/strategy.js";
import { TORCH_STRATEGIES, type TorchDiscovery, type TorchOptions, discoverTorch, runTorch } from "./torch.js";

/**
 * Node flags of the measuring child: `gc()` for the ledger's collections, and GC work on the
 * main thread so that a collection has returned dropped buffers when it returns.
 */
export const CHILD_NODE_FLAGS = ["--expose-gc", "--single-threaded-gc"];
/**
 * Environment of the measuring child. glibc serves blocks under its mmap threshold from its
 * heap and keeps them resident after free, and it raises that threshold (up to 32 MiB) each
 * time a larger mapped block is freed: chunk temporaries of a few MiB then stay resident and
 * the measured peak depends on allocation history (seen: +456 MiB on one run of 2.5 GiB).
 * Pinning the threshold at glibc's own default, 128 KiB, gives every buffer that matters its
 * own mapping, returned to the system when V8 frees it. No effect on other C libraries.
 */
export const CHILD_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: "131072" };

/** Runtime overhead assumed on top of inputs and the analytic peak when projecting a point. */
const RUNTIME_MARGIN = 256 << 20;
/** torch's peak relative to its inputs, as observed for the anchor's worst strategy (about 3.5x). */
const TORCH_PEAK_PER_INPUT_BYTE = 4;

export interface RunOptions {
  readonly grid: Grid;
  readonly strategies: readonly StrategyName[];
  /** Scratch space for on-disk inputs and outputs (removed afterwards). */
  readonly workDir: string;
  /** Points projected above this many bytes are skipped. */
  readonly maxMemory: number;
  /** Where to look for torch, or false to leave it out. */
  readonly torch: TorchOptions | false;
  readonly note?: string;
  readonly host?: string;
  readonly onProgress?: (line: string) => void;
}

function childScript(): string {
  const sibling = join(dirname(fileURLToPath(import.meta.url)), "child.js");
  // From the TypeScript sources (tests, tsx) the compiled child under dist/ is used.
  return existsSync(sibling) ? sibling : join(packageRoot(), "dist", "src", "bench", "child.js");
}

type ChildReply = { ok: true; result: PointResult } | { ok: false; error: string };

function runChild(spec: PointSpec): ChildReply {
  const r = spawnSync(process.execPath, [...CHILD_NODE_FLAGS, childScript(), JSON.stringify(spec)], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
    env: { ...process.env, ...CHILD_ENV },
  });
  const line = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as ChildReply;
  } catch {
    const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
    return { ok: false, error: `child process failed (${why}): ${(r.stderr ?? "").trim().split("\n").pop() ?? ""}` };
  }
}

/** The process footprint a point is expected to reach. */
export function projectedFootprint(point: GridPoint): number {
  const s = STRATEGIES.get(point.strategy)!;
  return (s.inputs === "memory" ? inputBytes(point.problem) : 0) + s.analyticPeak(point.problem) + RUNTIME_MARGIN;
}

function failure(point: GridPoint, kind: PointFailure["kind"], reason: string): PointFailure {
  const { shape, experts, chunk } = point.problem;
  return { shape, experts, chunk, strategy: point.strategy, kind, reason };
}

export async function runGrid(options: RunOptions): Promise<BenchResults> {
  const started = Date.now();
  const loadAverageStart = loadavg();
  const say = options.onProgress ?? (() => {});
  const discovery: TorchDiscovery =
    options.torch === false ? { unavailable: { status: "disabled", reason: "run without torch (--no-torch)", runs: [] } } : discoverTorch(options.torch);
  const torchReady = "setup" in discovery ? discovery.setup : undefined;
  if ("setup" in discovery) say(`torch: ${discovery.setup.version} via ${discovery.setup.python}, anchor ${discovery.setup.anchor}`);
  else say(`torch: ${discovery.unavailable.status}: ${discovery.unavailable.reason}`);

  await mkdir(options.workDir, { recursive: true });
  const scratch = await mkdtemp(join(options.workDir, "moe-prefuse-bench-"));
  const points: PointResult[] = [];
  const failures: PointFailure[] = [];
  const torchRuns: TorchRun[] = [];
  const all = gridPoints(options.grid, options.strategies);
  let done = 0;
  try {
    for (const { shape, experts } of options.grid.blocks.flatMap((b) => b.experts.map((E) => ({ shape: b.shape, experts: E })))) {
      const block = all.filter((p) => p.problem.shape === shape && p.problem.experts === experts);
      let inputDir: string | undefined;
      for (const point of block) {
        done++;
        const label = `[${done}/${all.length}] ${point.strategy} ${describeProblem(point.problem)}`;
        const projected = projectedFootprint(point);
        if (projected > options.maxMemory) {
          failures.push(failure(point, "skipped", `projected ${formatBytes(projected)} exceeds the ${formatBytes(options.maxMemory)} memory limit`));
          say(`${label}: skipped (over the memory limit)`);
          continue;
        }
        if (STRATEGIES.get(point.strategy)!.inputs === "disk" && inputDir === undefined) {
          inputDir = join(scratch, `input-${shape.name}-${experts}`);
          await writeExpertCheckpoint(inputDir, point.problem);
        }
        const spec: PointSpec = {
          problem: point.problem,
          strategy: point.strategy,
          iterations: options.grid.iterations,
          timeMs: options.grid.timeMs,
          workDir: scratch,
          ...(inputDir ? { inputDir } : {}),
        };
        const loadAverage = loadavg()[0]!;
        const reply = runChild(spec);
        if (reply.ok) {
          points.push({ ...reply.result, loadAverage });
          say(
            `${label}: ${reply.result.time.medianMs.toFixed(1)} ms, +${formatBytes(Math.max(0, reply.result.memory.extra))} (analytic ${formatBytes(reply.result.analyticPeak)})`,
          );
        } else {
          failures.push(failure(point, "failed", reply.error));
          say(`${label}: FAILED: ${reply.error}`);
        }
      }
      if (inputDir !== undefined) await rm(inputDir, { recursive: true, force: true });
      if (torchReady) {
        const projected = TORCH_PEAK_PER_INPUT_BYTE * inputBytes({ shape, experts }) + RUNTIME_MARGIN;
        for (const strategy of TORCH_STRATEGIES) {
          if (projected > options.maxMemory) {
            torchRuns.push({ shape, experts, strategy, error: `skipped: projected ${formatBytes(projected)} exceeds the memory limit` });
            continue;
          }
          const run = runTorch(torchReady, strategy, { shape, experts });
          torchRuns.push(run);
          say(`torch ${strategy} ${shape.name} E=${experts}: ${run.error ?? `${run.fuseSeconds ?? "-"} s, peak ${formatBytes(run.maxRss ?? 0)}`}`);
        }
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const torch: TorchSection =
    "setup" in discovery
      ? {
          status: "ran",
          python: discovery.setup.python,
          version: discovery.setup.version,
          anchor: discovery.setup.anchor,
          rssTool: discovery.setup.rssTool,
          runs: torchRuns,
        }
      : discovery.unavailable;
  return {
    schema: RESULTS_SCHEMA,
    createdAt: new Date(started).toISOString(),
    host: options.host ?? hostname(),
    ...(options.note ? { note: options.note } : {}),
    grid: options.grid,
    strategies: options.strategies,
    environment: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpuModel: cpus()[0]?.model ?? "unknown",
      cpus: cpus().length,
      totalMemory: totalmem(),
      loadAverageStart,
      loadAverageEnd: loadavg(),
      childNodeFlags: CHILD_NODE_FLAGS,
      childEnv: CHILD_ENV,
      durationSeconds: Math.round((Date.now() - started) / 1000),
    },
    points,
    failures,
    torch,
  };
}
