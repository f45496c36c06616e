// Diagnosis: the experts of a stacked tensor are all there but in another order. Expert order is
// the numeric expert id; sorting ids as strings ("10" before "2") is the classic bug and is named
// as such, any other order is reported as its mapping (slot -> expert it holds).

import { sameSpec } from "../../reference/tensor.js";
import { type Diagnosis, type DiagnosisContext, changedTensors, listNames } from "./diagnosis.js";
import { fingerprint, leadingSlices } from "./layout-ops.js";

/** The slot order a lexicographic sort of ids 0..n-1 gives: lexicographicOrder(12)[2] = 10. */
export function lexicographicOrder(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => (String(a) < String(b) ? -1 : 1));
}

/** For each slot of `actual`, the expert of `expected` it holds, when it is a permutation; else undefined. */
export function expertPermutation(expected: Uint8Array[], actual: Uint8Array[]): number[] | undefined {
  const where = new Map<string, number[]>();
  expected.forEach((s, e) => {
    const k = fingerprint(s);
    where.set(k, [...(where.get(k) ?? []), e]);
  });
  const used = new Set<number>();
  const mapping: number[] = [];
  for (const s of actual) {
    const candidates = where.get(fingerprint(s)) ?? [];
    const e = candidates.find((c) => !used.has(c));
    if (e === undefined) return undefined;
    used.add(e);
    mapping.push(e);
  }
  return mapping;
}

function describeMapping(mapping: readonly number[]): string {
  const moved = mapping.map((e, slot) => [slot, e] as const).filter(([slot, e]) => slot !== e);
  const shown = moved
    .slice(0, 6)
    .map(([slot, e]) => `slot ${slot} holds expert ${e}`)
    .join(", ");
  return moved.length > 6 ? `${shown}, ... (${moved.length} experts moved)` : shown;
}

export function diagnoseExpertsPermuted(ctx: DiagnosisContext): Diagnosis[] {
  const lexicographic: string[] = [];
  const other: { name: string; mapping: number[] }[] = [];
  for (const { name, expected, actual } of changedTensors(ctx)) {
    if (!sameSpec(expected, actual) || expected.shape.length < 2 || expected.shape[0]! < 2) continue;
    const mapping = expertPermutation(leadingSlices(expected), leadingSlices(actual));
    if (mapping === undefined || mapping.every((e, slot) => e === slot)) continue;
    const lex = lexicographicOrder(mapping.length);
    if (mapping.every((e, slot) => e === lex[slot])) lexicographic.push(name);
    else other.push({ name, mapping });
  }
  const out: Diagnosis[] = [];
  if (lexicographic.length > 0) {
    out.push({
      kind: "experts-permuted",
      message: `experts in lexicographic order in ${listNames(lexicographic, 2)}: ids sorted as strings put expert 10 before expert 2; the order is the numeric id`,
      tensors: lexicographic,
      detail: { order: "lexicographic" },
    });
  }
  if (other.length > 0) {
    out.push({
      kind: "experts-permuted",
      message: `experts permuted in ${listNames(
        other.map((o) => o.name),
        2,
      )}: ${describeMapping(other[0]!.mapping)}`,
      tensors: other.map((o) => o.name),
      detail: { order: "other", mapping: other[0]!.mapping },
    });
  }
  return out;
}
