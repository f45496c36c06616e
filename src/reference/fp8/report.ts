// The dequantization plan as printed by `dequant --json` and `fuse --dequant-fp8 --json`.

import type { DequantPlan } from "./plan.js";

export function dequantPlanReport(plan: DequantPlan) {
  return {
    scheme: plan.scheme ?? null,
    dequantized: plan.dequantized.map((e) => ({
      weight: e.weight,
      dtype: e.dtype,
      shape: e.shape,
      scale: e.scale,
      scaleDtype: e.scaleSpec.dtype,
      block: e.block,
    })),
    removedScales: plan.removedScales,
    droppedActivationScales: plan.droppedActivationScales,
    passthrough: plan.passthrough,
  };
}
