// All diagnoses of one mismatch, most specific first: configuration (count key precedence), then
// layer-level findings (a partial layer fused, an untouched layer changed, a layer missing or left
// per expert), then value-level ones (gate/up swapped, transposed, experts permuted, chunk seam,
// experts beyond the count, dtype changed), then whatever tensor names remain unexplained
// (renamed, missing, extra).

import { diagnoseDtypeChanged } from "./dtype-changed.js";
import { diagnoseChunkSeam } from "./chunk-seam.js";
import { diagnoseCountKeyPrecedence } from "./count-precedence.js";
import type { Diagnosis, DiagnosisContext } from "./diagnosis.js";
import { diagnoseExpertsBeyondCount } from "./experts-beyond-count.js";
import { diagnoseExpertsPermuted } from "./experts-permuted.js";
import { diagnoseGateUpSwapped } from "./gate-up-swapped.js";
import { diagnoseLayersNotFused } from "./layer-left.js";
import { diagnoseUntouchedLayersChanged } from "./partial-fused.js";
import { diagnoseTensorSet } from "./tensor-set.js";
import { diagnoseTransposed } from "./transposed.js";

export function diagnose(ctx: DiagnosisContext): Diagnosis[] {
  const found = [
    ...diagnoseCountKeyPrecedence(ctx),
    ...diagnoseUntouchedLayersChanged(ctx),
    ...diagnoseLayersNotFused(ctx),
    ...diagnoseGateUpSwapped(ctx),
    ...diagnoseTransposed(ctx),
    ...diagnoseExpertsPermuted(ctx),
    ...diagnoseChunkSeam(ctx),
    ...diagnoseExpertsBeyondCount(ctx),
    ...diagnoseDtypeChanged(ctx),
  ];
  const explained = new Set(found.flatMap((d) => d.tensors));
  return [...found, ...diagnoseTensorSet(ctx, explained)];
}
