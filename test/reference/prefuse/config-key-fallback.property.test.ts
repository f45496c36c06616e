// Config-key fallback (oQ's 'four num_experts config locations', generalised): the expert count
// placed at any subset of the six locations, with agreeing or conflicting values and nulls,
// resolves by the documented precedence (oQ's four, then n_routed_experts, top level before
// text_config), stated here from the README rather than taken from the reference. The first key
// holding the true E fuses every layer and each later key that disagrees is one warning; a first
// key holding another count leaves every layer untouched (ids >= E, or experts missing); no count
// at all is a no-op, bit for bit.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../../src/fixtures-gen/spec.js";
import type { CountKeySetting } from "../../../src/fixtures-gen/variants.js";
import { expertCount, tinySpec } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { COUNT_KEY_PRECEDENCE } from "../../support/contract.js";
import { expectSameWeights } from "../../support/weights.js";

const PRECEDENCE = COUNT_KEY_PRECEDENCE;
type ExpertCountKey = (typeof PRECEDENCE)[number];

/** What one location holds: the true count (twice as likely), null, another count, or nothing. */
const placed = fc.option(fc.oneof(fc.constant("E" as const), fc.constant("E" as const), fc.constant(null), fc.integer({ min: 1, max: 30 })), {
  nil: undefined,
});

/** Any mixture; a fifth of the time no count at all (every location absent or null). */
const placements = fc.oneof(
  { weight: 4, arbitrary: fc.array(placed, { minLength: PRECEDENCE.length, maxLength: PRECEDENCE.length }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(undefined, null), { minLength: PRECEDENCE.length, maxLength: PRECEDENCE.length }) },
);

const caseArb = fc.tuple(tinySpec({ experts: expertCount(20) }), placements).map(([base, values]): FixtureSpec => {
  const keys: CountKeySetting[] = [];
  PRECEDENCE.forEach((key, i) => {
    const v = values[i];
    if (v !== undefined) keys.push(v === "E" ? { key } : { key, value: v });
  });
  return { ...base, variants: [{ kind: "count-key", keys }] };
});

/** The count each location holds (null and absent both mean nothing), in precedence order. */
function stated(spec: FixtureSpec): { key: ExpertCountKey; count: number }[] {
  const v = spec.variants![0]!;
  if (v.kind !== "count-key") throw new Error("not a count-key spec");
  const at = new Map(v.keys.map((k) => [k.key, k.value === undefined ? spec.experts! : k.value] as const));
  return PRECEDENCE.filter((k) => typeof at.get(k) === "number").map((key) => ({ key, count: at.get(key) as number }));
}

describe("config-key fallback", () => {
  it("property: the first location holding a count wins (conflicts warn), its count decides fuse or untouched, none is a no-op", async () => {
    await checkProperty({
      name: "config-key-fallback",
      arbitrary: caseArb,
      counterexample: (spec) => specCounterexample("prefuse", spec),
      predicate: async (spec) => {
        const g = generateCheckpoint(spec);
        const { weights, plan } = await prefuse(g.tensors, g.config);
        const counts = stated(spec);
        const first = counts[0];
        const perExpertLayers = plan.layers.length;
        expect(perExpertLayers).toBeGreaterThan(0);
        if (first === undefined) {
          expect(plan.expertCount).toBeUndefined();
          expect(plan.layers.every((l) => l.state === "dense")).toBe(true);
          expectSameWeights(weights, g.tensors, "no expert count: the output");
          return;
        }
        expect(plan.expertCount?.key).toBe(first.key);
        expect(plan.expertCount?.count).toBe(first.count);
        // One warning per later location that disagrees, naming it, in precedence order.
        const disagreeing = counts.filter((c) => c.count !== first.count);
        // (Other warnings, such as a family without a transformers fused form, are not about counts.)
        const countWarnings = plan.warnings.filter((w) => w.includes(" disagrees with "));
        expect(countWarnings).toHaveLength(disagreeing.length);
        disagreeing.forEach((c, i) => {
          expect(countWarnings[i]).toContain(`'${c.key}' = ${c.count}`);
        });
        if (first.count === spec.experts) {
          expect(plan.layers.map((l) => l.state)).toEqual(plan.layers.map(() => "fused"));
          return;
        }
        const code = first.count < spec.experts! ? "UNEXPECTED_EXPERT" : "MISSING_TENSOR";
        for (const l of plan.layers) {
          expect(l.state).toBe("untouched");
          if (l.state === "untouched") expect(l.reasons.map((r) => r.code)).toContain(code);
        }
        expectSameWeights(weights, g.tensors, `count ${first.count} from ${first.key} for ${spec.experts} experts: the output`);
      },
    });
  });
});
