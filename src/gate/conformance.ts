// The conformance table: several implementations' gate reports side by side, one row per family
// and feature, one column per implementation, each cell `pass (n)` or `FAIL k/n` with the
// diagnoses of its failures (`open only (k)` where every case is recorded, not judged). Every
// disagreement it shows is a finding to explain.

import type { GateReport } from "./report.js";
import { cell } from "./markdown.js";
import { caseGroups, signatureList, tallyBy } from "./tally.js";

export function conformanceTable(reports: readonly GateReport[]): string {
  const columns = reports.map((r) => ({ head: `${r.name} (${r.stage})`, tallies: tallyBy(r.cases, caseGroups) }));
  const groups = [...tallyBy(reports.flatMap((r) => r.cases), caseGroups).keys()];
  const lines = [`| case group | ${columns.map((c) => cell(c.head)).join(" | ")} |`, `|---|${columns.map(() => "---").join("|")}|`];
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
