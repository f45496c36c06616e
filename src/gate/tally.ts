// Counting case results per group (family, feature tag): passed, failed, open, and how the
// failures were diagnosed, for the Markdown summary and the conformance table.

import { failureSignature } from "./judge.js";
import type { LayerState } from "../reference/prefuse/plan.js";
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
  return new Map([...out].sort(([a], [b]) => groupRank(a) - groupRank(b) || (a < b ? -1 : 1)));
}

const GROUP_ORDER = ["all cases", "reference:", "family:", "feature:"];

/** "all cases" first, then what the reference does, then families, then features. */
function groupRank(g: string): number {
  const i = GROUP_ORDER.findIndex((p) => g.startsWith(p));
  return i < 0 ? GROUP_ORDER.length : i;
}

const LAYER_GROUPS: readonly [LayerState, string][] = [
  ["untouched", "reference: leaves an incomplete layer untouched"],
  ["dense", "reference: no expert count (dense)"],
  ["already-fused", "reference: a layer already fused"],
];

/** What the reference does with a case's MoE layers, as groups (a case can be in several). */
export function referenceGroups(c: CaseResult): string[] {
  const s = c.referenceLayers;
  const groups = LAYER_GROUPS.filter(([state]) => (s[state] ?? 0) > 0).map(([, g]) => g);
  if (groups.length > 0) return groups;
  return [(s.fused ?? 0) > 0 ? "reference: fuses every MoE layer" : "reference: no MoE layer"];
}

/** Groups of a case: "all", what the reference does with its layers, its family, each feature tag. */
export function caseGroups(c: CaseResult): string[] {
  return ["all cases", ...referenceGroups(c), `family: ${c.family ?? "hand-built"}`, ...c.features.map((f) => `feature: ${f}`)];
}

/** The failure signatures of a group, most frequent first: `chunk-seam x3, crash`. */
export function signatureList(t: GroupTally, n = 3): string {
  return [...t.signatures]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([s, k]) => (k > 1 ? `${s} x${k}` : s))
    .join(", ");
}
