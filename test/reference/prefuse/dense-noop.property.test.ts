// Dense no-op (oQ's 'no-op on dense models'): a checkpoint without an expert count (a dense model,
// or per-expert tensors under a config that states no count) comes out exactly as it went in,
// for both targets, and the plan writes nothing.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../../src/fixtures-gen/spec.js";
import { fuseTarget, tinySpec } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample, targetStage } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { expectSameWeights } from "../../support/weights.js";

const denseArb = fc.record({
  spec: fc
    .tuple(tinySpec({ dtypes: true }), fc.boolean())
    .map(([s, moe]): FixtureSpec => ({ ...s, variants: [moe ? { kind: "count-key", keys: [] } : { kind: "dense" }] })),
  target: fuseTarget,
});

describe("dense no-op", () => {
  it("property: no expert count, nothing written: the output is the input, bit for bit", async () => {
    await checkProperty({
      name: "dense-noop",
      arbitrary: denseArb,
      counterexample: ({ spec, target }) => specCounterexample(targetStage(target), spec),
      predicate: async ({ spec, target }) => {
        const g = generateCheckpoint(spec);
        const { weights, plan } = await prefuse(g.tensors, g.config, { target });
        expect(plan.expertCount).toBeUndefined();
        expect(plan.outputs).toEqual([]);
        expect(plan.layers.every((l) => l.state === "dense")).toBe(true);
        // Per-expert tensors without a count are reported dense, layer by layer.
        if (spec.variants![0]!.kind === "count-key") expect(plan.layers.length).toBeGreaterThan(0);
        expectSameWeights(weights, g.tensors, `${target} without an expert count`);
      },
    });
  });
});
