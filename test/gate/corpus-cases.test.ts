// Which corpus cases the gate hands a candidate: those inside the stage's contract, and every
// open (i_) case, which is recorded whatever the contract says; a y_/n_ case outside the
// contract is skipped with the reason.

import { describe, expect, it } from "vitest";
import { goldenCases } from "../../src/gate/cases.js";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import { addToCorpusIndex, writeCaseFolder } from "../../src/golden/case-writer.js";
import { tempDir } from "../support/tmp.js";

describe("corpus cases for the prefuse stage", () => {
  it("keeps cases inside the contract and open ones, skips the rest with a reason", async () => {
    const corpus = tempDir();
    // An FP8 checkpoint is outside the prefuse stage's contract (the dequant+prefuse stage takes it).
    const fp8 = generateCheckpoint({ family: "qwen3_5_moe_fp8", experts: 3, layers: 1, mtpLayers: 0, hidden: 4, intermediate: 4, fp8: { blockSize: [2, 2] } });
    const qwen = generateCheckpoint({ family: "qwen3_moe", experts: 3, layers: 2, hidden: 4, intermediate: 4 });
    const base = { stage: "prefuse" as const, features: [], source: {} };
    const ids: string[] = [];
    for (const c of [
      { ...base, name: "inside", description: "qwen3_moe", family: "qwen3_moe", weights: qwen.tensors, config: qwen.config },
      { ...base, name: "outside", description: "fp8, judged", family: "qwen3_5_moe_fp8", weights: fp8.tensors, config: fp8.config },
      { ...base, name: "outside-open", description: "fp8, recorded", family: "qwen3_5_moe_fp8", weights: fp8.tensors, config: fp8.config, open: true },
    ]) {
      ids.push((await writeCaseFolder(corpus, c)).meta.id);
    }
    await addToCorpusIndex(corpus, ids);
    const { cases, skipped, total } = await goldenCases(corpus, "prefuse");
    expect(total).toBe(3);
    expect(cases.map((c) => c.name).sort()).toEqual(["i_outside-open", "y_inside"]);
    expect(skipped.map((s) => s.id)).toEqual(["y_outside"]);
    expect(skipped[0]!.reason).toMatch(/quantization_config/);
  });
});
