// The report's internal consistency, not its timings: every grid point is present exactly once
// (measured, or skipped with a reason), every measured point has its time and memory and a
// verified output, every analytic peak equals its strategy's formula, the Markdown table says
// what the raw data says (flags and explanations included), the recommendation obeys its rule,
// and every chart is well-formed SVG with a panel per expert count and a series per strategy.
// `.ci/run` runs it on the quick grid as a smoke test.

import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { TIME_TOLERANCE, disagreement, measuredPeak, recommendations } from "./analysis.js";
import { gridPoints } from "./grid.js";
import { inputBytes, outputBytes } from "./problem.js";
import { chartFileName, mib, POINT_COLUMNS, POINTS_HEADING, RECOMMENDATION_HEADING } from "./report/markdown.js";
import { checkXml } from "./report/xml.js";
import { type BenchResults, type PointResult, RESULTS_SCHEMA } from "./results.js";
import { STRATEGIES, isStrategyName } from "./strategies/registry.js";

export interface ReportFiles {
  readonly results: BenchResults;
  readonly stem: string;
  readonly markdown: string;
  /** Chart file name -> content. */
  readonly charts: ReadonlyMap<string, string>;
}

const key = (shape: string, E: number, strategy: string, C: number) => `${shape} E=${E} ${strategy} C=${C}`;
const pointKey = (p: { shape: { name: string }; experts: number; strategy: string; chunk: number }) => key(p.shape.name, p.experts, p.strategy, p.chunk);
const finite = (...v: number[]) => v.every((x) => typeof x === "number" && Number.isFinite(x));

function checkPoint(p: PointResult): string[] {
  const out: string[] = [];
  const k = pointKey(p);
  const t = p.time;
  if (!finite(t.medianMs, t.minMs, t.maxMs, t.meanMs) || !(t.samples >= 1)) out.push(`${k}: no time measurement`);
  else if (!(t.minMs >= 0 && t.minMs <= t.medianMs && t.medianMs <= t.maxMs))
    out.push(`${k}: time statistics out of order (min ${t.minMs}, median ${t.medianMs}, max ${t.maxMs})`);
  const m = p.memory;
  if (!finite(m.baselineRss, m.baselineMaxRss, m.peakMaxRss, m.extra)) out.push(`${k}: no memory measurement`);
  else {
    if (m.extra !== m.peakMaxRss - m.baselineRss) out.push(`${k}: measured extra ${m.extra} is not peak maxRSS - baseline RSS`);
    if (m.peakMaxRss < m.baselineMaxRss) out.push(`${k}: maxRSS went down (${m.baselineMaxRss} -> ${m.peakMaxRss})`);
    if (m.exceededBaseline !== m.peakMaxRss > m.baselineMaxRss) out.push(`${k}: exceededBaseline contradicts the maxRSS values`);
  }
  if (p.verified !== true) out.push(`${k}: output not verified`);
  const strategy = STRATEGIES.get(p.strategy)!;
  const problem = { shape: p.shape, experts: p.experts, chunk: p.chunk };
  const formula = strategy.analyticPeak(problem);
  if (p.analyticPeak !== formula) out.push(`${k}: ledger peak ${p.analyticPeak} differs from the ${p.strategy} formula ${strategy.formula} = ${formula}`);
  const resident = strategy.inputs === "memory" ? inputBytes(problem) : 0;
  if (p.residentInputBytes !== resident || p.outputBytes !== outputBytes(problem)) out.push(`${k}: input/output byte counts do not match the problem`);
  return out;
}

/** Rows of the Markdown table under `heading`, as column name -> cell. */
function tableRows(markdown: string, heading: string): Array<Map<string, string>> | undefined {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) return undefined;
  const lines = markdown.slice(start + heading.length + 2).split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  if (first < 0) return undefined;
  const split = (l: string) =>
    l
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replace(/\\\|/g, "|"));
  const header = split(lines[first]!);
  const rows: Array<Map<string, string>> = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith("|")) break;
    const cells = split(l);
    rows.push(new Map(header.map((h, i) => [h, cells[i] ?? ""])));
  }
  return rows;
}

function checkMarkdown(results: BenchResults, markdown: string): string[] {
  const out: string[] = [];
  const rows = tableRows(markdown, POINTS_HEADING);
  if (rows === undefined) return [`the report has no '${POINTS_HEADING}' table`];
  if (rows.length > 0 && POINT_COLUMNS.some((c) => !rows[0]!.has(c))) return [`the points table lacks columns (${POINT_COLUMNS.join(", ")})`];
  const byKey = new Map(
    rows.map((r) => [key(r.get("shape")!, Number(r.get("E")), r.get("strategy")!, Number(/^\d+/.exec(r.get("C")!.replace(/^any \(ran /, ""))?.[0])), r]),
  );
  if (byKey.size !== results.points.length || rows.length !== results.points.length)
    out.push(`the points table has ${rows.length} rows for ${results.points.length} points`);
  for (const p of results.points) {
    const r = byKey.get(pointKey(p));
    if (r === undefined) {
      out.push(`${pointKey(p)}: missing from the points table`);
      continue;
    }
    if (r.get("measured MiB") !== mib(measuredPeak(p)) || r.get("analytic MiB") !== mib(p.analyticPeak))
      out.push(`${pointKey(p)}: table peaks differ from the raw data`);
    const d = disagreement(p);
    if ((r.get("flag") !== "") !== d.flagged)
      out.push(`${pointKey(p)}: flag ${d.flagged ? "missing" : "set"} for a ${(d.relative * 100).toFixed(1)}% difference`);
    if (d.flagged && r.get("explanation") === "") out.push(`${pointKey(p)}: flagged without an explanation`);
  }
  const recs = recommendations(results);
  const recRows = tableRows(markdown, RECOMMENDATION_HEADING) ?? [];
  for (const rec of recs) {
    const row = recRows.find((r) => r.get("shape") === rec.shape.name && Number(r.get("E")) === rec.experts);
    if (row === undefined) out.push(`no recommendation row for ${rec.shape.name} E=${rec.experts}`);
    // The rule itself: within the time tolerance of the fastest, and no eligible point has a smaller peak.
    const eligible = results.points.filter(
      (p) =>
        p.shape.name === rec.shape.name &&
        p.experts === rec.experts &&
        STRATEGIES.get(p.strategy)!.inputs === "memory" &&
        p.time.medianMs <= TIME_TOLERANCE * rec.fastest.point.time.medianMs,
    );
    if (!eligible.includes(rec.inMemory.point)) out.push(`${rec.shape.name} E=${rec.experts}: the recommended point is not within the time tolerance`);
    if (eligible.some((p) => measuredPeak(p) < rec.inMemory.peak))
      out.push(`${rec.shape.name} E=${rec.experts}: an eligible point has a smaller peak than the recommended one`);
  }
  return out;
}

function checkCharts(files: ReportFiles): string[] {
  const out: string[] = [];
  const { results, stem } = files;
  for (const { shape, experts } of results.grid.blocks) {
    for (const kind of ["memory", "time"]) {
      const name = chartFileName(stem, kind, shape.name);
      const svg = files.charts.get(name);
      if (svg === undefined) {
        out.push(`chart ${name} is missing`);
        continue;
      }
      let summary;
      try {
        summary = checkXml(svg);
      } catch (e) {
        out.push(`chart ${name} is not well-formed XML: ${(e as Error).message}`);
        continue;
      }
      if (summary.root !== "svg") out.push(`chart ${name}: root element is <${summary.root}>, not <svg>`);
      for (const E of experts) if (!summary.texts.includes(`E = ${E}`)) out.push(`chart ${name}: no panel for E = ${E}`);
      for (const s of results.strategies) {
        if (!summary.texts.some((t) => t.startsWith(s))) out.push(`chart ${name}: no legend entry for ${s}`);
      }
      if (results.points.some((p) => p.shape.name === shape.name) && (summary.elements.get("polyline") ?? 0) + (summary.elements.get("circle") ?? 0) === 0) {
        out.push(`chart ${name}: draws no data`);
      }
    }
  }
  return out;
}

/** Every inconsistency found; empty when the report is consistent. */
export function checkReport(files: ReportFiles): string[] {
  const { results } = files;
  if (results.schema !== RESULTS_SCHEMA) return [`results schema is '${String(results.schema)}', expected '${RESULTS_SCHEMA}'`];
  const out: string[] = [];
  const unknown = results.strategies.filter((s) => !isStrategyName(s));
  if (unknown.length > 0) return [`unknown strategies ${unknown.join(", ")}`];
  const expected = new Map(
    gridPoints(results.grid, results.strategies).map((p) => [key(p.problem.shape.name, p.problem.experts, p.strategy, p.problem.chunk), 0]),
  );
  for (const p of [...results.points, ...results.failures]) {
    const k = pointKey(p);
    const seen = expected.get(k);
    if (seen === undefined) out.push(`${k}: not a point of the ${results.grid.name} grid`);
    else expected.set(k, seen + 1);
  }
  for (const [k, n] of expected) {
    if (n === 0) out.push(`${k}: missing (neither measured nor skipped)`);
    if (n > 1) out.push(`${k}: reported ${n} times`);
  }
  for (const f of results.failures) if (f.kind === "failed") out.push(`${pointKey(f)}: failed: ${f.reason}`);
  for (const p of results.points) out.push(...checkPoint(p));
  if (results.torch.status === "ran" && results.torch.runs.length === 0) out.push("torch ran but recorded no runs");
  out.push(...checkMarkdown(results, files.markdown));
  out.push(...checkCharts(files));
  return out;
}

/** Reads `<stem>.json`, `<stem>.md` and the charts beside them, and checks them. */
export async function checkReportFiles(jsonPath: string): Promise<string[]> {
  const dir = dirname(jsonPath);
  const stem = basename(jsonPath, ".json");
  const results = JSON.parse(await readFile(jsonPath, "utf8")) as BenchResults;
  let markdown = "";
  try {
    markdown = await readFile(join(dir, `${stem}.md`), "utf8");
  } catch {
    return [`${stem}.md is missing`];
  }
  const charts = new Map<string, string>();
  for (const { shape } of results.grid?.blocks ?? []) {
    for (const kind of ["memory", "time"]) {
      const name = chartFileName(stem, kind, shape.name);
      try {
        charts.set(name, await readFile(join(dir, name), "utf8"));
      } catch {
        // reported as missing by checkReport
      }
    }
  }
  return checkReport({ results, stem, markdown, charts });
}
