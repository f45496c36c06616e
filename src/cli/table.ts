// Plain-text tables for terminal output: left-aligned columns, two spaces apart. Cells are made
// safe before they are measured (names may carry controls), so escapes keep the columns aligned.

import { safeText } from "../reference/safe-text.js";

/** The table's lines (header first), for output that should not be joined into one string. */
export function tableLines(header: readonly string[], unsafeRows: readonly (readonly string[])[]): string[] {
  const rows = unsafeRows.map((r) => r.map(safeText));
  const widths = header.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? "").length);
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [line(header)];
  for (const r of rows) out.push(line(r));
  return out;
}
