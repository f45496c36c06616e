// Diagnosis: a stacked tensor is right up to a 16-expert chunk boundary and wrong from there (oQ
// stacks 16 experts per step, `_STACK_CHUNK`): the first wrong expert sits next to a multiple of
// 16 (an off-by-one in the chunk loop shows at 15, 16 or 17) and every expert before it is right.
// A tensor with fewer or more experts than expected is compared over the experts both have; one
// whose expected experts are all right with more after them is not a seam but experts stacked
// beyond the count (experts-beyond-count.ts), wherever the count falls.

import { bytesEqual } from "../../reference/tensor.js";
import { type Diagnosis, type DiagnosisContext, changedTensors, listNames } from "./diagnosis.js";
import { fingerprint, leadingSlices, sameExpertShape } from "./layout-ops.js";

export const STACK_CHUNK = 16;

/** The first expert slot whose bytes differ, or the shorter length when one runs out first. */
export function firstBadExpert(expected: Uint8Array[], actual: Uint8Array[]): number | undefined {
  const n = Math.min(expected.length, actual.length);
  for (let e = 0; e < n; e++) if (!bytesEqual(expected[e]!, actual[e]!)) return e;
  return expected.length === actual.length ? undefined : n;
}

export function nearChunkBoundary(e: number): boolean {
  const r = e % STACK_CHUNK;
  return e >= STACK_CHUNK - 1 && (r === 0 || r === 1 || r === STACK_CHUNK - 1);
}

export function diagnoseChunkSeam(ctx: DiagnosisContext): Diagnosis[] {
  const found: { name: string; first: number; holds: number | undefined }[] = [];
  for (const { name, expected, actual } of changedTensors(ctx)) {
    if (!sameExpertShape(expected, actual)) continue;
    const want = leadingSlices(expected);
    const got = leadingSlices(actual);
    const first = firstBadExpert(want, got);
    if (first === undefined || !nearChunkBoundary(first) || (first === want.length && got.length > want.length)) continue;
    const slot = got[first];
    const holds = slot === undefined ? undefined : want.findIndex((s) => fingerprint(s) === fingerprint(slot));
    found.push({ name, first, holds: holds === undefined || holds < 0 ? undefined : holds });
  }
  if (found.length === 0) return [];
  const f = found[0]!;
  const boundary = Math.round(f.first / STACK_CHUNK) * STACK_CHUNK;
  const holds = f.holds === undefined ? "" : ` (slot ${f.first} holds expert ${f.holds})`;
  return [
    {
      kind: "chunk-seam",
      message: `chunk seam in ${listNames(
        found.map((x) => x.name),
        2,
      )}: experts 0..${f.first - 1} are right, expert ${f.first} is the first wrong one${holds}, at the ${STACK_CHUNK}-expert chunk boundary ${boundary}`,
      tensors: found.map((x) => x.name),
      detail: { firstBadExpert: f.first },
    },
  ];
}
