import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../src/fixtures-gen/spec.js";
import { addToCorpusIndex, outcomeOf, writeCaseFolder } from "../../src/golden/case-writer.js";
import { readCorpus, sha256 } from "../../src/golden/corpus.js";
import { CorpusError, OutputError } from "../../src/reference/errors.js";
import { parseSafetensors } from "../../src/reference/safetensors/memory.js";
import type { Stage } from "../../src/reference/stages.js";
import { runStage } from "../../src/reference/stages.js";
import { tempDir } from "../support/tmp.js";

const small = { experts: 3, layers: 1, hidden: 4, intermediate: 2, vocab: 8 } as const;

async function write(dir: string, name: string, spec: FixtureSpec, stage: Stage = "prefuse", open = false) {
  const g = generateCheckpoint(spec);
  return writeCaseFolder(dir, {
    name,
    description: name,
    stage,
    features: ["t"],
    family: spec.family,
    source: { fixtureSpec: spec },
    weights: g.tensors,
    config: g.config,
    metadata: g.metadata,
    open,
  });
}

describe("writeCaseFolder", () => {
  it("names cases by the reference's outcome and writes the corpus format, manifest included", async () => {
    const dir = tempDir();
    const y = await write(dir, "fuses", { family: "qwen3_5_moe", ...small });
    const n = await write(dir, "dense", { family: "qwen3_5_moe", ...small, variants: [{ kind: "dense" }] });
    const err = await write(
      dir,
      "bad-count",
      { family: "qwen3_5_moe", ...small, variants: [{ kind: "count-key", keys: [{ key: "num_experts", value: -1 }] }] },
      "switch_mlp",
    );
    const open = await write(dir, "open", { family: "olmoe", ...small }, "prefuse", true);
    expect([y.meta.id, n.meta.id, err.meta.id, open.meta.id]).toEqual(["y_fuses", "n_dense", "n_bad-count", "i_open"]);
    expect(err.meta).toMatchObject({ outcome: "error", errorCode: "CONFIG_INVALID" });
    expect(err.expected).toBeUndefined();
    expect(y.meta.layers).toEqual({ "model.language_model.layers.0.mlp": "fused", "mtp.layers.0.mlp": "fused" });
    await addToCorpusIndex(dir, [y.meta.id, n.meta.id]);
    await addToCorpusIndex(dir, [err.meta.id, open.meta.id, y.meta.id]);
    expect(JSON.parse(readFileSync(join(dir, "index.json"), "utf8"))).toEqual({ format: 1, cases: ["i_open", "n_bad-count", "n_dense", "y_fuses"] });
    const corpus = await readCorpus(dir);
    expect(corpus.map((c) => c.meta.outcome)).toEqual(["open", "error", "untouched", "transform"]);
    // expected.safetensors is the reference's output for the input.
    const g = generateCheckpoint({ family: "qwen3_5_moe", ...small });
    const want = (await runStage("prefuse", g.tensors, g.config)).weights;
    const got = parseSafetensors(readFileSync(y.expected!)).tensors;
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    expect(outcomeOf(want, got)).toBe("untouched");
    const manifest = JSON.parse(readFileSync(join(y.dir, "manifest.json"), "utf8")) as { files: Record<string, string> };
    expect(manifest.files["input/model.safetensors"]).toBe(sha256(readFileSync(join(y.dir, "input/model.safetensors"))));
    expect(readdirSync(y.dir).sort()).toEqual(["case.json", "expected.safetensors", "input", "manifest.json"]);
  });

  it("refuses to overwrite a case and to mark a refused input open; keeps index.json valid", async () => {
    const dir = tempDir();
    await write(dir, "fuses", { family: "olmoe", ...small });
    await expect(write(dir, "fuses", { family: "olmoe", ...small })).rejects.toThrow(OutputError);
    await expect(
      write(dir, "x", { family: "olmoe", ...small, variants: [{ kind: "count-key", keys: [{ key: "num_experts", value: 0 }] }] }, "prefuse", true),
    ).rejects.toThrow(CorpusError);
    writeFileSync(join(dir, "index.json"), "{oops");
    await expect(addToCorpusIndex(dir, ["y_fuses"])).rejects.toThrow(CorpusError);
  });
});
