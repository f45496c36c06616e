// Idempotence (oQ's 'no-op on already-fused checkpoints', generalised): fusing the output of a
// fuse changes nothing, for both targets, whatever mixture of per-expert, fused and damaged
// layers went in; the second plan fuses no layer.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import { anyPrefuseInput, fuseTarget } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample, targetStage } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { expectSameWeights } from "../../support/weights.js";

describe("idempotence", () => {
  it("property: prefuse(prefuse(x)) = prefuse(x), for both targets", async () => {
    await checkProperty({
      name: "idempotence",
      arbitrary: fc.record({ spec: anyPrefuseInput, target: fuseTarget }),
      counterexample: ({ spec, target }) => specCounterexample(targetStage(target), spec),
      predicate: async ({ spec, target }) => {
        const g = generateCheckpoint(spec);
        const once = await prefuse(g.tensors, g.config, { target });
        const twice = await prefuse(once.weights, g.config, { target });
        expect(twice.plan.layers.filter((l) => l.state === "fused").map((l) => l.prefix)).toEqual([]);
        expect(twice.plan.outputs).toEqual([]);
        expectSameWeights(twice.weights, once.weights, `second ${target} fuse`);
      },
    });
  });
});
