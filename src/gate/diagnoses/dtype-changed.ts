// Diagnosis: tensors written in another dtype than the reference's (the prefuse never changes a
// dtype; the dequant stages write BF16). Widening (BF16 -> F32) keeps the values but doubles the
// bytes and breaks loaders that check dtypes; narrowing loses precision.

import { dtypeBits } from "../../reference/dtypes.js";
import { type Diagnosis, type DiagnosisContext, listNames } from "./diagnosis.js";

export function diagnoseDtypeChanged(ctx: DiagnosisContext): Diagnosis[] {
  const byChange = new Map<string, string[]>();
  for (const [name, e] of ctx.expected) {
    const a = ctx.actual.get(name);
    if (a === undefined || a.dtype === e.dtype) continue;
    const how = dtypeBits(a.dtype) > dtypeBits(e.dtype) ? "widened" : dtypeBits(a.dtype) < dtypeBits(e.dtype) ? "narrowed" : "changed";
    const key = `${e.dtype} -> ${a.dtype} (${how})`;
    byChange.set(key, [...(byChange.get(key) ?? []), name]);
  }
  return [...byChange].map(([change, names]) => ({
    kind: "dtype-changed",
    message: `${names.length} tensor(s) changed dtype ${change}: ${listNames(names.sort(), 2)}`,
    tensors: names,
    detail: { change },
  }));
}
