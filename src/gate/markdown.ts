// The Markdown summary of a gate report (`--markdown`), made for a CI step summary
// ($GITHUB_STEP_SUMMARY): the verdict and totals, the failures with their diagnoses, the readings
// table, results per family and feature, open cases, skipped corpus cases and the counterexamples saved.

import type { GateReport } from "./report.js";
import { casesCovered, reportPasses, summaryLine } from "./report.js";
import type { CaseResult } from "./run-case.js";
import { evidenceList } from "./reading-lines.js";
import { caseGroups, signatureList, tallyBy } from "./tally.js";

/** A table cell: pipes escaped, lines joined. */
export function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

const MAX_ROWS = 50;

function caseRows(cases: readonly CaseResult[]): string[] {
  const rows = cases.slice(0, MAX_ROWS).map((c) => `| \`${cell(c.id)}\` | ${cell(c.origin === "golden" ? "golden" : c.label)} | ${cell(c.reason)} |`);
  if (cases.length > MAX_ROWS) rows.push(`| ... | ${cases.length - MAX_ROWS} more in the JSON report | |`);
  return ["| case | checkpoint | reason |", "|---|---|---|", ...rows];
}

export function markdownSummary(report: GateReport): string {
  const t = report.totals;
  const ok = reportPasses(report);
  const shards = report.shards.length === 1 && report.shards[0]!.count > 1 ? `, shard ${report.shards[0]!.index}/${report.shards[0]!.count}` : "";
  const lines = [
    `## moe-prefuse release gate, stage \`${report.stage}\`: ${ok ? "passed" : "FAILED"}`,
    "",
    `**${summaryLine(t)}**${t.open > 0 ? `, ${t.open} open (recorded, not judged)` : ""}${t.skipped > 0 ? `, ${t.skipped} corpus case(s) outside the contract` : ""}, ${(report.durationMs / 1000).toFixed(1)} s${shards}`,
    "",
    `- candidate: \`${cell(report.candidate)}\` (${cell(report.name)})${report.protocol === "serve/1" ? `, serve mode: ${report.restarts ?? 0} worker restart(s)` : ""}`,
    `- cases: ${report.corpus === null ? "no golden corpus" : `golden corpus \`${cell(report.corpus)}\``}, ${report.runs} generated (seed ${report.seed}), ${report.totalCases} in all`,
    `- comparison: ${report.tolerance === null ? "bit-exact" : `within ${report.tolerance.ulp} ulp for BF16/F16/F32`}`,
  ];
  if (report.cases.length < casesCovered(report)) lines.push(`- **incomplete**: ${report.cases.length} of ${casesCovered(report)} cases in this report`);
  const failed = report.cases.filter((c) => c.verdict === "fail");
  if (failed.length > 0) lines.push("", "### Failures", "", ...caseRows(failed));
  const rows = report.readings?.rows ?? [];
  if (rows.length > 0) {
    const pinned = report.readings!.pinned !== null;
    lines.push(
      "",
      `### Readings (where oQ's contract is open${pinned ? "; pinned by --readings" : ""})`,
      "",
      "| point | alternative | status | evidence cases |",
      "|---|---|---|---|",
    );
    for (const r of rows) {
      const evidence = Object.entries(r.evidence)
        .map(
          ([a, ids]) =>
            `${a}: ${evidenceList(
              ids.map((id) => `\`${id}\``),
              6,
            )}`,
        )
        .join("; ");
      lines.push(
        `| ${cell(r.point)} | ${cell(r.alternative ?? "-")} | ${r.status === "changed" || r.status === "inconsistent" ? `**${r.status}**` : r.status} | ${cell(evidence)} |`,
      );
    }
  }
  const groups = tallyBy(report.cases, caseGroups);
  lines.push("", "### By family and feature", "", "| group | passed | failed | diagnoses |", "|---|---|---|---|");
  for (const [g, x] of groups) lines.push(`| ${cell(g)} | ${x.passed} | ${x.failed} | ${cell(signatureList(x))} |`);
  const open = report.cases.filter((c) => c.verdict === "open");
  if (open.length > 0) lines.push("", "### Open cases (implementation-defined: recorded, not judged)", "", ...caseRows(open));
  if (report.skipped.length > 0) {
    lines.push("", `### Corpus cases outside the \`${report.stage}\` contract (skipped)`, "", "| case | why |", "|---|---|");
    for (const s of report.skipped) lines.push(`| \`${cell(s.id)}\` | ${cell(s.reason)} |`);
  }
  if (report.shrunk.length > 0) {
    lines.push("", "### Shrunk counterexamples (ready-to-commit golden cases)", "");
    for (const s of report.shrunk) lines.push(`- \`${cell(s.path)}\`: ${cell(s.label)} (from \`${cell(s.from)}\`, ${cell(s.signature)})`);
  }
  return `${lines.join("\n")}\n`;
}
