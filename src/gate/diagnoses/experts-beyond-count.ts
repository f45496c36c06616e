// Diagnosis: a fused tensor holds more experts than the reference's, and the reference's are all
// there, right and in order, before the rest: the candidate stacked every expert it found on disk
// instead of the config's count of them (an id >= E, or a count that disagrees with the
// checkpoint), as a converter that reads no count does (transformers' MergeModulelist stacks
// whatever `experts.<e>` modules exist). Not a chunk seam, even when the count is a multiple of 16.

import { type Diagnosis, type DiagnosisContext, changedTensors, listNames } from "./diagnosis.js";
import { firstBadExpert } from "./chunk-seam.js";
import { leadingSlices, sameExpertShape } from "./layout-ops.js";

export function diagnoseExpertsBeyondCount(ctx: DiagnosisContext): Diagnosis[] {
  const found: { name: string; want: number; got: number }[] = [];
  for (const { name, expected, actual } of changedTensors(ctx)) {
    if (!sameExpertShape(expected, actual) || actual.shape[0]! <= expected.shape[0]!) continue;
    const want = leadingSlices(expected);
    if (firstBadExpert(want, leadingSlices(actual)) !== want.length) continue;
    found.push({ name, want: expected.shape[0]!, got: actual.shape[0]! });
  }
  if (found.length === 0) return [];
  const f = found[0]!;
  return [
    {
      kind: "experts-beyond-count",
      message: `${listNames(
        found.map((x) => x.name),
        2,
      )} stack ${f.got} experts where the count gives ${f.want}: experts 0..${f.want - 1} are right, and ${f.got - f.want} more were stacked after them (experts found on disk beyond the count)`,
      tensors: found.map((x) => x.name),
      detail: { expected: f.want, stacked: f.got },
    },
  ];
}
