// Diagnosis: gate and up exchanged. In a fused `gate_up_proj` each expert must hold its gate rows
// first (its gate columns first when the family stores it transposed); in the switch_mlp layout
// `gate_proj` must hold the gates and `up_proj` the ups.

import { bytesEqual, sameSpec } from "../../reference/tensor.js";
import { type Diagnosis, type DiagnosisContext, changedTensors, listNames } from "./diagnosis.js";
import { swapHalves } from "./layout-ops.js";

const SWITCH_GATE = /^(.+)\.gate_proj\.(weight|scales|biases)$/;

export function diagnoseGateUpSwapped(ctx: DiagnosisContext): Diagnosis[] {
  const swapped: string[] = [];
  for (const { name, expected, actual } of changedTensors(ctx)) {
    if (!sameSpec(expected, actual)) continue;
    if (name.endsWith(".gate_up_proj") && expected.shape.length === 3) {
      // Rows (axis 1) for [E, 2I, H], columns (axis 2) for the transposed [E, H, 2I].
      if (
        [1, 2].some((axis) => {
          const s = swapHalves(expected, axis);
          return s !== undefined && bytesEqual(s, actual.data);
        })
      )
        swapped.push(name);
      continue;
    }
    const m = SWITCH_GATE.exec(name);
    if (m === null) continue;
    const upName = `${m[1]}.up_proj.${m[2]}`;
    const upExpected = ctx.expected.get(upName);
    const upActual = ctx.actual.get(upName);
    if (upExpected === undefined || upActual === undefined) continue;
    if (bytesEqual(actual.data, upExpected.data) && bytesEqual(upActual.data, expected.data)) swapped.push(name, upName);
  }
  if (swapped.length === 0) return [];
  return [
    {
      kind: "gate-up-swapped",
      message: `gate and up are swapped in ${listNames(swapped, 2)}: each expert must hold its gate (w1) part first, then its up (w3) part`,
      tensors: swapped,
    },
  ];
}
