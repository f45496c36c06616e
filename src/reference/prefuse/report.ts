// Plans as users see them: a JSON-ready report (`fuse --json`), short per-layer descriptions for
// text output, and the MoE view of `inspect`, which shows the plan's own states and codes (one
// vocabulary: `fused` is always "this run fuses it", never "stored fused").

import type { ExpertCountKey } from "./expert-count.js";
import type { FusePlan, LayerPlan, LayerState } from "./plan.js";
import type { LayerCode, UntouchedReason } from "./reasons.js";
import { formatShape } from "./shapes.js";

export interface LayerReport {
  readonly prefix: string;
  readonly state: LayerState;
  readonly code: LayerCode;
  readonly expertsFound: number;
  readonly source?: "per-expert" | "fused";
  readonly outputs?: readonly string[];
  readonly consumed?: number;
  readonly passthrough?: readonly string[];
  readonly reasons?: readonly UntouchedReason[];
  readonly tensors?: readonly string[];
  readonly reason?: string;
}

export interface PlanReport {
  readonly target: FusePlan["target"];
  readonly layout: string;
  readonly modelType: string | null;
  readonly modelTypeKey: string | null;
  readonly expertCount: { readonly count: number; readonly key: ExpertCountKey } | null;
  /** Sub-models' own counts (qwen3_omni_moe), by tensor prefix; empty for most families. */
  readonly subModelCounts: readonly { readonly prefix: string; readonly count: number | null; readonly key: string | null }[];
  readonly warnings: readonly string[];
  readonly summary: Readonly<Record<LayerState, number>> & { readonly outputs: number; readonly consumed: number };
  readonly layers: readonly LayerReport[];
  readonly outputs: readonly { readonly name: string; readonly dtype: string; readonly shape: readonly number[]; readonly layer: string }[];
}

function layerReport(l: LayerPlan): LayerReport {
  const base = { prefix: l.prefix, state: l.state, code: l.code, expertsFound: l.expertsFound };
  switch (l.state) {
    case "fused":
      return { ...base, source: l.source, outputs: l.outputs, consumed: l.consumed.length, passthrough: l.passthrough };
    case "untouched":
      return { ...base, reasons: l.reasons };
    case "already-fused":
      return { ...base, tensors: l.tensors };
    case "dense":
      return { ...base, reason: l.reason };
  }
}

export function countStates(plan: FusePlan): Record<LayerState, number> {
  const counts: Record<LayerState, number> = { fused: 0, untouched: 0, "already-fused": 0, dense: 0 };
  for (const l of plan.layers) counts[l.state]++;
  return counts;
}

export function planReport(plan: FusePlan): PlanReport {
  return {
    target: plan.target,
    layout: plan.layout,
    modelType: plan.modelType ?? null,
    modelTypeKey: plan.modelTypeKey ?? null,
    expertCount: plan.expertCount === undefined ? null : { count: plan.expertCount.count, key: plan.expertCount.key },
    subModelCounts: plan.subModelCounts.map((s) => ({ prefix: s.prefix, count: s.count?.count ?? null, key: s.count?.key ?? null })),
    warnings: plan.warnings,
    summary: { ...countStates(plan), outputs: plan.outputs.length, consumed: plan.consumed.length },
    layers: plan.layers.map(layerReport),
    outputs: plan.outputs.map((o) => ({ name: o.name, dtype: o.dtype, shape: o.shape, layer: o.layer })),
  };
}

/** The reasons of an untouched layer in one line: the first few, then how many more. */
export function summarizeReasons(reasons: readonly UntouchedReason[], shown = 2): string {
  const head = reasons.slice(0, shown).map((r) => r.message);
  return reasons.length > shown ? `${head.join("; ")} (and ${reasons.length - shown} more)` : head.join("; ");
}

/** One line describing a layer's plan, for text output. */
export function describeLayer(l: LayerPlan, plan: FusePlan): string {
  switch (l.state) {
    case "fused": {
      const outs = plan.outputs.filter((o) => o.layer === l.prefix).map((o) => `${o.name.slice(l.prefix.length + 1)} ${formatShape(o.shape)}`);
      return `${l.source === "fused" ? "split" : `${l.consumed.length} tensors`} -> ${outs.join(", ")} ${plan.outputs.find((o) => o.layer === l.prefix)?.dtype ?? ""}`.trimEnd();
    }
    case "untouched":
      return summarizeReasons(l.reasons);
    case "already-fused":
      return `has ${l.tensors.join(", ")}`;
    case "dense":
      return l.reason;
  }
}

export function describeExpertCount(count: { readonly count: number; readonly key: string } | null | undefined): string {
  return count == null ? "no expert count in the config (dense: nothing changes)" : `${count.count} experts from ${count.key}`;
}

export function describeLayout(p: { readonly layout: string; readonly modelType?: string | null; readonly modelTypeKey?: string | null }): string {
  return p.modelType == null ? `layout ${p.layout} (model_type not in the registry)` : `layout ${p.layout} (${p.modelTypeKey} ${p.modelType})`;
}

export interface MoeLayerView {
  readonly prefix: string;
  /** The fused-target plan's state: what `fuse` would do with the layer. */
  readonly state: LayerState;
  readonly code: LayerCode;
  readonly experts: number;
  readonly detail: string;
  readonly reasons?: readonly UntouchedReason[];
}

export interface MoeView {
  readonly layout: string;
  readonly modelType: string | null;
  readonly modelTypeKey: string | null;
  readonly expertCount: { readonly count: number; readonly key: ExpertCountKey } | null;
  readonly warnings: readonly string[];
  readonly layers: readonly MoeLayerView[];
}

/** The MoE view of a checkpoint from its fused-target plan. */
export function moeView(plan: FusePlan): MoeView {
  const report = planReport(plan);
  return {
    layout: report.layout,
    modelType: report.modelType,
    modelTypeKey: report.modelTypeKey,
    expertCount: report.expertCount,
    warnings: report.warnings,
    layers: plan.layers.map((l) => {
      const view = { prefix: l.prefix, state: l.state, code: l.code, experts: l.expertsFound };
      if (l.state === "untouched") return { ...view, detail: summarizeReasons(l.reasons), reasons: l.reasons };
      if (l.state === "fused") return { ...view, detail: `complete: ${l.consumed.length} per-expert tensors` };
      return { ...view, detail: describeLayer(l, plan) };
    }),
  };
}
