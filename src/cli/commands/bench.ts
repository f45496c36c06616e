// `moe-prefuse bench`: what each prefuse strategy costs in time and peak memory over a grid of
// expert counts and chunk sizes, with torch side by side where installed. Writes
// `<date>-<host>.json`, `.md` and SVG charts, then checks the report's consistency (exit 1 when
// it is not). Progress goes to stderr, the summary to stdout.

import type { Command } from "commander";
import { tmpdir } from "node:os";
import { rerenderReport, runBenchmark, type WrittenReport } from "../../bench/bench.js";
import { GRIDS, getGrid } from "../../bench/grid.js";
import { getStrategy } from "../../bench/strategies/registry.js";
import { STRATEGY_NAMES } from "../../bench/strategies/strategy.js";
import { parseSize } from "../../reference/size.js";
import { packageRoot } from "../../package-info.js";
import { stderrLine, say } from "../output.js";

interface BenchOptions {
  grid: string;
  out: string;
  strategies?: string;
  torch: boolean;
  python?: string;
  torchAnchor?: string;
  maxMemory: string;
  workDir: string;
  note?: string;
  host?: string;
  render?: string;
  json?: boolean;
}

function summarise(report: WrittenReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const lines = [`wrote ${report.files.length} files:`, ...report.files.map((f) => `  ${f}`)];
    lines.push(report.problems.length === 0 ? "report consistent" : `report INCONSISTENT (${report.problems.length} problems):`);
    lines.push(...report.problems.map((p) => `  ${p}`));
    say(...lines);
  }
  if (report.problems.length > 0) process.exitCode = 1;
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("measure time and peak memory of the prefuse strategies over expert counts and chunk sizes")
    .option("--grid <name>", `which grid to run (${Object.keys(GRIDS).join(", ")})`, "quick")
    .option("--out <dir>", "directory for <date>-<host>.json, .md and the SVG charts", "bench/results")
    .option("--strategies <list>", `comma-separated subset of ${STRATEGY_NAMES.join(", ")}`)
    .option("--no-torch", "leave out the torch anchor")
    .option("--python <path>", "python with torch (default: $MOE_PREFUSE_PYTHON, .venv/bin/python, python3)")
    .option("--torch-anchor <path>", "torch_prefuse.py (default: $MOE_PREFUSE_TORCH_ANCHOR, shared/anchors/ beside an ancestor)")
    .option("--max-memory <size>", "skip points projected to need more than this", "8GiB")
    .option("--work-dir <dir>", "scratch space for on-disk inputs and outputs", tmpdir())
    .option("--note <text>", "a note shown at the top of the report (e.g. preliminary: shared machine)")
    .option("--host <name>", "host name used in the file names (default: this machine's)")
    .option("--render <json>", "re-render the report and charts of an existing results JSON instead of running")
    .option("--json", "print the summary as JSON")
    .action(async (opts: BenchOptions) => {
      if (opts.render !== undefined) {
        summarise(await rerenderReport(opts.render, opts.out), opts.json === true);
        return;
      }
      const grid = getGrid(opts.grid);
      const strategies = (
        opts.strategies
          ?.split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "") ?? [...STRATEGY_NAMES]
      ).map((s) => getStrategy(s).name);
      const report = await runBenchmark({
        grid,
        strategies: [...new Set(strategies)],
        outDir: opts.out,
        workDir: opts.workDir,
        maxMemory: parseSize(opts.maxMemory),
        torch: opts.torch
          ? {
              ...(opts.python ? { python: opts.python } : {}),
              ...(opts.torchAnchor ? { anchor: opts.torchAnchor } : {}),
              searchRoots: [packageRoot(), process.cwd()],
            }
          : false,
        ...(opts.note ? { note: opts.note } : {}),
        ...(opts.host ? { host: opts.host } : {}),
        onProgress: stderrLine,
      });
      summarise(report, opts.json === true);
    });
}
