// Diagnosis: a layer the reference leaves as it is was changed by the candidate: a partial layer
// (a missing expert or projection, an id >= E, a wrong shape) fused anyway, which silently
// corrupts the model, or a dense or already fused layer rewritten. Changed means: expert tensors
// of the layer (`<prefix>.experts.*`, `<prefix>.switch_mlp.*`) removed, or written where the
// reference writes none.

import { EXPERT_LAYOUTS, fusedPrefix } from "../../reference/prefuse/layouts.js";
import { type Diagnosis, type DiagnosisContext, listNames } from "./diagnosis.js";

export function diagnoseUntouchedLayersChanged(ctx: DiagnosisContext): Diagnosis[] {
  const plan = ctx.plan;
  if (plan === undefined) return [];
  const layout = EXPERT_LAYOUTS.find((l) => l.name === plan.layout);
  const out: Diagnosis[] = [];
  for (const layer of plan.layers) {
    if (layer.state === "fused") continue;
    const containers = [layer.prefix, layout === undefined ? layer.prefix : fusedPrefix(layout, layer.prefix)];
    const prefixes = containers.flatMap((p) => [`${p}.experts.`, `${p}.${layout?.switchModule ?? "switch_mlp"}.`]);
    const under = (n: string) => prefixes.some((p) => n.startsWith(p));
    const removed = [...ctx.expected.keys()].filter((n) => under(n) && !ctx.actual.has(n)).sort();
    const written = [...ctx.actual.keys()].filter((n) => under(n) && !ctx.expected.has(n)).sort();
    if (removed.length === 0 && written.length === 0) continue;
    const change = [written.length > 0 ? `wrote ${listNames(written, 2)}` : "", removed.length > 0 ? `removed ${removed.length} of its tensors` : ""]
      .filter((s) => s !== "")
      .join(" and ");
    const tensors = [...written, ...removed];
    if (layer.state === "untouched") {
      const why = layer.reasons[0]!;
      out.push({
        kind: "partial-layer-fused",
        message: `partial layer ${layer.prefix} must stay untouched (${why.code}: ${why.message}) but the candidate ${change}`,
        tensors,
        detail: { layer: layer.prefix, reason: why.code },
      });
    } else {
      const why = layer.state === "dense" ? "the config has no expert count, so the checkpoint is dense" : "it is already fused";
      out.push({
        kind: "untouched-layer-changed",
        message: `layer ${layer.prefix} must stay as it is (${why}) but the candidate ${change}`,
        tensors,
        detail: { layer: layer.prefix, state: layer.state },
      });
    }
  }
  return out;
}
