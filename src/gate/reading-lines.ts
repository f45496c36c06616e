// The readings table in the gate's text output: per reading point, the alternative the candidate
// is held to (pinned or inferred, with its status) and the cases that show each alternative.

import type { ReadingRow, ReadingsSummary } from "./fingerprint.js";
import type { CaseReadings } from "./judge-readings.js";

/** What a decided case's output shows, per point: `outside-layers=fused, extra-experts=fuse-keep|fuse-drop`. */
export function shownReadings(r: CaseReadings): string {
  return r.points.map((p) => `${p}=${[...new Set(r.matched.map((c) => c[p]))].join("|")}`).join(", ");
}

/** Up to `n` case ids, then how many more. */
export function evidenceList(ids: readonly string[], n = 4): string {
  return ids.length > n ? `${ids.slice(0, n).join(", ")} +${ids.length - n} more` : ids.join(", ");
}

/** One row as text: `extra-experts: fuse-keep (inferred): fuse-keep 3 case(s): a, b, c`. */
export function describeRow(r: ReadingRow): string {
  const evidence = Object.entries(r.evidence).map(([a, ids]) => `${a} in ${ids.length} case(s): ${evidenceList(ids)}`);
  return `${r.point}: ${r.alternative ?? "-"} (${r.status})${evidence.length > 0 ? `; ${evidence.join("; ")}` : ""}`;
}

export function readingLines(s: ReadingsSummary): string[] {
  if (s.rows.length === 0) return [];
  return [
    `gate: readings (point: alternative (status); evidence cases)${s.pinned !== null ? ", pinned by --readings" : ""}:`,
    ...s.rows.map((r) => `gate:   ${describeRow(r)}`),
  ];
}
