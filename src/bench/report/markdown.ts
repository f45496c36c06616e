// The Markdown report: setting, strategies, recommendation and the whole-model saving, the
// issue's done-when checks, the charts, every point (measured vs analytic, flagged with an
// explanation where they disagree by more than 10%), torch side by side, and what failed.

import { formatBytes } from "../../reference/size.js";
import {
  DISAGREEMENT,
  type ModelSaving,
  type Recommendation,
  TIME_TOLERANCE,
  disagreement,
  measuredPeak,
  modelSaving,
  recommendations,
  sameShape,
  torchComparisons,
} from "../analysis.js";
import { QWEN35_MOE } from "../grid.js";
import { outputBytes, projBytes } from "../problem.js";
import type { BenchResults, PointResult } from "../results.js";
import { STRATEGIES } from "../strategies/registry.js";

const MiB = 2 ** 20;

/** The columns of the per-point table, which the consistency check reads back. */
export const POINT_COLUMNS = [
  "shape",
  "E",
  "strategy",
  "C",
  "median ms",
  "min-max ms",
  "runs",
  "measured MiB",
  "analytic MiB",
  "diff",
  "flag",
  "explanation",
  "worst moment (ledger)",
] as const;
export const POINTS_HEADING = "## Every point";
export const RECOMMENDATION_HEADING = "## Recommendation";

export function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}

export function ms(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function pct(v: number): string {
  return `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)}%`;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

function pointLabel(p: PointResult): string {
  return STRATEGIES.get(p.strategy)!.chunked ? `${p.strategy} C=${p.chunk}` : `${p.strategy} (any C)`;
}

function choiceText(p: PointResult, peak: number): string {
  return `${pointLabel(p)}: ${ms(p.time.medianMs)} ms, +${formatBytes(peak)}`;
}

function recommendationTable(recs: readonly Recommendation[]): string {
  return table(
    ["shape", "E", "fastest in memory", "recommended in memory", "today (stack-concat C=16)", "saved per layer", "disk to disk (stream)"],
    recs.map((r) => [
      r.shape.name,
      String(r.experts),
      choiceText(r.fastest.point, r.fastest.peak),
      `**${choiceText(r.inMemory.point, r.inMemory.peak)}**`,
      r.today
        ? choiceText(r.today.point, r.today.peak) + (r.today.point.chunk !== 16 ? ` (C=${r.today.point.chunk}: largest measured <= 16)` : "")
        : "not measured",
      r.today ? formatBytes(r.today.peak - r.inMemory.peak) : "-",
      r.disk ? choiceText(r.disk.point, r.disk.peak) : "not measured",
    ]),
  );
}

/** Binary and decimal: oQ's reports quote GB, this report counts GiB. */
function bothUnits(bytes: number): string {
  return `${formatBytes(bytes)} (${(bytes / 1e9).toFixed(2)} GB)`;
}

function modelSection(m: ModelSaving | undefined): string {
  if (m === undefined) return "No in-memory strategy was measured: no whole-model figure.";
  const src = m.source === "measured" ? `measured at E=${m.experts} in this run` : `analytic: this grid has no E=${m.experts} point of that shape`;
  const lines = [
    `### A ${m.layers}-layer, ${m.experts}-expert model: ${m.shape.name} (H ${m.shape.hidden}, I ${m.shape.intermediate}; ${src})`,
    "",
    `In oQ's eager path the per-expert weights are resident (at most ${m.layers} x ${formatBytes(m.residentWeights / m.layers)} = ${bothUnits(m.residentWeights)}) and layers are fused one after another, each layer's transient freed before the next. The model's peak is the resident weights plus ONE layer's transient, so the saving is per layer, not ${m.layers} times it:`,
    "",
    table(
      ["", "strategy", "transient of one layer", "model peak (all weights resident)"],
      [
        ["today", `${m.today.strategy} C=${m.today.chunk}`, bothUnits(m.today.transient), bothUnits(m.residentWeights + m.today.transient)],
        [
          "recommended",
          `${m.recommended.strategy}${STRATEGIES.get(m.recommended.strategy)!.chunked ? ` C=${m.recommended.chunk}` : ""}`,
          bothUnits(m.recommended.transient),
          bothUnits(m.residentWeights + m.recommended.transient),
        ],
        ...(m.stream
          ? [["disk to disk", `stream C=${m.stream.chunk}`, bothUnits(m.stream.transient), `${bothUnits(m.stream.transient)}: no weights resident`]]
          : []),
      ],
    ),
    "",
    `oQ would save **${bothUnits(m.saving)}** at the peak by switching from ${m.today.strategy} C=${m.today.chunk} to ${m.recommended.strategy}. For scale: oQ issue #1094 peaked at 62.9 GB against a 60.2 GB limit on this model, 2.7 GB over; today's transient alone is ${(m.today.transient / 1e9).toFixed(2)} GB.`,
  ];
  return lines.join("\n");
}

function doneWhen(results: BenchResults): string {
  const find = (strategy: string, chunk?: number) =>
    results.points.find((p) => sameShape(p.shape, QWEN35_MOE) && p.experts === 256 && p.strategy === strategy && (chunk === undefined || p.chunk === chunk));
  const pre = find("prealloc");
  const sc = find("stack-concat", 16);
  const out: string[] = [];
  if (pre) {
    const target = outputBytes(pre) + pre.residentInputBytes;
    const withInputs = measuredPeak(pre) + pre.residentInputBytes;
    const rel = withInputs / target - 1;
    out.push(
      `- **prealloc, E=256, H 2048, I 512**: process peak (maxRSS) ${formatBytes(pre.memory.peakMaxRss)}; measured extra + inputs ${formatBytes(withInputs)} against output + inputs ${formatBytes(target)}: ${pct(rel)}, ${Math.abs(rel) <= DISAGREEMENT ? "within" : "NOT within"} 10%. (The process peak also holds Node itself, ${formatBytes(pre.memory.baselineRss - pre.residentInputBytes)} before the inputs.)`,
    );
  } else out.push("- prealloc at E=256, H 2048, I 512 is not in this grid.");
  if (sc) {
    const gateUp = 2 * projBytes(sc.shape) * sc.experts;
    const extra = measuredPeak(sc);
    out.push(
      `- **stack-concat, C=16, E=256**: extra ${formatBytes(extra)} = ${(extra / gateUp).toFixed(2)} x the gate_up tensor (${formatBytes(gateUp)}): at the final concatenation the chunks and the output hold gate_up twice${pre ? `, ${formatBytes(extra - measuredPeak(pre))} more than prealloc` : ""}. ${Math.abs(extra / (2 * gateUp) - 1) <= DISAGREEMENT ? "The extra copy shows." : "The extra copy does NOT show as expected: see the explanation column."}`,
    );
  } else out.push("- stack-concat at C=16, E=256, H 2048, I 512 is not in this grid.");
  return out.join("\n");
}

function pointRows(results: BenchResults): string[][] {
  return results.points.map((p) => {
    const d = disagreement(p);
    return [
      p.shape.name,
      String(p.experts),
      p.strategy,
      STRATEGIES.get(p.strategy)!.chunked ? String(p.chunk) : `any (ran ${p.chunk})`,
      ms(p.time.medianMs),
      `${ms(p.time.minMs)}-${ms(p.time.maxMs)}`,
      String(p.time.samples),
      mib(measuredPeak(p)),
      mib(p.analyticPeak),
      pct(d.relative),
      d.flagged ? "**> 10%**" : "",
      d.explanation,
      p.peakMoment,
    ];
  });
}

function torchSection(results: BenchResults): string {
  const t = results.torch;
  if (t.status !== "ran") return `torch: **${t.status}** (${t.reason ?? ""}). The torch columns are empty.`;
  const rows = torchComparisons(results).map((c) => [
    c.shape.name,
    String(c.experts),
    c.torchStrategy,
    c.torchSeconds !== undefined ? c.torchSeconds.toFixed(3) : "-",
    c.ts ? pointLabel(c.ts) : "not measured",
    c.ts ? (c.ts.time.medianMs / 1000).toFixed(3) : "-",
    c.timeRatio !== undefined ? c.timeRatio.toFixed(2) : "-",
    c.torchPeakRss !== undefined ? mib(c.torchPeakRss) : "-",
    c.torchExtra !== undefined ? mib(c.torchExtra) : "-",
    c.ts ? mib(measuredPeak(c.ts)) : "-",
    c.memoryRatio !== undefined ? c.memoryRatio.toFixed(2) : "-",
    c.error ?? "",
  ]);
  return [
    `torch ${t.version} (${t.python}), anchor \`${t.anchor}\`, peak RSS by ${t.rssTool}. torch's extra = its peak RSS minus the peak RSS of the same script run with a strategy it does not know (it generates the same inputs, fuses nothing and stops at its final assert). The anchor times one fuse; TypeScript's time is the tinybench median. Ratios below 1 favour TypeScript.`,
    "",
    table(
      [
        "shape",
        "E",
        "torch",
        "torch fuse s",
        "TS point",
        "TS median s",
        "time TS/torch",
        "torch peak RSS MiB",
        "torch extra MiB",
        "TS extra MiB",
        "memory TS/torch",
        "note",
      ],
      rows,
    ),
  ].join("\n");
}

export function chartFileName(stem: string, kind: string, shapeName: string): string {
  return `${stem}-${kind}-${shapeName}.svg`;
}

export function renderMarkdown(results: BenchResults, stem: string): string {
  const env = results.environment;
  const recs = recommendations(results);
  const grid = results.grid;
  const lines: string[] = [
    `# Prefuse benchmark: ${grid.name} grid, ${results.createdAt.slice(0, 10)} on ${results.host}`,
    "",
    ...(results.note ? [`> **${results.note}**`, ""] : []),
    `Node ${env.node} on ${env.platform}/${env.arch}, ${env.cpus} x ${env.cpuModel}, ${formatBytes(env.totalMemory)} RAM; load average ${env.loadAverageStart.map((v) => v.toFixed(2)).join(" ")} at the start, ${env.loadAverageEnd.map((v) => v.toFixed(2)).join(" ")} at the end; ${env.durationSeconds} s in all. Raw data: \`${stem}.json\`.`,
    "",
    `Every point ran in a fresh child process (\`${Object.entries(env.childEnv)
      .map(([k, v]) => `${k}=${v} `)
      .join(
        "",
      )}node ${env.childNodeFlags.join(" ")}\`) over one MoE layer of bf16 experts. **Time**: tinybench, at least ${grid.iterations} runs and ${grid.timeMs} ms per point, median with min-max. **Measured** peak: the child's maxRSS after the first run minus its RSS once the inputs were generated (the inputs are the baseline). **Analytic** peak: the bytes the strategy's own ledger holds at its worst moment, which must equal the strategy's formula. Points where the two differ by more than ${DISAGREEMENT * 100}% are flagged with an explanation.`,
    "",
    "## Strategies",
    "",
    table(
      ["strategy", "what it does", "analytic peak (e = I x H x 2 bytes)", "inputs"],
      results.strategies.map((n) => {
        const s = STRATEGIES.get(n)!;
        return [n, s.summary, s.formula, s.inputs === "memory" ? "weight dict in memory" : "per-expert checkpoint on disk"];
      }),
    ),
    "",
    RECOMMENDATION_HEADING,
    "",
    `For each shape and expert count: among the in-memory strategies (oQ's setting), the point with the smallest measured peak whose median time is within ${Math.round((TIME_TOLERANCE - 1) * 100)}% of the fastest; the disk-to-disk stream is chosen the same way among its own points (its time includes writing the checkpoint, so it is not ranked against in-memory fuses).`,
    "",
    recs.length > 0 ? recommendationTable(recs) : "No point was measured.",
    "",
    modelSection(modelSaving(results, recs)),
    "",
    "## Done-when checks (issue 8)",
    "",
    doneWhen(results),
    "",
    "## Charts",
    "",
    ...grid.blocks.flatMap((b) => [
      `![peak memory, ${b.shape.name}](${chartFileName(stem, "memory", b.shape.name)})`,
      "",
      `![time, ${b.shape.name}](${chartFileName(stem, "time", b.shape.name)})`,
      "",
    ]),
    POINTS_HEADING,
    "",
    table(POINT_COLUMNS, pointRows(results)),
    "",
    "## torch side by side",
    "",
    torchSection(results),
    "",
    "## Failed and skipped points",
    "",
    results.failures.length === 0
      ? "None."
      : table(
          ["shape", "E", "strategy", "C", "kind", "reason"],
          results.failures.map((f) => [f.shape.name, String(f.experts), f.strategy, String(f.chunk), f.kind, f.reason]),
        ),
    "",
  ];
  return lines.join("\n");
}
