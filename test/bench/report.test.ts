// The benchmark end to end on the tiny grid (real child processes, a few seconds), and the
// consistency check: it passes on what the harness writes and fails on every kind of damage.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBenchmark } from "../../src/bench/bench.js";
import { type ReportFiles, checkReport } from "../../src/bench/check.js";
import { GRIDS, gridPoints } from "../../src/bench/grid.js";
import { chartFileName } from "../../src/bench/report/markdown.js";
import type { BenchResults } from "../../src/bench/results.js";
import { STRATEGY_NAMES } from "../../src/bench/strategies/strategy.js";

let files: ReportFiles;
let written: string[];
// One run shared by every test of this file (tempDir() would remove it after the first test).
const out = mkdtempSync(join(tmpdir(), "moe-prefuse-bench-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

beforeAll(async () => {
  const report = await runBenchmark({
    grid: GRIDS.tiny!,
    strategies: [...STRATEGY_NAMES],
    outDir: out,
    workDir: out,
    maxMemory: 1 << 30,
    torch: false,
    host: "test-host",
  });
  expect(report.problems).toEqual([]);
  written = [...report.files];
  const charts = new Map(
    readdirSync(out)
      .filter((f) => f.endsWith(".svg"))
      .map((f) => [f, readFileSync(join(out, f), "utf8")]),
  );
  files = { results: report.results, stem: report.stem, markdown: readFileSync(join(out, `${report.stem}.md`), "utf8"), charts };
}, 60_000);

const clone = (r: BenchResults): BenchResults => JSON.parse(JSON.stringify(r)) as BenchResults;
const withResults = (results: BenchResults): ReportFiles => ({ ...files, results });

describe("a tiny benchmark run", () => {
  it("measures every point of the grid, with time, memory and a verified output", () => {
    const { results } = files;
    expect(results.points.length + results.failures.length).toBe(gridPoints(GRIDS.tiny!, STRATEGY_NAMES).length);
    expect(results.failures).toEqual([]);
    for (const p of results.points) {
      expect(p.verified).toBe(true);
      expect(p.time.samples).toBeGreaterThanOrEqual(GRIDS.tiny!.iterations);
      expect(p.memory.peakMaxRss).toBeGreaterThan(0);
    }
    expect(files.stem).toMatch(/^\d{4}-\d\d-\d\d-test-host$/);
    expect(written.map((f) => f.slice(f.lastIndexOf("/") + 1)).sort()).toEqual(
      [`${files.stem}.json`, `${files.stem}.md`, chartFileName(files.stem, "memory", "tiny"), chartFileName(files.stem, "time", "tiny")].sort(),
    );
    expect(results.torch.status).toBe("disabled");
  });

  it("writes charts that an independent XML parser accepts as SVG", () => {
    for (const [name, svg] of files.charts) {
      const r = spawnSync("python3", ["-c", "import sys, xml.etree.ElementTree as ET; print(ET.fromstring(sys.stdin.read()).tag)"], {
        input: svg,
        encoding: "utf8",
      });
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim()).toBe("{http://www.w3.org/2000/svg}svg");
    }
  });

  it("reports the recommendation, the model saving and the torch status in the Markdown", () => {
    expect(files.markdown).toContain("## Recommendation");
    expect(files.markdown).toMatch(/\| tiny \| 8 \|.*\*\*/);
    expect(files.markdown).toContain("40-layer, 256-expert model");
    expect(files.markdown).toContain("torch: **disabled**");
  });
});

describe("checkReport", () => {
  it("accepts the report as written", () => {
    expect(checkReport(files)).toEqual([]);
  });

  it("finds a missing point", () => {
    const r = clone(files.results);
    (r.points as unknown[]).pop();
    expect(checkReport(withResults(r)).join("\n")).toMatch(/missing \(neither measured nor skipped\)/);
  });

  it("finds a duplicated point and one outside the grid", () => {
    const r = clone(files.results);
    (r.points as unknown[]).push(r.points[0]!, { ...r.points[0]!, experts: 99 });
    const problems = checkReport(withResults(r)).join("\n");
    expect(problems).toMatch(/reported 2 times/);
    expect(problems).toMatch(/E=99 .*not a point of the tiny grid/);
  });

  it("finds an analytic peak that is not the strategy's formula", () => {
    const r = clone(files.results);
    (r.points[0] as { analyticPeak: number }).analyticPeak += 2;
    expect(checkReport(withResults(r)).join("\n")).toMatch(/differs from the stack-concat formula/);
  });

  it("finds a point without time, without memory, or unverified", () => {
    const r = clone(files.results);
    (r.points[0] as { time: { samples: number } }).time.samples = 0;
    (r.points[1] as { memory: { extra: number } }).memory.extra = Number.NaN;
    (r.points[2] as { verified: boolean }).verified = false;
    const problems = checkReport(withResults(r)).join("\n");
    expect(problems).toMatch(/no time measurement/);
    expect(problems).toMatch(/no memory measurement/);
    expect(problems).toMatch(/output not verified/);
  });

  it("finds a failed point", () => {
    const r = clone(files.results);
    const p = r.points[0]!;
    (r.points as unknown[]).shift();
    (r.failures as unknown[]).push({ shape: p.shape, experts: p.experts, chunk: p.chunk, strategy: p.strategy, kind: "failed", reason: "boom" });
    expect(checkReport(withResults(r)).join("\n")).toMatch(/failed: boom/);
  });

  it("finds a Markdown table that disagrees with the data", () => {
    const rowStart = files.markdown.indexOf("| tiny | 8 | stack-concat | 1 |");
    const rowEnd = files.markdown.indexOf("\n", rowStart);
    const cells = files.markdown.slice(rowStart, rowEnd).split(" | ");
    cells[7] = "999.9";
    const markdown = files.markdown.slice(0, rowStart) + cells.join(" | ") + files.markdown.slice(rowEnd);
    expect(checkReport({ ...files, markdown }).join("\n")).toMatch(/table peaks differ/);
    const noTable = files.markdown.replace("## Every point", "## Points");
    expect(checkReport({ ...files, markdown: noTable })).toEqual(["the report has no '## Every point' table"]);
  });

  it("finds a disagreement that is not flagged, or flagged without explanation", () => {
    const r = clone(files.results);
    const p = r.points.find((x) => x.strategy === "prealloc")! as { analyticPeak: number; memory: { extra: number; peakMaxRss: number; baselineRss: number } };
    // Make the measured peak 50% above the analytic one: the written table shows no flag for it.
    p.memory.extra = Math.round(p.analyticPeak * 1.5) + (64 << 20);
    p.memory.peakMaxRss = p.memory.baselineRss + p.memory.extra;
    expect(checkReport(withResults(r)).join("\n")).toMatch(/prealloc C=8: (table peaks differ|flag missing)/);
  });

  it("finds a broken, missing or empty chart", () => {
    const name = chartFileName(files.stem, "memory", "tiny");
    const broken = new Map(files.charts);
    broken.set(name, files.charts.get(name)!.replace("</svg>", ""));
    expect(checkReport({ ...files, charts: broken }).join("\n")).toMatch(/not well-formed XML: <svg> is never closed/);
    const missing = new Map(files.charts);
    missing.delete(name);
    expect(checkReport({ ...files, charts: missing })).toEqual([`chart ${name} is missing`]);
    const noPanel = new Map(files.charts);
    noPanel.set(name, files.charts.get(name)!.replace(">E = 8<", ">E = 9<"));
    expect(checkReport({ ...files, charts: noPanel }).join("\n")).toMatch(/no panel for E = 8/);
  });

  it("refuses results of another schema", () => {
    const r = { ...clone(files.results), schema: "other/1" } as unknown as BenchResults;
    expect(checkReport(withResults(r))).toEqual(["results schema is 'other/1', expected 'moe-prefuse-bench/1'"]);
  });
});
