// Diagnosis: a layer the reference fuses is not fused in the candidate's output: left per expert
// (its per-expert tensors still there, no fused tensor) or missing altogether (neither).

import { type Diagnosis, type DiagnosisContext, listNames } from "./diagnosis.js";

export function diagnoseLayersNotFused(ctx: DiagnosisContext): Diagnosis[] {
  const out: Diagnosis[] = [];
  for (const layer of ctx.plan?.layers ?? []) {
    if (layer.state !== "fused" || layer.outputs.some((o) => ctx.actual.has(o))) continue;
    const kept = layer.consumed.filter((n) => ctx.actual.has(n));
    const detail = { layer: layer.prefix, experts: layer.expertsFound };
    if (kept.length === 0) {
      out.push({
        kind: "layer-missing",
        message: `layer ${layer.prefix} is missing: neither its fused tensors (${listNames(layer.outputs, 2)}) nor its ${layer.consumed.length} per-expert tensors are in the output`,
        tensors: [...layer.outputs, ...layer.consumed],
        detail,
      });
    } else {
      const how = kept.length === layer.consumed.length ? `all ${kept.length}` : `${kept.length} of ${layer.consumed.length}`;
      out.push({
        kind: "layer-left-per-expert",
        message: `layer ${layer.prefix} was left per expert: ${listNames(layer.outputs, 2)} not written, ${how} per-expert tensors still there`,
        tensors: [...layer.outputs, ...layer.consumed],
        detail,
      });
    }
  }
  return out;
}
