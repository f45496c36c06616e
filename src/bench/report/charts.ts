// The report's charts, one pair per layer shape: peak memory vs chunk size (measured, solid;
// analytic, dashed) and time vs chunk size (median with min-max bars), a panel per expert
// count, a line per strategy, torch's numbers as hollow squares where it ran.

import { chunksFor } from "../grid.js";
import { measuredPeak, sameShape, torchComparisons, tsCounterpart } from "../analysis.js";
import type { LayerShape } from "../problem.js";
import type { BenchResults, PointResult } from "../results.js";
import { STRATEGIES } from "../strategies/registry.js";
import type { StrategyName } from "../strategies/strategy.js";
import { type ChartSpec, type Series, type SeriesPoint, type SeriesStyle, renderChart } from "./svg.js";

export const STRATEGY_COLORS: Readonly<Record<StrategyName, string>> = {
  "stack-concat": "#d62728",
  prealloc: "#1f77b4",
  "split-retain": "#9467bd",
  stream: "#2ca02c",
};
const TORCH_COLOR = "#333333";
const GiB = 2 ** 30;
const MiB = 2 ** 20;

export type ChartKind = "memory" | "time";

export interface RenderedChart {
  readonly kind: ChartKind;
  readonly shape: LayerShape;
  readonly svg: string;
  /** Series labels drawn, for the consistency check. */
  readonly seriesLabels: readonly string[];
}

function describeShape(shape: LayerShape): string {
  return `${shape.name} (H ${shape.hidden}, I ${shape.intermediate}, bf16)`;
}

/**
 * The series of one strategy in one panel. A chunk-independent strategy, measured once, is a
 * flat line across the chunks with its marker where it ran.
 */
function strategySeries(
  style: SeriesStyle,
  block: readonly PointResult[],
  name: StrategyName,
  xs: readonly number[],
  value: (p: PointResult) => number,
  bars?: (p: PointResult) => [number, number],
): Series[] {
  const mine = block.filter((p) => p.strategy === name);
  if (mine.length === 0) return [];
  const point = (p: PointResult): SeriesPoint => {
    const b = bars?.(p);
    return b ? { x: p.chunk, y: value(p), low: b[0], high: b[1] } : { x: p.chunk, y: value(p) };
  };
  if (STRATEGIES.get(name)!.chunked) return [{ ...style, points: mine.map(point) }];
  const only = mine[0]!;
  return [
    { ...style, marker: "none", points: xs.map((x) => ({ x, y: value(only) })) },
    { ...style, noLine: true, points: [point(only)] },
  ];
}

function buildChart(results: BenchResults, shape: LayerShape, kind: ChartKind): ChartSpec {
  const blocks = results.grid.blocks.find((b) => sameShape(b.shape, shape))!.experts;
  const points = results.points.filter((p) => sameShape(p.shape, shape));
  const torch = torchComparisons(results).filter((c) => sameShape(c.shape, shape));
  const maxY =
    kind === "memory" ? Math.max(0, ...points.map((p) => Math.max(measuredPeak(p), p.analyticPeak))) : Math.max(0, ...points.map((p) => p.time.maxMs));
  const [divisor, unit] = kind === "memory" ? (maxY >= 2 * GiB ? [GiB, "GiB"] : [MiB, "MiB"]) : maxY >= 2000 ? [1000, "s"] : [1, "ms"];
  const legend: SeriesStyle[] = [];
  for (const name of results.strategies) {
    const chunked = STRATEGIES.get(name)!.chunked;
    const label = chunked ? name : `${name} (chunk-independent)`;
    legend.push({ label: kind === "memory" ? `${label}, measured` : label, color: STRATEGY_COLORS[name], marker: "circle" });
    if (kind === "memory") legend.push({ label: `${name}, analytic`, color: STRATEGY_COLORS[name], marker: "none", dashed: true });
  }
  const torchRan = torch.some((c) => (kind === "memory" ? c.torchExtra : c.torchSeconds) !== undefined);
  if (torchRan)
    legend.push({ label: "torch anchor (chunked16 at 16, stackcat at E, prealloc flat)", color: TORCH_COLOR, marker: "square", hollow: true, noLine: true });

  const panels = blocks.map((E) => {
    const block = points.filter((p) => p.experts === E);
    const xs = chunksFor(results.grid, E);
    const series: Series[] = [];
    for (const name of results.strategies) {
      const color = STRATEGY_COLORS[name];
      if (kind === "memory") {
        series.push(...strategySeries({ label: name, color, marker: "circle" }, block, name, xs, measuredPeak));
        series.push(...strategySeries({ label: `${name} analytic`, color, marker: "none", dashed: true }, block, name, xs, (p) => p.analyticPeak));
      } else {
        series.push(
          ...strategySeries(
            { label: name, color, marker: "circle" },
            block,
            name,
            xs,
            (p) => p.time.medianMs,
            (p) => [p.time.minMs, p.time.maxMs],
          ),
        );
      }
    }
    const torchPoints: SeriesPoint[] = [];
    for (const c of torch.filter((t) => t.experts === E)) {
      const y = kind === "memory" ? c.torchExtra : c.torchSeconds !== undefined ? c.torchSeconds * 1000 : undefined;
      if (y === undefined) continue;
      torchPoints.push({ x: tsCounterpart(c.torchStrategy, E).chunk, y });
    }
    if (torchPoints.length > 0)
      series.push({ label: "torch", color: TORCH_COLOR, marker: "square", hollow: true, noLine: true, reference: true, points: torchPoints });
    return { title: `E = ${E}`, series: series.filter((s) => s.points.length > 0), xTicks: xs };
  });
  const subtitle =
    kind === "memory"
      ? [
          `${describeShape(shape)}: extra peak memory of one layer's fuse beyond its inputs.`,
          "Measured: maxRSS of a fresh child process minus its RSS after generating inputs. Analytic: the strategy's own ledger.",
        ]
      : [
          `${describeShape(shape)}: time of one layer's fuse, tinybench median with min-max bars.`,
          `Machine: ${results.environment.cpus} cores, ${results.host}${results.note ? ` (${results.note})` : ""}.`,
        ];
  return {
    title: kind === "memory" ? `Peak memory vs chunk size: ${shape.name}` : `Time vs chunk size: ${shape.name}`,
    subtitle,
    xLabel: "chunk size C (experts per step)",
    yLabel: kind === "memory" ? `extra peak memory (${unit})` : `time (${unit})`,
    yDivisor: divisor,
    panels,
    legend,
    columns: 2,
  };
}

export function renderCharts(results: BenchResults): RenderedChart[] {
  const out: RenderedChart[] = [];
  for (const { shape } of results.grid.blocks) {
    for (const kind of ["memory", "time"] as const) {
      const spec = buildChart(results, shape, kind);
      out.push({ kind, shape, svg: renderChart(spec), seriesLabels: [...new Set(spec.panels.flatMap((p) => p.series.map((s) => s.label)))] });
    }
  }
  return out;
}
