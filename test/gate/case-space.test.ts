import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { caseArbitrary, caseFeatures, sampleDraws, toFixtureSpec } from "../../src/gate/case-space.js";
import { generatedCases } from "../../src/gate/cases.js";
import { STAGE_CONTRACTS } from "../../src/reference/contracts.js";
import { FAMILY_NAMES, family } from "../../src/fixtures-gen/families.js";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import { EXPERT_COUNT_KEYS } from "../../src/reference/prefuse/expert-count.js";
import { STAGES, runStage } from "../../src/reference/stages.js";
import { fcParams } from "../support/fc.js";

describe("generated cases", () => {
  it("every draw of every stage is a valid checkpoint inside the stage's contract that the reference answers (property)", async () => {
    const stageDraws = fc.constantFrom(...STAGES).chain((stage) => caseArbitrary(stage).map((draw) => ({ stage, draw })));
    await fc.assert(
      fc.asyncProperty(stageDraws, async ({ stage, draw }) => {
        const g = generateCheckpoint(toFixtureSpec(stage, draw));
        expect(STAGE_CONTRACTS[stage].outside(g.config, g.tensors)).toBeUndefined();
        await runStage(stage, g.tensors, g.config);
      }),
      fcParams(),
    );
  });

  it("the default 200 cases of the prefuse stage cover where implementations break", () => {
    const specs = sampleDraws("prefuse", 0, 200).map((d) => toFixtureSpec("prefuse", d));
    const tags = specs.map(caseFeatures);
    const count = (t: string) => tags.filter((x) => x.includes(t)).length;
    for (const t of [
      "numeric-order",
      "chunk-seam",
      "partial-layer",
      "extra-expert",
      "conflicting-count-keys",
      "mtp",
      "already-fused",
      "dense",
      "no-count",
      "single-expert",
    ]) {
      expect(count(t), t).toBeGreaterThanOrEqual(3);
    }
    expect(specs.filter((s) => s.experts! > 16 && s.experts! % 16 !== 0).length).toBeGreaterThan(40);
    expect(specs.filter((s) => s.experts! > 16 && s.experts! % 16 === 0).length).toBeGreaterThan(3);
    expect(new Set(specs.map((s) => s.family))).toEqual(new Set(["qwen3_5_moe", "qwen3_moe", "olmoe", "deepseek_v3"]));
    // Conflicting keys in which the winner (first in oQ's order) is not the checkpoint's count, so a wrong precedence shows.
    const misled = specs.filter((s) => {
      const keys = (s.variants ?? []).flatMap((v) => (v.kind === "count-key" ? v.keys : []));
      const winner = [...keys].sort((a, b) => EXPERT_COUNT_KEYS.indexOf(a.key) - EXPERT_COUNT_KEYS.indexOf(b.key))[0];
      return winner !== undefined && keys.some((k) => k.value !== winner.value);
    });
    expect(misled.length).toBeGreaterThan(5);
  });

  it("are the same for the same seed and differ for another", () => {
    const labels = (seed: number) => generatedCases("switch_mlp", seed, 30, 5).map((c) => `${c.index} ${c.name} ${c.label}`);
    expect(labels(7)).toEqual(labels(7));
    expect(labels(7)).not.toEqual(labels(8));
    expect(labels(7)[0]).toMatch(/^5 gen-00 /);
  });

  it("the switch_mlp stage reaches every unquantized registry family, Mixtral naming and transposed fused layers", () => {
    const draws = sampleDraws("switch_mlp", 0, 400);
    expect(new Set(draws.map((d) => d.family))).toEqual(new Set(FAMILY_NAMES.filter((f) => !family(f).fp8.byDefault)));
    // Every draw is a valid checkpoint of its family (stacked and non-gated families take no fused or gate variant).
    for (const d of draws) expect(() => generateCheckpoint(toFixtureSpec("switch_mlp", d)), d.family).not.toThrow();
    const tags = draws.map((d) => caseFeatures(toFixtureSpec("switch_mlp", d)));
    expect(tags.filter((t) => t.includes("mixtral-naming")).length).toBeGreaterThan(3);
    expect(tags.filter((t) => t.includes("transposed") && t.includes("already-fused")).length).toBeGreaterThan(0);
  });
});
