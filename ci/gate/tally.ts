// Counting case results per group (family, feature tag): passed, failed, open, and how the
// failures were diagnosed, for the Markdown summary and the conformance table.

import { failureSignature } from "./judge.js";
import type { CaseResult } from "./run-case.js";

export interface GroupTally {
  passed: number;
  failed: number;
  open: number;
  /** Failure signatures (first diagnosis or kind of failure) and how often each occurred. */
  readonly signatures: Map<string, number>;
}

/** Tallies per group; a case counts in every group `groups` gives it, groups sorted by name. */
export function tallyBy(cases: readonly CaseResult[], groups: (c: CaseResult) => readonly string[]): Map<string, GroupTally> {
  const out = new Map<string, GroupTally>();
  for (const c of cases) {
    for (const g of groups(c)) {
      let t = out.get(g);
      if (t === undefined) {
        t = { passed: 0, failed: 0, open: 0, signatures: new Map() };
        out.set(g, t);
      }
      if (c.verdict === "pass") t.passed++;
      else if (c.verdict === "open") t.open++;
      else {
        t.failed++;
        const s = failureSignature(c);
        t.signatures.set(s, (t.signatures.get(s) ?? 0) + 1);
      }
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Feature groups of a case: "all", its family, and each feature tag. */
export function caseGroups(c: CaseResult): string[] {
  return ["all cases", `family: ${c.family ?? "hand-built"}`, ...c.features.map((f) => `feature: ${f}`)];
}

/** The failure signatures of a group, most frequent first: `chunk-seam x3, crash`. */
export function signatureList(t: GroupTally, n = 3): string {
  return [...t.signatures]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([s, k]) => (k > 1 ? `${s} x${k}` : s))
    .join(", ");
}
