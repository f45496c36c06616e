// The gate's console output: one line per case (`PASS`, `FAIL` or `OPEN`, the case id, what it
// is, and for the others the reason), indented details under failed and open cases (further
// diagnoses, the first mismatching tensors, the tail of the candidate's stderr and stdout), and
// the closing `N passed, M failed`.

import { describeMismatch } from "./compare.js";
import { shownReadings } from "./reading-lines.js";
import type { CaseResult } from "./run-case.js";

const WORD = { pass: "PASS", fail: "FAIL", open: "OPEN" } as const;

/** The last `n` non-empty lines of a stream, each cut to `width` characters. */
export function tailLines(text: string | undefined, n: number, width = 200): string[] {
  const lines = (text ?? "").split(/\r?\n/).filter((l) => l.trim() !== "");
  return lines.slice(-n).map((l) => (l.length > width ? `${l.slice(0, width - 3)}...` : l));
}

export function caseLine(r: CaseResult): string {
  const what = r.origin === "golden" ? "golden" : r.label;
  const head = `${WORD[r.verdict]} ${r.id} [${what}]`;
  if (r.verdict === "pass") return `${head} ${(r.durationMs / 1000).toFixed(2)} s${r.readings !== undefined ? `, reads ${shownReadings(r.readings)}` : ""}`;
  const reason = r.verdict === "open" ? `recorded, not judged: ${r.reason}` : r.reason;
  return `${head}: ${reason}`;
}

export function detailLines(r: CaseResult): string[] {
  if (r.verdict === "pass") return [];
  const out: string[] = [];
  for (const d of r.diagnoses.slice(1)) out.push(`    also: ${d.message}`);
  for (const m of r.mismatches.slice(0, 3)) out.push(`    tensor ${describeMismatch(m)}`);
  if (r.mismatches.length > 3) out.push(`    ... ${r.mismatches.length - 3} more mismatching tensors (see --report)`);
  const err = tailLines(r.stderr, 8);
  if (err.length > 0) out.push("    candidate stderr (last lines):", ...err.map((l) => `      ${l}`));
  const std = tailLines(r.stdout, 4);
  if (std.length > 0) out.push("    candidate stdout (last lines):", ...std.map((l) => `      ${l}`));
  return out;
}
