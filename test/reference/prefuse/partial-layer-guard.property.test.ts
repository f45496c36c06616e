// Partial-layer guard (oQ's 'partial layer left untouched', generalised): removing any expert or
// projection, adding an expert id >= E, or changing one tensor's shape or dtype, in any MoE layer
// of any family, leaves exactly that layer untouched (every one of its tensors in the output, bit
// for bit, nothing fused for it) with the reason in the plan naming the expert and projection,
// while every other MoE layer is fused. The damaged layer is found by comparing the checkpoint
// with its undamaged twin, not by asking the reference.

import { describe, expect, it } from "vitest";
import type { UntouchedCode } from "../../../src/reference/prefuse/reasons.js";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { bytesEqual } from "../../../src/reference/tensor.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../../src/fixtures-gen/spec.js";
import type { Variant } from "../../../src/fixtures-gen/variants.js";
import { expertCount, tinySpec, withVariant } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { fusedPrefixOf, parsePerExpert } from "../../support/moe-names.js";

const CODE: Readonly<Record<string, UntouchedCode>> = {
  "drop-expert": "MISSING_TENSOR",
  "drop-projection": "MISSING_TENSOR",
  "wrong-shape": "SHAPE_MISMATCH",
  "wrong-dtype": "DTYPE_MISMATCH",
  "extra-expert": "UNEXPECTED_EXPERT",
};

/** The layer prefixes whose tensors differ between two checkpoints. */
function changedLayers(a: ReturnType<typeof generateCheckpoint>, b: ReturnType<typeof generateCheckpoint>): string[] {
  const names = new Set([...a.tensors.keys(), ...b.tensors.keys()]);
  const changed = [...names].filter((n) => {
    const x = a.tensors.get(n);
    const y = b.tensors.get(n);
    return x === undefined || y === undefined || x.dtype !== y.dtype || x.shape.join() !== y.shape.join() || !bytesEqual(x.data, y.data);
  });
  return [...new Set(changed.map((n) => parsePerExpert(n)?.prefix ?? `(not an expert tensor: ${n})`))];
}

function expectedReason(v: Variant): { code: UntouchedCode; expert: number; projection?: string } {
  if (v.kind === "extra-expert") return { code: CODE["extra-expert"]!, expert: v.id! };
  if (v.kind !== "partial") throw new Error(`not a damaging variant: ${v.kind}`);
  return { code: CODE[v.defect]!, expert: v.expert!, ...(v.defect === "drop-expert" ? {} : { projection: v.projection! }) };
}

describe("partial-layer guard", () => {
  it("property: one damaged layer (missing expert or projection, id >= E, odd shape or dtype) stays untouched with its reason; every other layer fuses", async () => {
    await checkProperty({
      name: "partial-layer-guard",
      arbitrary: withVariant(tinySpec({ experts: expertCount(20), dtypes: true }), ["partial", "partial", "extra-expert"]),
      counterexample: (spec) => specCounterexample("prefuse", spec),
      predicate: async (spec: FixtureSpec) => {
        const variant = spec.variants![0]!;
        const g = generateCheckpoint(spec);
        const victims = changedLayers(generateCheckpoint({ ...spec, variants: [] }), g);
        expect(victims).toHaveLength(1);
        const victim = victims[0]!;
        const { weights, plan } = await prefuse(g.tensors, g.config);

        const want = expectedReason(variant);
        for (const l of plan.layers) {
          if (l.prefix !== victim) {
            expect(l.state, l.prefix).toBe("fused");
            continue;
          }
          expect(l.state, `${victim} (damaged)`).toBe("untouched");
          if (l.state !== "untouched") continue;
          expect(l.reasons).toContainEqual(
            expect.objectContaining(
              want.projection === undefined ? { code: want.code, expert: want.expert } : { code: want.code, expert: want.expert, projection: want.projection },
            ),
          );
        }
        expect(plan.layers.map((l) => l.prefix)).toContain(victim);

        // Every tensor of the damaged layer is in the output unchanged; the others' experts are gone.
        for (const [name, t] of g.tensors) {
          const layer = parsePerExpert(name)?.prefix;
          if (layer === undefined) continue;
          const out = weights.get(name);
          if (layer === victim) expect(out === t || (out !== undefined && bytesEqual(out.data, t.data) && out.dtype === t.dtype), name).toBe(true);
          else expect(out, `${name} of a fused layer`).toBeUndefined();
        }
        // Nothing new is written for the damaged layer: two fused tensors per fused layer, no more.
        const added = [...weights.keys()].filter((n) => !g.tensors.has(n));
        expect(added).toHaveLength(2 * (plan.layers.length - 1));
        expect(added.some((n) => n.startsWith(`${fusedPrefixOf(spec.family, victim)}.`))).toBe(false);
      },
    });
  });
});
