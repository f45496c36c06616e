// The conformance table: several implementations' gate reports side by side, first one row per
// reading point (the alternative each implementation reads), then one row per family
// and feature, one column per implementation, each cell `pass (n)` or `FAIL k/n` with the
// diagnoses of its failures (`open only (k)` where every case is recorded, not judged). Every
// disagreement it shows is a finding to explain.

import type { GateReport } from "./report.js";
import { cell } from "./markdown.js";
import { caseGroups, signatureList, tallyBy } from "./tally.js";

export function conformanceTable(reports: readonly GateReport[]): string {
  const columns = reports.map((r) => ({ head: `${r.name} (${r.stage})`, tallies: tallyBy(r.cases, caseGroups) }));
  const groups = [
    ...tallyBy(
      reports.flatMap((r) => r.cases),
      caseGroups,
    ).keys(),
  ];
  const lines = [`| case group | ${columns.map((c) => cell(c.head)).join(" | ")} |`, `|---|${columns.map(() => "---").join("|")}|`];
  // Each implementation's reading of every point oQ's contract leaves open.
  const points = [...new Set(reports.flatMap((r) => (r.readings?.rows ?? []).map((row) => row.point)))];
  for (const p of points) {
    const cells = reports.map((r) => {
      const row = r.readings?.rows.find((x) => x.point === p);
      return row === undefined
        ? ""
        : row.alternative === null
          ? "no evidence"
          : `${row.alternative}${row.status === "inferred" || row.status === "pinned" ? "" : ` (**${row.status}**)`}`;
    });
    lines.push(`| reading: ${cell(p)} | ${cells.map(cell).join(" | ")} |`);
  }
  for (const g of groups) {
    const cells = columns.map(({ tallies }) => {
      const t = tallies.get(g);
      if (t === undefined) return "";
      const n = t.passed + t.failed;
      if (n === 0) return `open only (${t.open})`;
      const open = t.open > 0 ? ` (+${t.open} open)` : "";
      return t.failed === 0 ? `pass (${n})${open}` : `**FAIL ${t.failed}/${n}**: ${signatureList(t)}${open}`;
    });
    lines.push(`| ${cell(g)} | ${cells.map(cell).join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}
