// `fuse --dequant-fp8`: one streaming pass that dequantizes FP8 block-scaled experts and fuses
// them must give exactly what the two library stages give one after the other in memory.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Checkpoint } from "../../src/reference/checkpoint.js";
import { dequantFp8 } from "../../src/reference/fp8/dequant.js";
import { prefuse } from "../../src/reference/prefuse/prefuse.js";
import { loadAll } from "../../src/reference/weights.js";
import type { TensorMap } from "../../src/reference/tensor.js";
import { runCli } from "../support/cli.js";
import { hashTree, tensor, tinyMoe, writeTinyCheckpoint } from "../support/moe.js";
import { tempDir } from "../support/tmp.js";

const E = 3;
const I = 6; // not a multiple of the 4-row block: the last block is partial
const H = 8;
const config = {
  model_type: "qwen3_moe",
  num_experts: E,
  quantization_config: { quant_method: "fp8", fmt: "e4m3", activation_scheme: "dynamic", weight_block_size: [4, 4] },
};

/** Per-expert weights as F8_E4M3 with F32 `_scale_inv` grids; everything else stays BF16. */
function fp8Moe(): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of tinyMoe({ prefixes: ["model.layers.0.mlp", "model.layers.1.mlp"], E, I, H })) {
    if (!/\.experts\.\d+\./.test(name)) {
      out.set(name, t);
      continue;
    }
    const [m, n] = t.shape as [number, number];
    out.set(name, tensor(name, "F8_E4M3", [m, n]));
    out.set(`${name}_scale_inv`, tensor(`${name}_scale_inv`, "F32", [Math.ceil(m / 4), Math.ceil(n / 4)]));
  }
  return out;
}

describe("fuse --dequant-fp8", () => {
  it("equals dequantFp8 then prefuse, writes the config without quantization_config, leaves the input alone", async () => {
    const root = tempDir();
    const input = join(root, "in");
    const weights = fp8Moe();
    await writeTinyCheckpoint(input, weights, config);
    const before = hashTree(input);

    const out = join(root, "out");
    const r = runCli(["fuse", input, out, "--dequant-fp8", "--chunk", "2", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.dequant.dequantized).toHaveLength(2 * E * 3);
    expect(report.plan.layers.map((l: { state: string }) => l.state)).toEqual(["fused", "fused"]);

    const dq = dequantFp8(weights, config);
    const expected = await prefuse(dq.weights, dq.config!, { chunk: 5 });
    const ckpt = await Checkpoint.open(out);
    try {
      const got = await loadAll(ckpt);
      expect([...got.keys()].sort()).toEqual([...expected.weights.keys()].sort());
      for (const [name, t] of expected.weights) expect(got.get(name), name).toEqual(t);
      expect(got.get("model.layers.1.mlp.experts.gate_up_proj")!.dtype).toBe("BF16");
    } finally {
      await ckpt.close();
    }
    const written = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    expect(written).toEqual({ model_type: "qwen3_moe", num_experts: E });
    expect(hashTree(input)).toEqual(before);
  });

  it("without --dequant-fp8, fuses the FP8 bytes as they are and says how to dequantize them first", async () => {
    const root = tempDir();
    const input = join(root, "in");
    await writeTinyCheckpoint(input, fp8Moe(), config);
    const r = runCli(["fuse", input, join(root, "out")]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^moe-prefuse: warning: FP8 expert weights are fused as FP8 .* --dequant-fp8\b/m);
    const ckpt = await Checkpoint.open(join(root, "out"));
    try {
      expect(ckpt.specs.get("model.layers.0.mlp.experts.gate_up_proj")?.dtype).toBe("F8_E4M3");
    } finally {
      await ckpt.close();
    }
  });

  it("refuses an FP8 weight without its scale, in one line, before writing anything", async () => {
    const root = tempDir();
    const input = join(root, "in");
    const weights = fp8Moe();
    weights.delete("model.layers.1.mlp.experts.2.up_proj.weight_scale_inv");
    await writeTinyCheckpoint(input, weights, config);
    const r = runCli(["fuse", input, join(root, "out"), "--dequant-fp8"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^moe-prefuse: error: .*model\.layers\.1\.mlp\.experts\.2\.up_proj\.weight/);
    expect(() => readFileSync(join(root, "out", "config.json"))).toThrow();
  });
});
