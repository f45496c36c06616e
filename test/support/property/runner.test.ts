// The property runner itself: a failing property names the folder it wrote, and that folder is a
// counterexample checkpoint in the corpus layout (input/config.json, input/model.safetensors, a
// case.json draft whose source regenerates it); run counts scale with FC_NUM_RUNS; FC_SEED replays
// (the settings themselves are tested in ../fc.test.ts).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Checkpoint } from "../../../src/reference/checkpoint.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import { tinySpec } from "../arbitraries/fixture-spec.js";
import { specCounterexample } from "./counterexample.js";
import { checkProperty, runSettings } from "./runner.js";
import { tempDir } from "../tmp.js";

const saved = { runs: process.env.FC_NUM_RUNS, seed: process.env.FC_SEED };
afterEach(() => {
  for (const [k, v] of [
    ["FC_NUM_RUNS", saved.runs],
    ["FC_SEED", saved.seed],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe("property runner", () => {
  it("writes the shrunk counterexample as a checkpoint folder named in the failure", async () => {
    const root = tempDir();
    process.env.FC_SEED = "42";
    const failing = checkProperty({
      name: "at-most-two-experts",
      arbitrary: tinySpec(),
      counterexample: (spec) => specCounterexample("prefuse", spec, { note: "test" }),
      predicate: (spec) => expect(spec.experts).toBeLessThanOrEqual(2),
      counterexampleRoot: root,
    });
    const dir = join(root, "at-most-two-experts-42");
    await expect(failing).rejects.toThrow(`Shrunk counterexample checkpoint written to ${dir}`);
    await expect(failing).rejects.toThrow(/Got error: .*expected 3 to be less than or equal to 2/);

    const draft = JSON.parse(readFileSync(join(dir, "case.json"), "utf8"));
    expect(draft).toMatchObject({
      id: "y_at-most-two-experts-42",
      stage: "prefuse",
      outcome: "transform",
      source: { property: "at-most-two-experts", seed: 42, params: { note: "test" } },
    });
    expect(draft.source.spec.experts).toBe(3); // shrunk to the smallest failing count
    const ckpt = await Checkpoint.open(join(dir, "input"));
    try {
      const again = generateCheckpoint(draft.source.spec);
      expect([...ckpt.specs.keys()].sort()).toEqual([...again.tensors.keys()].sort());
      expect(ckpt.config).toEqual(again.config);
    } finally {
      await ckpt.close();
    }
  });

  it("scales run counts with FC_NUM_RUNS and takes the seed from FC_SEED", () => {
    delete process.env.FC_NUM_RUNS;
    delete process.env.FC_SEED;
    expect(runSettings(100).runs).toBe(100);
    expect(runSettings(20).runs).toBe(20);
    process.env.FC_NUM_RUNS = "1000";
    process.env.FC_SEED = "7";
    expect(runSettings(100)).toMatchObject({ runs: 1000, seed: 7 });
    expect(runSettings(20).runs).toBe(200);
    process.env.FC_NUM_RUNS = "10";
    expect(runSettings(100).runs).toBe(100); // never below the default
  });
});
