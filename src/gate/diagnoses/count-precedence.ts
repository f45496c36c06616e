// Diagnosis: the expert count was read from the wrong config key. When the config states the
// count at several locations with different values, oQ's precedence (num_local_experts,
// text_config.num_local_experts, num_experts, text_config.num_experts; then this project's
// n_routed_experts) picks the first. A candidate that stacks as many experts as a later key says,
// or leaves every layer per expert that the first key makes complete, reads them in another order.

import { countKeysOf } from "../../fixtures-gen/moe-structure.js";
import { type Diagnosis, type DiagnosisContext, listNames } from "./diagnosis.js";

export function diagnoseCountKeyPrecedence(ctx: DiagnosisContext): Diagnosis[] {
  const count = ctx.plan?.expertCount;
  if (count === undefined) return [];
  const others = countKeysOf(ctx.config).filter((k) => typeof k.value === "number" && k.value !== count.count && k.key !== count.key);
  if (others.length === 0) return [];
  const used = (n: number) => others.find((k) => k.value === n);
  const stated = `${count.key} = ${count.count} comes first in the precedence, ${others.map((k) => `${k.key} = ${String(k.value)}`).join(", ")} later`;
  // Stacked tensors whose expert axis holds another key's count, where that is not simply every
  // expert the layer has on disk (a candidate ignoring the count stacks those: partial-layer-fused).
  const onDisk = (name: string) => ctx.plan?.layers.find((l) => name.startsWith(`${l.prefix}.`))?.expertsFound;
  const stacked = [...ctx.actual].filter(
    ([name, t]) => t.shape.length === 3 && ctx.expected.get(name)?.shape[0] !== t.shape[0] && used(t.shape[0]!) !== undefined && onDisk(name) !== t.shape[0],
  );
  if (stacked.length > 0) {
    const [name, t] = stacked[0]!;
    return [
      {
        kind: "count-key-precedence",
        message: `the candidate stacked ${t.shape[0]} experts (the value of ${used(t.shape[0]!)!.key}) in ${listNames(
          stacked.map(([n]) => n),
          2,
        )}: ${stated}`,
        tensors: stacked.map(([n]) => n),
        detail: { used: t.shape[0]!, expected: count.count, tensor: name },
      },
    ];
  }
  // Every layer the first key makes complete left per expert, as another count would have it (one
  // layer left alone while others are fused is a different bug: layer-left-per-expert).
  const complete = (ctx.plan?.layers ?? []).flatMap((l) => (l.state === "fused" ? [l] : []));
  const left = complete.filter((l) => !l.outputs.some((o) => ctx.actual.has(o)) && l.consumed.every((n) => ctx.actual.has(n)));
  if (left.length < complete.length) return [];
  if (left.length === 0) return [];
  return [
    {
      kind: "count-key-precedence",
      message: `${left.length} complete layer(s) left per expert (${listNames(
        left.map((l) => l.prefix),
        2,
      )}) as if the count were ${others.map((k) => String(k.value)).join(" or ")}: ${stated}`,
      tensors: left.flatMap((l) => l.consumed),
      detail: { expected: count.count },
    },
  ];
}
