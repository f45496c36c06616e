// A small, dependency-free SVG line chart: panels side by side (small multiples) sharing a log2
// x axis, each with its own linear y axis from zero, series as lines with optional markers and
// error bars, and one legend. Plain SVG 1.1 with inline attributes, so any browser, GitHub's
// Markdown view or an image viewer renders it without other files.

export interface SeriesPoint {
  readonly x: number;
  readonly y: number;
  /** Error bar, in y units. */
  readonly low?: number;
  readonly high?: number;
}

export interface SeriesStyle {
  readonly label: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly marker: "circle" | "square" | "none";
  readonly hollow?: boolean;
  /** Markers only, no line joining them. */
  readonly noLine?: boolean;
  /**
   * Left out of the y scale: a reference that may dwarf the main series. Points above the axis
   * are drawn at its top with their value written beside them.
   */
  readonly reference?: boolean;
}

export interface Series extends SeriesStyle {
  readonly points: readonly SeriesPoint[];
}

export interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
  /** The x values (powers of two) to tick; the axis spans them. */
  readonly xTicks: readonly number[];
}

export interface ChartSpec {
  readonly title: string;
  readonly subtitle: readonly string[];
  readonly xLabel: string;
  readonly yLabel: string;
  /** y values are divided by this for display (e.g. 2^30 for GiB). */
  readonly yDivisor: number;
  readonly panels: readonly Panel[];
  readonly legend: readonly SeriesStyle[];
  readonly columns: number;
}

const PANEL_W = 430;
const PANEL_H = 290;
const PLOT = { left: 64, right: 16, top: 34, bottom: 46 };
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const n = (v: number) => (Math.round(v * 10) / 10).toString();

/** A round axis maximum at or above `max`, and its tick step (1, 2, 2.5 or 5 times a power of ten). */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!(max > 0)) return { max: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

function formatTick(v: number): string {
  return String(Number(v.toFixed(3)));
}

/** Splits text into lines of at most `width` characters at spaces. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

function marker(style: SeriesStyle, x: number, y: number): string {
  const fill = style.hollow ? "white" : style.color;
  if (style.marker === "circle") return `<circle cx="${n(x)}" cy="${n(y)}" r="3.5" fill="${fill}" stroke="${style.color}" stroke-width="1.5"/>`;
  if (style.marker === "square")
    return `<rect x="${n(x - 4)}" y="${n(y - 4)}" width="8" height="8" fill="${fill}" stroke="${style.color}" stroke-width="1.5"/>`;
  return "";
}

function legendSwatch(style: SeriesStyle, x: number, y: number): string {
  const line = style.noLine
    ? ""
    : `<line x1="${x}" y1="${y}" x2="${x + 28}" y2="${y}" stroke="${style.color}" stroke-width="2"${style.dashed ? ' stroke-dasharray="6 4"' : ""}/>`;
  return line + marker(style, x + 14, y);
}

function renderPanel(spec: ChartSpec, panel: Panel, ox: number, oy: number): string {
  const w = PANEL_W - PLOT.left - PLOT.right;
  const h = PANEL_H - PLOT.top - PLOT.bottom;
  const x0 = ox + PLOT.left;
  const y0 = oy + PLOT.top;
  const lx = panel.xTicks.map((t) => Math.log2(t));
  const lo = Math.min(...lx);
  const hi = Math.max(...lx);
  const px = (x: number) => (hi === lo ? x0 + w / 2 : x0 + ((Math.log2(x) - lo) / (hi - lo)) * w);
  const scaled = panel.series.some((s) => !s.reference) ? panel.series.filter((s) => !s.reference) : panel.series;
  const yMax = Math.max(0, ...scaled.flatMap((s) => s.points.map((p) => Math.max(p.y, p.high ?? 0) / spec.yDivisor)));
  const scale = niceScale(yMax);
  const py = (y: number) => y0 + h - (y / spec.yDivisor / scale.max) * h;
  const out: string[] = [];
  out.push(`<text x="${n(x0 + w / 2)}" y="${n(oy + 20)}" text-anchor="middle" font-size="14" font-weight="bold" ${FONT}>${escapeXml(panel.title)}</text>`);
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999" stroke-width="1"/>`);
  for (let v = 0; v <= scale.max + 1e-9; v += scale.step) {
    const y = y0 + h - (v / scale.max) * h;
    out.push(`<line x1="${x0}" y1="${n(y)}" x2="${x0 + w}" y2="${n(y)}" stroke="#e4e4e4" stroke-width="1"/>`);
    out.push(`<text x="${x0 - 6}" y="${n(y + 4)}" text-anchor="end" font-size="11" ${FONT}>${formatTick(v)}</text>`);
  }
  for (const t of panel.xTicks) {
    const x = px(t);
    out.push(`<line x1="${n(x)}" y1="${y0 + h}" x2="${n(x)}" y2="${y0 + h + 5}" stroke="#666" stroke-width="1"/>`);
    out.push(`<text x="${n(x)}" y="${y0 + h + 18}" text-anchor="middle" font-size="11" ${FONT}>${t}</text>`);
  }
  out.push(`<text x="${n(x0 + w / 2)}" y="${oy + PANEL_H - 8}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(spec.xLabel)}</text>`);
  out.push(
    `<text x="${ox + 16}" y="${n(y0 + h / 2)}" text-anchor="middle" font-size="12" transform="rotate(-90 ${ox + 16} ${n(y0 + h / 2)})" ${FONT}>${escapeXml(spec.yLabel)}</text>`,
  );
  const offScaleAt = new Map<number, number>();
  for (const s of panel.series) {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (pts.length > 1 && !s.noLine) {
      const d = pts.map((p) => `${n(px(p.x))},${n(py(p.y))}`).join(" ");
      out.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    }
    for (const p of pts) {
      if (s.reference && p.y / spec.yDivisor > scale.max) {
        const k = offScaleAt.get(p.x) ?? 0;
        offScaleAt.set(p.x, k + 1);
        out.push(marker(s, px(p.x), y0));
        out.push(
          `<text x="${n(px(p.x) - 7)}" y="${y0 + 14 + 12 * k}" text-anchor="end" font-size="10" fill="${s.color}" ${FONT}>${formatTick(Math.round((p.y / spec.yDivisor) * 10) / 10)} (off scale)</text>`,
        );
        continue;
      }
      if (p.low !== undefined && p.high !== undefined) {
        const x = px(p.x);
        out.push(
          `<path d="M${n(x)},${n(py(p.low))}V${n(py(p.high))}M${n(x - 3)},${n(py(p.low))}h6M${n(x - 3)},${n(py(p.high))}h6" stroke="${s.color}" stroke-width="1" fill="none"/>`,
        );
      }
      out.push(marker(s, px(p.x), py(p.y)));
    }
  }
  return out.join("\n");
}

export function renderChart(spec: ChartSpec): string {
  const cols = Math.max(1, Math.min(spec.columns, spec.panels.length));
  const rows = Math.ceil(spec.panels.length / cols);
  // At least two panels wide, so that the title, subtitle and legend fit.
  const width = Math.max(2, cols) * PANEL_W + 20;
  const subtitle = spec.subtitle.flatMap((line) => wrapText(line, Math.floor((width - 40) / 6.6)));
  // Legend: entries flow left to right, wrapping at the chart width.
  const legend: string[] = [];
  let lx = 20;
  let ly = 24 + 18 * subtitle.length + 22;
  for (const entry of spec.legend) {
    const entryW = 48 + entry.label.length * 7;
    if (lx + entryW > width - 10 && lx > 20) {
      lx = 20;
      ly += 20;
    }
    legend.push(legendSwatch(entry, lx, ly - 4));
    legend.push(`<text x="${lx + 34}" y="${ly}" font-size="12" ${FONT}>${escapeXml(entry.label)}</text>`);
    lx += entryW;
  }
  const top = ly + 14;
  const height = top + rows * PANEL_H + 10;
  const panels = spec.panels.map((p, i) => renderPanel(spec, p, 10 + (i % cols) * PANEL_W, top + Math.floor(i / cols) * PANEL_H));
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="20" y="24" font-size="17" font-weight="bold" ${FONT}>${escapeXml(spec.title)}</text>`,
    ...subtitle.map((line, i) => `<text x="20" y="${44 + 18 * i}" font-size="12" fill="#444" ${FONT}>${escapeXml(line)}</text>`),
    ...legend,
    ...panels,
    `</svg>`,
    "",
  ].join("\n");
}
