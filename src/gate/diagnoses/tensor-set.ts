// Diagnosis: the candidate's output has other tensor names than the reference's. A missing
// tensor written under another name with the same dtype, shape and bytes is reported as renamed;
// the rest as missing or extra. Names another diagnosis already explains (a layer left per
// expert, a partial layer fused) are passed in `explained` and left out.

import { bytesEqual, sameSpec } from "../../reference/tensor.js";
import { type Diagnosis, type DiagnosisContext, listNames } from "./diagnosis.js";

export function diagnoseTensorSet(ctx: DiagnosisContext, explained: ReadonlySet<string> = new Set()): Diagnosis[] {
  const missing = [...ctx.expected.keys()].filter((n) => !ctx.actual.has(n) && !explained.has(n)).sort();
  let extra = [...ctx.actual.keys()].filter((n) => !ctx.expected.has(n) && !explained.has(n)).sort();
  const renamed: [string, string][] = [];
  const stillMissing: string[] = [];
  for (const m of missing) {
    const e = ctx.expected.get(m)!;
    const twin = extra.find((x) => {
      const a = ctx.actual.get(x)!;
      return sameSpec(a, e) && bytesEqual(a.data, e.data);
    });
    if (twin === undefined) stillMissing.push(m);
    else {
      renamed.push([m, twin]);
      extra = extra.filter((x) => x !== twin);
    }
  }
  const out: Diagnosis[] = [];
  if (renamed.length > 0) {
    const [from, to] = renamed[0]!;
    out.push({
      kind: "renamed",
      message: `${renamed.length} tensor(s) written under another name with the right bytes: ${from} as ${to}${renamed.length > 1 ? ", ..." : ""}`,
      tensors: renamed.flat(),
    });
  }
  if (stillMissing.length > 0) {
    out.push({
      kind: "missing-tensors",
      message: `${stillMissing.length} expected tensor(s) missing: ${listNames(stillMissing)}`,
      tensors: stillMissing,
      detail: { count: stillMissing.length },
    });
  }
  if (extra.length > 0) {
    out.push({
      kind: "extra-tensors",
      message: `${extra.length} tensor(s) the reference does not write: ${listNames(extra)}`,
      tensors: extra,
      detail: { count: extra.length },
    });
  }
  return out;
}
