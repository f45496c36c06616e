// Chunk-boundary spillover (oQ's '20 experts over the 16-expert chunk', generalised): for any
// expert count E in 1..300 and any chunk size in 1..E+5, the in-memory prefuse and the streaming
// fuse write exactly the bytes of the unchunked run (one step of all E experts). Counts around
// every multiple of 16, and chunks larger than E, are always among the cases.

import fc from "fast-check";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { FuseTarget } from "../../../src/reference/prefuse/layouts.js";
import { fuseCheckpoint } from "../../../src/reference/prefuse/fuse-checkpoint.js";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { serializeSafetensors } from "../../../src/reference/safetensors/memory.js";
import { bytesEqual } from "../../../src/reference/tensor.js";
import { memoryWeights } from "../../../src/reference/weights.js";
import { type FamilyName, family } from "../../../src/fixtures-gen/families.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../../src/fixtures-gen/spec.js";
import { UNQUANTIZED_FAMILIES, chunkSeams, expertCount, fuseTarget } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample, targetStage } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { expectSameWeights } from "../../support/weights.js";
import { tempDir } from "../../support/tmp.js";

interface ChunkCase {
  readonly spec: FixtureSpec;
  readonly chunk: number;
  readonly target: FuseTarget;
  /** Streaming step budget in bytes (undefined: the default). */
  readonly maxStepBytes: number | undefined;
}

/** One MoE layer of E tiny experts (decoder layers: the fewest that hold a MoE layer). */
function oneLayer(name: FamilyName, experts: number, seed = 0, hidden = 2, intermediate = 1): FixtureSpec {
  const s = family(name).sparsity;
  const layers = s.kind === "sparse-step" ? s.step : s.kind === "first-k-dense" ? s.k + 1 : 1;
  return { family: name, seed, experts, layers, hidden, intermediate, vocab: 2, ...(family(name).defaults.mtpLayers > 0 ? { mtpLayers: 0 } : {}) };
}

const caseArb: fc.Arbitrary<ChunkCase> = fc
  .record({
    family: fc.constantFrom(...UNQUANTIZED_FAMILIES),
    experts: expertCount(300),
    seed: fc.nat(),
    hidden: fc.integer({ min: 1, max: 3 }),
    intermediate: fc.integer({ min: 1, max: 2 }),
  })
  .chain((r) =>
    fc.record({
      spec: fc.constant(oneLayer(r.family, r.experts, r.seed, r.hidden, r.intermediate)),
      // oQ's 16, anything up to E + 5, and chunks larger than E.
      chunk: fc.oneof(fc.constant(16), fc.integer({ min: 1, max: r.experts + 5 }), fc.integer({ min: r.experts + 1, max: r.experts + 5 })),
      target: fuseTarget,
      maxStepBytes: fc.option(fc.integer({ min: 1, max: 256 }), { nil: undefined }),
    }),
  );

/** Always run: the seams around 16, 32, 48, 64, 256 and 288 at chunk 16 (families in turn), and E < chunk. */
const SEAMS = chunkSeams(300).filter((E) => E < 66 || (E > 254 && E < 258) || E > 286);
const EXAMPLES: ChunkCase[] = [
  ...SEAMS.map((E, k) => ({
    spec: oneLayer(UNQUANTIZED_FAMILIES[k % UNQUANTIZED_FAMILIES.length]!, E, k),
    chunk: 16,
    target: "fused" as const,
    maxStepBytes: undefined,
  })),
  { spec: oneLayer("qwen3_5_moe", 20), chunk: 16, target: "switch_mlp", maxStepBytes: undefined },
  { spec: oneLayer("qwen3_moe", 5), chunk: 9, target: "fused", maxStepBytes: undefined },
  { spec: oneLayer("mixtral", 1), chunk: 6, target: "fused", maxStepBytes: 3 },
];

describe("chunk-boundary spillover", () => {
  it("the examples straddle multiples of 16 and include E < chunk", () => {
    const Es = EXAMPLES.map((c) => c.spec.experts!);
    for (const k of [16, 32, 48, 64, 256, 288]) expect(Es).toEqual(expect.arrayContaining([k - 1, k, k + 1]));
    expect(EXAMPLES.some((c) => c.chunk > c.spec.experts!)).toBe(true);
  });

  it("property: any E in 1..300 and chunk in 1..E+5 give the unchunked bytes, in memory and streamed", async () => {
    const root = tempDir();
    let run = 0;
    await checkProperty({
      name: "chunk-spillover",
      arbitrary: caseArb,
      // fast-check counts examples among the runs: 100 random cases on top of them.
      runs: 100 + EXAMPLES.length,
      examples: EXAMPLES,
      counterexample: (c) => specCounterexample(targetStage(c.target), c.spec, { chunk: c.chunk, maxStepBytes: c.maxStepBytes ?? null }),
      predicate: async ({ spec, chunk, target, maxStepBytes }) => {
        const g = generateCheckpoint(spec);
        const E = spec.experts!;
        const whole = await prefuse(g.tensors, g.config, { target, chunk: E });
        expect(whole.plan.layers.map((l) => l.state)).toEqual(["fused"]);
        expectSameWeights((await prefuse(g.tensors, g.config, { target, chunk })).weights, whole.weights, `in memory, chunk ${chunk} of ${E}`);
        const out = join(root, `out${run++}`);
        await fuseCheckpoint(memoryWeights(g.tensors), g.config, out, { target, chunk, maxStepBytes, metadata: g.metadata });
        const written = await readFile(join(out, "model.safetensors"));
        await rm(out, { recursive: true });
        expect(bytesEqual(written, serializeSafetensors(whole.weights, g.metadata)), `streamed, chunk ${chunk} of ${E}`).toBe(true);
      },
    });
  });
});
