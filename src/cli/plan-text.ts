// A fuse plan as text, the same for `fuse` (after writing) and `plan` (before anything is read):
// the layout and expert count, one row per MoE layer (state, code, experts, why), and the counts.

import type { FusePlan } from "../reference/prefuse/plan.js";
import { countStates, describeExpertCount, describeLayer, describeLayout, summarizeReasons } from "../reference/prefuse/report.js";
import { tableLines } from "./table.js";

export function planLines(plan: FusePlan): string[] {
  const lines = [`plan: target ${plan.target}, ${describeLayout(plan)}, ${describeExpertCount(plan.expertCount)}`];
  if (plan.layers.length > 0) {
    lines.push(
      ...tableLines(
        ["LAYER", "STATE", "CODE", "EXPERTS", "DETAIL"],
        plan.layers.map((l) => [l.prefix, l.state, l.code, String(l.expertsFound), describeLayer(l, plan)]),
      ),
    );
  }
  const c = countStates(plan);
  lines.push(`layers: ${c.fused} fused, ${c.untouched} untouched, ${c["already-fused"]} already fused, ${c.dense} dense`);
  return lines;
}

/** The plan's warnings and its untouched layers, one line each (for `warn`). */
export function planWarnings(plan: FusePlan): string[] {
  return [
    ...plan.warnings,
    ...plan.layers.flatMap((l) => (l.state === "untouched" ? [`layer ${l.prefix} left untouched: ${summarizeReasons(l.reasons)}`] : [])),
  ];
}
