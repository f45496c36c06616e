// Diagnosis: a tensor written transposed (its last two axes swapped), e.g. `down_proj` stored
// [E, I, H] where [E, H, I] is expected. Square matrices keep their shape, so the bytes decide.

import { bytesEqual } from "../../reference/tensor.js";
import { type Diagnosis, type DiagnosisContext, changedTensors, listNames } from "./diagnosis.js";
import { transposeLastTwo } from "./layout-ops.js";

export function diagnoseTransposed(ctx: DiagnosisContext): Diagnosis[] {
  const found: { name: string; expected: readonly number[]; actual: readonly number[] }[] = [];
  for (const { name, expected, actual } of changedTensors(ctx)) {
    const r = expected.shape.length;
    if (r < 2 || actual.dtype !== expected.dtype || actual.shape.length !== r) continue;
    const flipped = [...expected.shape.slice(0, r - 2), expected.shape[r - 1]!, expected.shape[r - 2]!];
    if (!actual.shape.every((d, i) => d === flipped[i])) continue;
    const t = transposeLastTwo(expected);
    if (t !== undefined && bytesEqual(t, actual.data)) found.push({ name, expected: expected.shape, actual: actual.shape });
  }
  if (found.length === 0) return [];
  const first = found[0]!;
  return [
    {
      kind: "transposed",
      message: `${listNames(
        found.map((f) => f.name),
        2,
      )} written transposed: [${first.actual.join(", ")}] where [${first.expected.join(", ")}] is expected (the last two axes swapped)`,
      tensors: found.map((f) => f.name),
    },
  ];
}
