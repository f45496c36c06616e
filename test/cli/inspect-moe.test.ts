import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderBar, progressBar } from "../../src/cli/progress.js";
import { runCli } from "../support/cli.js";
import { expertName, tensor, tinyMoe, writeTinyCheckpoint } from "../support/moe.js";
import { tempDir } from "../support/tmp.js";

describe("moe-prefuse inspect: MoE view", () => {
  it("shows each layer's state, experts and the expert count's source, in text and JSON", async () => {
    const dir = join(tempDir(), "in");
    const w = tinyMoe({ prefixes: ["model.layers.0.mlp", "model.layers.1.mlp", "model.layers.2.mlp"], E: 3, I: 1, H: 2 });
    w.delete(expertName("model.layers.1.mlp", 0, "down_proj"));
    for (const e of [0, 1, 2]) for (const p of ["gate_proj", "up_proj", "down_proj"]) w.delete(expertName("model.layers.2.mlp", e, p));
    w.set("model.layers.2.mlp.experts.gate_up_proj", tensor("f", "BF16", [3, 2, 2]));
    w.set("model.layers.2.mlp.experts.down_proj", tensor("g", "BF16", [3, 2, 1]));
    await writeTinyCheckpoint(dir, w, { model_type: "olmoe", num_local_experts: 3, num_experts: 4 });

    const text = runCli(["inspect", dir]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain("MoE: layout olmoe (model_type olmoe), 3 experts from num_local_experts");
    expect(text.stdout).toMatch(/warning: \S+\/in\/config\.json: 'num_experts' = 4 disagrees with 'num_local_experts' = 3; using 3/);
    expect(text.stdout).toMatch(/model\.layers\.0\.mlp\s+fused\s+PER_EXPERT_COMPLETE\s+3\s+complete: 9 per-expert tensors/);
    expect(text.stdout).toMatch(/model\.layers\.1\.mlp\s+untouched\s+MISSING_TENSOR\s+3\s+expert 0 has no down_proj\.weight/);
    expect(text.stdout).toMatch(/model\.layers\.2\.mlp\s+already-fused\s+ALREADY_FUSED\s+3\s+has model\.layers\.2\.mlp\.experts\.gate_up_proj/);

    const json = JSON.parse(runCli(["inspect", dir, "--json"]).stdout);
    expect(json.moe.expertCount).toEqual({ count: 3, key: "num_local_experts" });
    expect(json.moe.layers.map((l: { state: string }) => l.state)).toEqual(["fused", "untouched", "already-fused"]);
    expect(json.moe.layers[1].reasons).toEqual([
      { code: "MISSING_TENSOR", expert: 0, projection: "down", kind: "weight", message: "expert 0 has no down_proj.weight" },
    ]);
  });

  it("calls a checkpoint without an expert count dense", async () => {
    const dir = join(tempDir(), "in");
    await writeTinyCheckpoint(dir, tinyMoe({ prefixes: ["model.layers.0.mlp"], E: 2, I: 1, H: 1 }), { model_type: "qwen3_moe" });
    const r = runCli(["inspect", dir, "--json"]);
    expect(JSON.parse(r.stdout).moe).toMatchObject({ expertCount: null, layers: [{ prefix: "model.layers.0.mlp", state: "dense", experts: 2 }] });
  });
});

describe("progress bar", () => {
  it("draws on a terminal only, after a moment, and clears itself", () => {
    const writes: string[] = [];
    let t = 0;
    const tty = { isTTY: true, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const bar = progressBar(tty, () => t)!;
    bar.update(10, 100);
    expect(writes).toEqual([]);
    t = 1000;
    bar.update(50, 100);
    bar.done();
    expect(writes).toEqual([`\r${renderBar(50, 100, 1000)}`, "\r\x1b[K"]);
    expect(renderBar(50, 100, 1000)).toBe("[###############...............]  50% 50 B / 100 B 50 B/s");
    expect(progressBar({ isTTY: false } as NodeJS.WriteStream)).toBeUndefined();
  });
});
