import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { specFromOptions } from "../../src/cli/commands/gen.js";
import { FAMILY_NAMES } from "../../src/fixtures-gen/families.js";
import { writeGeneratedCheckpoint } from "../../src/fixtures-gen/generate.js";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

function digests(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [
        f,
        createHash("sha256")
          .update(readFileSync(join(dir, f)))
          .digest("hex"),
      ]),
  );
}

describe("moe-prefuse gen", () => {
  it("--list shows every family and variant", () => {
    const r = runCli(["gen", "--list"]);
    expect(r.status).toBe(0);
    for (const f of FAMILY_NAMES) expect(r.stdout).toContain(f);
    for (const v of ["fused[:layer=N]", "partial:drop-expert", "partial:wrong-dtype", "extra-expert", "count-key:none", "--shards N", "--fp8"])
      expect(r.stdout).toContain(v);
    const json = JSON.parse(runCli(["gen", "--list", "--json"]).stdout) as { families: { name: string }[]; variants: unknown[] };
    expect(json.families.map((f) => f.name)).toEqual(FAMILY_NAMES);
    expect(json.variants.length).toBeGreaterThan(8);
  });

  it("writes byte-identical files in two separate processes, equal to the library's", async () => {
    const root = tempDir();
    const args = [
      "qwen3_5_moe",
      "--seed",
      "7",
      "--experts",
      "6",
      "--hidden",
      "24",
      "--intermediate",
      "20",
      "--fp8",
      "--fp8-block",
      "16x16",
      "--shards",
      "3",
      "--variant",
      "partial:drop-projection:layer=mtp,expert=2,proj=gate",
      "--variant",
      "count-key:num_local_experts,text_config.num_experts=7",
    ];
    const a = runCli(["gen", ...args.slice(0, 1), join(root, "a"), ...args.slice(1)]);
    const b = runCli(["gen", ...args.slice(0, 1), join(root, "b"), ...args.slice(1), "--json"]);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^wrote .*: qwen3_5_moe, \d+ tensors, .* in 3 safetensors file\(s\); E=6 L=4 H=24 I=20, seed 7, variants partial:drop-projection/);
    expect(JSON.parse(b.stdout)).toMatchObject({ family: "qwen3_5_moe", seed: 7, files: expect.arrayContaining(["model.safetensors.index.json"]) });
    expect(digests(join(root, "a"))).toEqual(digests(join(root, "b")));
    expect(Object.keys(digests(join(root, "a")))).toHaveLength(5);
    await writeGeneratedCheckpoint(join(root, "lib"), {
      family: "qwen3_5_moe",
      seed: 7,
      experts: 6,
      hidden: 24,
      intermediate: 20,
      fp8: { blockSize: [16, 16] },
      shards: 3,
      variants: [
        { kind: "partial", defect: "drop-projection", layer: "mtp.0", expert: 2, projection: "gate" },
        { kind: "count-key", keys: [{ key: "num_local_experts" }, { key: "text_config.num_experts", value: 7 }] },
      ],
    });
    expect(digests(join(root, "lib"))).toEqual(digests(join(root, "a")));
  });

  it("the generated checkpoint is what inspect reads", () => {
    const out = join(tempDir(), "m");
    expect(runCli(["gen", "mixtral", out, "--experts", "3"]).status).toBe(0);
    const r = runCli(["inspect", out, "--json"]);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { modelType: string; tensors: { name: string }[] };
    expect(report.modelType).toBe("mixtral");
    expect(report.tensors.map((t) => t.name)).toContain("model.layers.1.block_sparse_moe.experts.2.w2.weight");
  });

  // Each rule is tested on the library (variants.test.ts, generate.test.ts); these check the CLI's one-line errors.
  it.each([
    [["gen", "nofamily", "OUT"], /unknown family 'nofamily'/],
    [["gen", "mixtral"], /gen needs <family> and <out>/],
    [["gen", "mixtral", "OUT", "--experts", "many"], /--experts must be a whole number, not 'many'/],
    [["gen", "mixtral", "OUT", "--variant", "partial:drop-expert:layer=9"], /layer 9 is not a MoE layer/],
  ])("refuses %j with one line and no output", (args, message) => {
    const dir = tempDir();
    const r = runCli(args.map((a) => (a === "OUT" ? join(dir, "out") : a)));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^moe-prefuse: error: .*${message.source}`));
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("turns options into a FixtureSpec, refusing malformed values", () => {
    expect(specFromOptions("mixtral", { variant: ["fused"], experts: "4", fp8Block: "64", fp8ScaleDtype: "BF16", mlpOnlyLayers: "" })).toEqual({
      family: "mixtral",
      variants: [{ kind: "fused" }],
      experts: 4,
      mlpOnlyLayers: [],
      fp8: { blockSize: [64, 64], scaleDtype: "BF16" },
    });
    expect(specFromOptions("qwen3_moe", { variant: [], fp8: true, mlpOnlyLayers: "0,1", dtype: "F32" })).toEqual({
      family: "qwen3_moe",
      variants: [],
      fp8: true,
      mlpOnlyLayers: [0, 1],
      dtype: "F32",
    });
    expect(() => specFromOptions("mixtral", { variant: [], fp8Block: "big" })).toThrow(/--fp8-block must look like 128x128 or 128, not 'big'/);
    expect(() => specFromOptions("mixtral", { variant: [], fp8ScaleDtype: "F16" })).toThrow(/--fp8-scale-dtype must be F32 or BF16/);
    expect(() => specFromOptions("mixtral", { variant: [], fp8ScaleSuffix: "_s" })).toThrow(/--fp8-scale-suffix must be _scale_inv or _scale/);
    expect(() => specFromOptions("mixtral", { variant: [], dtype: "F8_E4M3" })).toThrow(/--dtype must be BF16, F16 or F32/);
    expect(() => specFromOptions("mixtral", { variant: [], seed: "-1" })).toThrow(/--seed must be a whole number, not '-1'/);
    expect(() => specFromOptions("mixtral", { variant: [], mlpOnlyLayers: "0,x" })).toThrow(/--mlp-only-layers must be a whole number, not 'x'/);
  });

  it("never overwrites a non-empty output directory", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "keep.txt"), "mine");
    const r = runCli(["gen", "mixtral", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("output directory exists and is not empty");
    expect(readdirSync(dir)).toEqual(["keep.txt"]);
  });
});
