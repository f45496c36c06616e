// The candidate's fingerprint: at each reading point, which alternative it implements, inferred
// from the cases that separate the alternatives (a case is evidence for a point when every
// answer its output matches has the same alternative there). Then every decided case is settled:
// it passes when one of the answers it matches agrees with the candidate's readings; otherwise it
// fails as `reading-changed` (a pinned point read another way) or `reading-inconsistent` (the
// candidate reads one point two ways; the run's reading is the one most cases show). Cases that
// match no answer keep their verdict (a bug). A pure function of the case results, so a merge of
// shards settles the whole run the same way.

import type { Diagnosis } from "./diagnoses/diagnosis.js";
import type { CaseReadings } from "./judge-readings.js";
import { READING_POINTS, type ReadingChoice, formatChoice } from "../reference/reading-points.js";

/** The part of a case result settling reads and rewrites. */
export interface Settleable {
  readonly id: string;
  readonly outcome: string;
  readonly verdict: "pass" | "fail" | "open";
  readonly reason: string;
  readonly diagnoses: readonly Diagnosis[];
  readonly readings?: CaseReadings;
}

export type ReadingStatus = "inferred" | "pinned" | "inconsistent" | "changed" | "no evidence";

export interface ReadingRow {
  readonly point: string;
  /** The alternative the run holds the candidate to: pinned, or the one its cases show (most of them). */
  readonly alternative: string | null;
  readonly status: ReadingStatus;
  /** Per alternative, the cases that show it alone at this point. */
  readonly evidence: Readonly<Record<string, readonly string[]>>;
}

export interface ReadingsSummary {
  /** Pinned readings (--readings), or null. */
  readonly pinned: ReadingChoice | null;
  readonly rows: readonly ReadingRow[];
}

/** The alternative a case shows at `point`, when it shows exactly one. */
function shownAt(r: Settleable, point: string): string | undefined {
  const m = r.readings?.matched ?? [];
  const alts = new Set(m.map((c) => c[point]));
  return r.readings?.points.includes(point) && alts.size === 1 ? [...alts][0] : undefined;
}

function cases(ids: readonly string[], n = 5): string {
  return ids.length > n ? `${ids.slice(0, n).join(", ")} and ${ids.length - n} more` : ids.join(", ");
}

/** The readings table of a run's results. */
export function readingRows(results: readonly Settleable[], points: readonly string[], pinned: ReadingChoice | null): ReadingRow[] {
  return READING_POINTS.filter((p) => points.includes(p.id)).map((p) => {
    const evidence: Record<string, string[]> = {};
    for (const r of results) {
      if (r.outcome === "open") continue; // recorded, never judged: not evidence either
      const a = shownAt(r, p.id);
      if (a !== undefined) evidence[a] = [...(evidence[a] ?? []), r.id];
    }
    const shown = p.alternatives.map((a) => a.id).filter((a) => evidence[a] !== undefined);
    const pin = pinned?.[p.id];
    if (pin !== undefined) return { point: p.id, alternative: pin, status: shown.some((a) => a !== pin) ? "changed" : "pinned", evidence };
    if (shown.length === 0) return { point: p.id, alternative: null, status: "no evidence", evidence };
    // Most cases decide; a tie goes to the alternative listed first.
    const most = shown.reduce((best, a) => (evidence[a]!.length > evidence[best]!.length ? a : best));
    return { point: p.id, alternative: most, status: shown.length > 1 ? "inconsistent" : "inferred", evidence };
  });
}

function readingDiagnosis(point: string, row: ReadingRow, here: string, pinned: boolean): Diagnosis {
  const others = Object.entries(row.evidence).filter(([a]) => a !== row.alternative);
  const now = others.map(([a, ids]) => `${a} (${cases(ids)})`).join("; ");
  if (pinned) {
    return {
      kind: "reading-changed",
      message: `reading-changed: ${point}: ${row.alternative} -> ${here}: the pinned readings say ${row.alternative}; cases reading it otherwise: ${now}`,
      tensors: [],
      detail: { point, was: row.alternative!, now: here },
    };
  }
  const held = row.evidence[row.alternative!] ?? [];
  return {
    kind: "reading-inconsistent",
    message: `reading-inconsistent: ${point}: this case reads it ${here}, ${held.length} case(s) read it ${row.alternative} (${cases(held)}); other readings: ${now}`,
    tensors: [],
    detail: { point, reading: row.alternative!, here },
  };
}

/** Settles every decided case against the readings table; returns the new results and the table. */
export function settleReadings<R extends Settleable>(
  results: readonly R[],
  points: readonly string[],
  pinned: ReadingChoice | null,
): { cases: R[]; summary: ReadingsSummary } {
  const rows = readingRows(results, points, pinned);
  const held: ReadingChoice = Object.fromEntries(rows.flatMap((r) => (r.alternative === null ? [] : [[r.point, r.alternative]])));
  const settled = results.map((r) => {
    const m = r.readings;
    if (m === undefined || m.matched.length === 0) return r;
    const fits = (c: ReadingChoice) => Object.entries(c).every(([p, a]) => held[p] === undefined || held[p] === a);
    const fit = m.matched.find(fits);
    const open = r.outcome === "open";
    if (fit !== undefined || open) {
      const shown = fit ?? m.matched[0]!;
      return { ...r, verdict: open ? "open" : "pass", reason: `identical to the reference under ${formatChoice(shown)}`, diagnoses: [] } as R;
    }
    const off = m.points.filter((p) => held[p] !== undefined && !m.matched.some((c) => c[p] === held[p]));
    const diagnoses = off.map((p) => {
      const here = [...new Set(m.matched.map((c) => c[p]))].join("/");
      return readingDiagnosis(p, rows.find((row) => row.point === p)!, here, pinned?.[p] !== undefined);
    });
    return {
      ...r,
      verdict: "fail",
      failure: "mismatch",
      reason: diagnoses[0]?.message ?? `reads ${formatChoice(m.matched[0]!)}, against the run's readings`,
      diagnoses,
    } as R;
  });
  return { cases: settled, summary: { pinned, rows } };
}
