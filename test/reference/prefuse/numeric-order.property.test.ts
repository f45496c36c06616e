// Numeric expert order: with more than ten experts, written in any order and with ids
// zero-padded or not (`experts.07` is expert 7), slot e of every fused tensor holds expert e;
// a lexicographic sort (10 before 2) would put another expert there. Experts are checked to be
// distinct first, so a permutation could not go unseen.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { type TensorMap, bytesEqual } from "../../../src/reference/tensor.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import { ROWS_FAMILIES, expertCount, tinySpec } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { DOWN, GATE_UP, fusedPrefixOf, parsePerExpert, perExpertName } from "../../support/moe-names.js";
import { expertSlot, shuffled } from "../../support/weights.js";

/** The dict with each expert id written with `pad` digits of zero-padding where `which` says. */
function padded(w: TensorMap, pad: number, which: number): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of w) {
    const p = parsePerExpert(name);
    const padIt = p !== undefined && ((p.expert * 7 + which) & 1) === 1;
    out.set(padIt ? name.replace(`.experts.${p.expert}.`, `.experts.${String(p.expert).padStart(pad, "0")}.`) : name, t);
  }
  return out;
}

describe("numeric expert order", () => {
  it("property: E > 10, any tensor order, zero-padded ids: slot e of gate_up and down is expert e", async () => {
    await checkProperty({
      name: "numeric-order",
      arbitrary: fc.record({
        // At least 6 elements per gate, so that experts differ.
        spec: tinySpec({ families: ROWS_FAMILIES, experts: expertCount(40, 11) }).map((s) => ({
          ...s,
          hidden: Math.max(3, s.hidden!),
          intermediate: Math.max(2, s.intermediate!),
        })),
        order: fc.nat(),
        pad: fc.integer({ min: 1, max: 4 }),
        which: fc.nat(),
      }),
      counterexample: ({ spec, order, pad, which }) => specCounterexample("prefuse", spec, { order, pad, which }),
      predicate: async ({ spec, order, pad, which }) => {
        const g = generateCheckpoint(spec);
        const E = spec.experts!;
        const { weights, plan } = await prefuse(shuffled(padded(g.tensors, pad, which), order), g.config);
        expect(plan.layers.length).toBeGreaterThan(0);
        for (const layer of plan.layers) {
          expect(layer.state, layer.prefix).toBe("fused");
          const gateUp = weights.get(`${fusedPrefixOf(spec.family, layer.prefix)}${GATE_UP}`)!;
          const down = weights.get(`${fusedPrefixOf(spec.family, layer.prefix)}${DOWN}`)!;
          const gates = Array.from({ length: E }, (_, e) => g.tensors.get(perExpertName(spec.family, layer.prefix, e, "gate"))!.data);
          const hex = gates.map((b) => Buffer.from(b).toString("hex"));
          fc.pre(new Set(hex).size === E);
          for (let e = 0; e < E; e++) {
            const slot = expertSlot(gateUp, e);
            expect(bytesEqual(slot.subarray(0, gates[e]!.length), gates[e]!), `${layer.prefix}: gate_up slot ${e} holds expert ${e}'s gate`).toBe(true);
            const up = g.tensors.get(perExpertName(spec.family, layer.prefix, e, "up"))!.data;
            expect(bytesEqual(slot.subarray(gates[e]!.length), up), `${layer.prefix}: gate_up slot ${e} holds expert ${e}'s up`).toBe(true);
            expect(
              bytesEqual(expertSlot(down, e), g.tensors.get(perExpertName(spec.family, layer.prefix, e, "down"))!.data),
              `${layer.prefix}: down slot ${e}`,
            ).toBe(true);
          }
        }
      },
    });
  });
});
