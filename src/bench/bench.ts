// The benchmark's library API: run a grid, write the raw JSON, the Markdown report and the SVG
// charts as `<date>-<host>.*` in an output directory, and check the written report for
// consistency. `moe-prefuse bench` is a thin layer over these.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomically } from "../reference/atomic.js";
import { UsageError } from "../reference/errors.js";
import { checkReportFiles } from "./check.js";
import { renderCharts } from "./report/charts.js";
import { chartFileName, renderMarkdown } from "./report/markdown.js";
import { type BenchResults, RESULTS_SCHEMA } from "./results.js";
import { type RunOptions, runGrid } from "./runner.js";

export interface WrittenReport {
  readonly stem: string;
  /** Paths of the JSON, the Markdown and the charts. */
  readonly files: readonly string[];
  /** Consistency problems of the written report (empty when consistent). */
  readonly problems: readonly string[];
}

/** `<date>-<host>`, the file name stem of a run's outputs. */
export function reportStem(results: Pick<BenchResults, "createdAt" | "host">): string {
  const host = results.host.replace(/[^A-Za-z0-9._-]+/g, "_") || "host";
  return `${results.createdAt.slice(0, 10)}-${host}`;
}

async function put(path: string, content: string): Promise<string> {
  await writeFileAtomically(path, (temp) => writeFile(temp, content));
  return path;
}

/** Writes the raw results, the report and the charts into `outDir`, then checks them. */
export async function writeReport(results: BenchResults, outDir: string): Promise<WrittenReport> {
  const stem = reportStem(results);
  const files: string[] = [];
  const json = join(outDir, `${stem}.json`);
  files.push(await put(json, `${JSON.stringify(results, null, 2)}\n`));
  for (const chart of renderCharts(results)) files.push(await put(join(outDir, chartFileName(stem, chart.kind, chart.shape.name)), chart.svg));
  files.push(await put(join(outDir, `${stem}.md`), renderMarkdown(results, stem)));
  return { stem, files, problems: await checkReportFiles(json) };
}

/** Runs the grid and writes its report. */
export async function runBenchmark(options: RunOptions & { readonly outDir: string }): Promise<WrittenReport & { readonly results: BenchResults }> {
  const results = await runGrid(options);
  return { ...(await writeReport(results, options.outDir)), results };
}

/** Re-renders the report and charts of an existing raw JSON (e.g. after a report change). */
export async function rerenderReport(jsonPath: string, outDir: string): Promise<WrittenReport> {
  let results: BenchResults;
  try {
    results = JSON.parse(await readFile(jsonPath, "utf8")) as BenchResults;
  } catch (e) {
    throw new UsageError("INVALID_ARGUMENT", `cannot read benchmark results (${(e as Error).message})`, { file: jsonPath });
  }
  if (results?.schema !== RESULTS_SCHEMA)
    throw new UsageError("INVALID_ARGUMENT", `not a moe-prefuse benchmark result (schema '${String(results?.schema)}', expected '${RESULTS_SCHEMA}')`, {
      file: jsonPath,
    });
  return writeReport(results, outDir);
}
