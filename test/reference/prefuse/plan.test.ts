import { describe, expect, it } from "vitest";
import { type FusePlan, type LayerPlan, planPrefuse } from "../../../src/reference/prefuse/plan.js";
import type { TensorMap } from "../../../src/reference/tensor.js";
import { expertName, tensor, tinyMoe } from "../../support/moe.js";

const P0 = "model.layers.0.mlp";
const P1 = "model.layers.1.mlp";
const config = (E: number) => ({ model_type: "qwen3_moe", num_experts: E });

function layer(plan: FusePlan, prefix: string): LayerPlan {
  const l = plan.layers.find((x) => x.prefix === prefix);
  if (l === undefined) throw new Error(`no layer ${prefix}`);
  return l;
}

function reasons(plan: FusePlan, prefix: string) {
  const l = layer(plan, prefix);
  return l.state === "untouched" ? l.reasons : [];
}

describe("planPrefuse", () => {
  it("fuses complete layers into [E, 2I, H] and [E, H, I], consuming exactly the per-expert weights", () => {
    const w = tinyMoe({ prefixes: [P0, P1], E: 3, I: 2, H: 4 });
    const plan = planPrefuse(w, config(3));
    expect(plan.layers.map((l) => [l.prefix, l.state])).toEqual([
      [P0, "fused"],
      [P1, "fused"],
    ]);
    expect(plan.outputs.map((o) => [o.name, o.dtype, o.shape])).toEqual([
      [`${P0}.experts.gate_up_proj`, "BF16", [3, 4, 4]],
      [`${P0}.experts.down_proj`, "BF16", [3, 4, 2]],
      [`${P1}.experts.gate_up_proj`, "BF16", [3, 4, 4]],
      [`${P1}.experts.down_proj`, "BF16", [3, 4, 2]],
    ]);
    expect(new Set(plan.consumed)).toEqual(new Set([...w.keys()].filter((n) => n.includes(".experts."))));
    expect(plan.expertCount).toEqual({ count: 3, key: "num_experts", warnings: [] });
    expect(plan.layout).toBe("qwen3_moe");
  });

  it("is dense (a no-op) without an expert count", () => {
    const plan = planPrefuse(tinyMoe({ prefixes: [P0], E: 2, I: 2, H: 2 }), { model_type: "qwen3_moe" });
    expect(plan.layers).toMatchObject([{ prefix: P0, state: "dense" }]);
    expect(plan.outputs).toEqual([]);
    expect(plan.consumed).toEqual([]);
  });

  it("leaves a layer with a missing projection untouched, naming expert and projection; the other layer still fuses", () => {
    const w = tinyMoe({ prefixes: [P0, P1], E: 4, I: 2, H: 2 });
    w.delete(expertName(P1, 2, "up_proj"));
    const plan = planPrefuse(w, config(4));
    expect(layer(plan, P0).state).toBe("fused");
    expect(reasons(plan, P1)).toEqual([{ code: "MISSING_TENSOR", expert: 2, projection: "up", kind: "weight", message: "expert 2 has no up_proj.weight" }]);
    expect(plan.consumed.some((n) => n.startsWith(P1))).toBe(false);
  });

  it("names an expert id >= E, a duplicate id, a wrong shape and a wrong dtype", () => {
    const w = tinyMoe({ prefixes: [P0], E: 4, I: 2, H: 3 });
    w.set(expertName(P0, 4, "gate_proj"), tensor("x", "BF16", [2, 3]));
    w.set(`${P0}.experts.01.down_proj.weight`, tensor("y", "BF16", [3, 2]));
    w.set(expertName(P0, 3, "up_proj"), tensor("z", "BF16", [2, 4]));
    w.set(expertName(P0, 2, "down_proj"), tensor("v", "F16", [3, 2]));
    const r = reasons(planPrefuse(w, config(4)), P0);
    expect(r.map((x) => x.code).sort()).toEqual(["DTYPE_MISMATCH", "DUPLICATE_EXPERT", "SHAPE_MISMATCH", "UNEXPECTED_EXPERT"]);
    expect(r.find((x) => x.code === "UNEXPECTED_EXPERT")).toMatchObject({ expert: 4, projection: "gate", tensor: expertName(P0, 4, "gate_proj") });
    expect(r.find((x) => x.code === "DUPLICATE_EXPERT")?.message).toContain("are both expert 1 down_proj.weight");
    expect(r.find((x) => x.code === "SHAPE_MISMATCH")).toMatchObject({ expert: 3, projection: "up", shape: [2, 4], expected: [2, 3] });
    expect(r.find((x) => x.code === "DTYPE_MISMATCH")).toMatchObject({ expert: 2, projection: "down", dtype: "F16", expectedDtype: "BF16" });
  });

  it("takes the expected shape from the layer's majority, so the odd expert is the one named", () => {
    const w = tinyMoe({ prefixes: [P0], E: 5, I: 2, H: 3 });
    w.set(expertName(P0, 0, "gate_proj"), tensor("odd", "BF16", [4, 3]));
    expect(reasons(planPrefuse(w, config(5)), P0)).toEqual([
      expect.objectContaining({ code: "SHAPE_MISMATCH", expert: 0, projection: "gate", shape: [4, 3], expected: [2, 3] }),
    ]);
  });

  it("checks down against gate: [H, I] for gate [I, H]", () => {
    const w = tinyMoe({ prefixes: [P0], E: 2, I: 2, H: 3 });
    for (const e of [0, 1]) w.set(expertName(P0, e, "down_proj"), tensor(`d${e}`, "BF16", [2, 3]));
    expect(reasons(planPrefuse(w, config(2)), P0).map((r) => [r.code, r.expert, r.expected])).toEqual([
      ["SHAPE_MISMATCH", 0, [3, 2]],
      ["SHAPE_MISMATCH", 1, [3, 2]],
    ]);
  });

  it("summarises a config that claims far more experts than exist", () => {
    const plan = planPrefuse(tinyMoe({ prefixes: [P0], E: 2, I: 1, H: 1 }), config(1_000_000_000));
    const r = reasons(plan, P0);
    expect(r.length).toBeLessThan(4000);
    expect(r.at(-1)?.message).toMatch(/^\d+ more experts from \d+ on have no down_proj.weight$/);
  });

  it("leaves already-fused layers untouched, and per-expert layers whose fused names are taken", () => {
    const w = tinyMoe({ prefixes: [P0, P1], E: 2, I: 2, H: 2 });
    w.set(`${P0}.experts.gate_up_proj`, tensor("f", "BF16", [2, 4, 2]));
    const plan = planPrefuse(w, config(2));
    expect(layer(plan, P0)).toMatchObject({ state: "already-fused", tensors: [`${P0}.experts.gate_up_proj`] });
    expect(layer(plan, P1).state).toBe("fused");

    const mixtral = tinyMoe({ prefixes: ["model.layers.0.block_sparse_moe"], E: 2, I: 2, H: 2, names: ["w1", "w3", "w2"] });
    mixtral.set("model.layers.0.mlp.experts.down_proj", tensor("g", "BF16", [2, 2, 2]));
    const p2 = planPrefuse(mixtral, { model_type: "mixtral", num_local_experts: 2 });
    expect(layer(p2, "model.layers.0.block_sparse_moe")).toMatchObject({ state: "already-fused", tensors: ["model.layers.0.mlp.experts.down_proj"] });
  });

  it("warns when config locations disagree, and uses the first", () => {
    const plan = planPrefuse(tinyMoe({ prefixes: [P0], E: 2, I: 1, H: 1 }), { num_local_experts: 2, text_config: { num_experts: 3 } });
    expect(plan.expertCount?.key).toBe("num_local_experts");
    expect(plan.warnings.filter((w) => w.includes("disagrees"))).toHaveLength(1);
    // No model_type: the default rules, said in one warning.
    expect(plan.warnings.filter((w) => w.includes("not in the layout registry: assumed the default rules"))).toHaveLength(1);
    expect(layer(plan, P0).state).toBe("fused");
  });

  it("warns, once, when FP8 experts would be fused as FP8 bytes", () => {
    const w: TensorMap = new Map([...tinyMoe({ prefixes: [P0, P1], E: 2, I: 2, H: 2 })].map(([n, t]) => [n, tensor(n, "F8_E4M3", t.shape)]));
    const plan = planPrefuse(w, config(2));
    expect(plan.layers.map((l) => l.state)).toEqual(["fused", "fused"]);
    expect(plan.warnings).toEqual([expect.stringMatching(/^FP8 expert weights are fused as FP8 in 2 layer\(s\).*--dequant-fp8/)]);
    expect(planPrefuse(tinyMoe({ prefixes: [P0], E: 2, I: 2, H: 2 }), config(2)).warnings).toEqual([]);
  });

  it("fused target: companions pass through with a warning; switch_mlp target stacks .scales", () => {
    const w = tinyMoe({ prefixes: [P0], E: 2, I: 2, H: 2, companions: ["scales"] });
    const fused = planPrefuse(w, config(2));
    expect(layer(fused, P0)).toMatchObject({ state: "fused", passthrough: expect.arrayContaining([expertName(P0, 0, "gate_proj", "scales")]) });
    expect(fused.warnings[0]).toMatch(/6 companion tensor\(s\) \(scales\) pass through per expert; the fused target fuses \.weight tensors only/);
    const sw = planPrefuse(w, config(2), { target: "switch_mlp" });
    expect(sw.outputs.map((o) => o.name).sort()).toEqual(
      ["down_proj.scales", "down_proj.weight", "gate_proj.scales", "gate_proj.weight", "up_proj.scales", "up_proj.weight"].map((n) => `${P0}.switch_mlp.${n}`),
    );
    expect(sw.warnings).toEqual([]);
    expect(sw.consumed).toHaveLength(12);
  });

  it("switch_mlp target: a missing .scales of one expert leaves the layer untouched", () => {
    const w = tinyMoe({ prefixes: [P0], E: 2, I: 2, H: 2, companions: ["scales"] });
    w.delete(expertName(P0, 1, "down_proj", "scales"));
    expect(reasons(planPrefuse(w, config(2), { target: "switch_mlp" }), P0)).toEqual([
      expect.objectContaining({ code: "MISSING_TENSOR", expert: 1, projection: "down", kind: "scales" }),
    ]);
  });

  it("switch_mlp target converts fused layers and refuses mismatched pairs", () => {
    const w: TensorMap = new Map([
      [`${P0}.experts.gate_up_proj`, tensor("a", "BF16", [3, 4, 5])],
      [`${P0}.experts.down_proj`, tensor("b", "BF16", [3, 5, 2])],
      [`${P1}.experts.gate_up_proj`, tensor("c", "BF16", [3, 4, 5])],
      [`${P1}.experts.down_proj`, tensor("d", "BF16", [3, 2, 5])],
    ]);
    const plan = planPrefuse(w, config(3), { target: "switch_mlp" });
    expect(layer(plan, P0)).toMatchObject({ state: "fused", source: "fused" });
    expect(plan.outputs.filter((o) => o.layer === P0).map((o) => [o.name, o.shape])).toEqual([
      [`${P0}.switch_mlp.gate_proj.weight`, [3, 2, 5]],
      [`${P0}.switch_mlp.up_proj.weight`, [3, 2, 5]],
      [`${P0}.switch_mlp.down_proj.weight`, [3, 5, 2]],
    ]);
    expect(reasons(plan, P1)).toMatchObject([{ code: "FUSED_MISMATCH" }]);
    expect(planPrefuse(w, config(4), { target: "switch_mlp" }).layers.every((l) => l.state === "untouched")).toBe(true);
  });
});
