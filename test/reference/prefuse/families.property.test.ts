// Every family of the layout registry, generated and fused in both targets, held to an oracle
// that shares nothing with the reference: the names come from test/support/moe-names.ts (written
// from the loaders' sanitize text), the bytes from test/support/oracle.ts (element by element,
// from the per-expert checkpoint of the same seed), and the states from what each loader
// defines for the family's stored form. Also: every registry entry has a generator family, and
// no group of expert tensors is left without a state and a code.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FAMILY_NAMES, type FamilyName, family } from "../../../src/fixtures-gen/families.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../../src/fixtures-gen/spec.js";
import { EXPERT_LAYOUTS, type FuseTarget, type Projection, selectLayout } from "../../../src/reference/prefuse/layouts.js";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import type { Tensor, TensorMap } from "../../../src/reference/tensor.js";
import { NOT_FP8_FAMILIES, expertCount } from "../../support/arbitraries/fixture-spec.js";
import { fusedPrefixOf, perExpertName, switchName } from "../../support/moe-names.js";
import { oracleGateUpColumns, oracleGateUpRows, oracleStack } from "../../support/oracle.js";
import { checkProperty } from "../../support/property/runner.js";
import { specCounterexample } from "../../support/property/counterexample.js";
import { expectSameBytes, expectSameWeights } from "../../support/weights.js";

/** The module holding a layer's experts, from the fixture catalogue (layer root + block). */
function blocks(name: FamilyName, layers: number): string[] {
  const def = family(name);
  const root = def.layerRoot ?? `${def.textPrefix}layers.`;
  return Array.from({ length: layers }, (_, l) => (def.moe.block === "" ? `${root}${l}` : `${root}${l}.${def.moe.block}`));
}

interface Case {
  readonly spec: FixtureSpec;
  /** Generate the family's fused form (where it has one) instead of per expert. */
  readonly fused: boolean;
  readonly target: FuseTarget;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  spec: fc.record({
    family: fc.constantFrom(...NOT_FP8_FAMILIES.filter((f) => family(f).sparsity.kind === "all" && family(f).defaults.mtpLayers === 0)),
    seed: fc.nat({ max: 0xffffffff }),
    experts: expertCount(40),
    layers: fc.integer({ min: 1, max: 2 }),
    hidden: fc.integer({ min: 1, max: 4 }),
    intermediate: fc.integer({ min: 1, max: 3 }),
    vocab: fc.constant(4),
  }),
  fused: fc.boolean(),
  target: fc.constantFrom<FuseTarget>("fused", "switch_mlp"),
});

/** What the family's loaders define for its experts in this target: the outputs expected per layer, or a state. */
type Expected = { readonly outputs: Map<string, Tensor> } | { readonly state: "already-fused" | "untouched"; readonly code: string };

function expectedLayer(name: FamilyName, prefix: string, source: TensorMap, E: number, fusedInput: boolean, target: FuseTarget): Expected {
  const m = family(name).moe;
  if (m.stacked !== "fused") return { state: "already-fused", code: "STACKED_OTHER_NAME" };
  if (fusedInput && target === "fused") return { state: "already-fused", code: "ALREADY_FUSED" };
  if (m.fusedStyle === "interleaved" && (fusedInput || target === "fused")) return { state: "untouched", code: "INTERLEAVED" };
  if (!m.gated && target === "fused") return { state: "untouched", code: "NON_GATED" };
  const series = (p: Projection): Tensor[] => Array.from({ length: E }, (_, e) => source.get(perExpertName(name, prefix, e, p))!);
  const outputs = new Map<string, Tensor>();
  const inputPrefix = fusedInput ? fusedPrefixOf(name, prefix) : prefix;
  if (target === "switch_mlp") {
    for (const p of m.gated ? (["gate", "up", "down"] as const) : (["up", "down"] as const))
      outputs.set(switchName(inputPrefix, p, name)!, oracleStack(series(p)));
    return { outputs };
  }
  const [I, H] = series("gate")[0]!.shape as [number, number];
  const columns = m.fusedStyle === "columns";
  const at = fusedPrefixOf(name, prefix);
  outputs.set(`${at}.experts.gate_up_proj`, (columns ? oracleGateUpColumns : oracleGateUpRows)(series("gate"), series("up"), I, H));
  outputs.set(`${at}.experts.down_proj`, oracleStack(series("down"), columns));
  return { outputs };
}

describe("every registry family, both targets", () => {
  it("every registry entry has a generator family of its model_type, and every family selects its entry", () => {
    const covered = new Set(FAMILY_NAMES.map((f) => selectLayout({ model_type: family(f).modelType }).layout.name));
    expect([...EXPERT_LAYOUTS.map((l) => l.name)].filter((n) => !covered.has(n))).toEqual([]);
    for (const f of FAMILY_NAMES) expect(selectLayout({ model_type: family(f).modelType }).modelType).toBe(family(f).modelType);
  });

  it("property: gen -> fuse writes what each family's loader reads (names from the loaders, bytes element by element), and records every expert group", async () => {
    await checkProperty({
      name: "registry-families",
      arbitrary: caseArb,
      runs: 150,
      counterexample: ({ spec, fused }) => specCounterexample("prefuse", fused ? { ...spec, variants: [{ kind: "fused" }] } : spec),
      examples: FAMILY_NAMES.filter((f) => NOT_FP8_FAMILIES.includes(f) && family(f).sparsity.kind === "all" && family(f).defaults.mtpLayers === 0).flatMap(
        (f, k) =>
          (["fused", "switch_mlp"] as const).map((target) => ({
            spec: { family: f, seed: k, experts: 17, layers: 1, hidden: 3, intermediate: 2, vocab: 4 },
            fused: k % 2 === 0,
            target,
          })),
      ),
      predicate: async ({ spec, fused, target }) => {
        const m = family(spec.family).moe;
        const fusedInput = fused && m.stacked === "fused" && m.gated;
        const perExpert = generateCheckpoint(spec);
        const input = fusedInput ? generateCheckpoint({ ...spec, variants: [{ kind: "fused" }] }) : perExpert;
        const { weights, plan } = await prefuse(input.tensors, input.config, { target });
        const E = spec.experts!;
        // No silent skip: every tensor of an expert module belongs to a planned layer, which has a state and a code.
        const moduleTensors = [...input.tensors.keys()].filter((n) => /\.experts\.|\.(input|output)_linear\.weight$|\.moe\.\w+_proj\.weight$/.test(n));
        for (const n of moduleTensors)
          expect(
            plan.layers.some((l) => n.startsWith(`${l.prefix}.`)),
            n,
          ).toBe(true);
        for (const l of plan.layers) expect(l.code, l.prefix).toMatch(/^[A-Z_]+$/);

        const expectedOut = new Map<string, Tensor>();
        for (const prefix of blocks(spec.family, spec.layers!)) {
          const want = expectedLayer(spec.family, prefix, perExpert.tensors, E, fusedInput, target);
          const planned = plan.layers.find(
            (l) => l.prefix === prefix || l.prefix === fusedPrefixOf(spec.family, prefix) || (m.stacked === "dbrx" && l.prefix === prefix),
          );
          expect(planned, `${prefix} in ${plan.layers.map((l) => l.prefix).join(", ")}`).toBeDefined();
          if ("state" in want) {
            expect([planned!.state, planned!.code]).toEqual([want.state, want.code]);
            continue;
          }
          expect(planned!.state, prefix).toBe("fused");
          for (const [n, t] of want.outputs) expectedOut.set(n, t);
        }
        // Outputs: exactly the expected names, each with the oracle's shape and bytes.
        expect(plan.outputs.map((o) => o.name).sort()).toEqual([...expectedOut.keys()].sort());
        for (const [n, t] of expectedOut) {
          expect(weights.get(n)?.shape, n).toEqual(t.shape);
          expectSameBytes(weights.get(n)?.data, t.data, n);
        }
        // Nothing fused: the output is the input.
        if (expectedOut.size === 0) expectSameWeights(weights, input.tensors, `${spec.family} ${target}: the output`);
      },
    });
  });
});
