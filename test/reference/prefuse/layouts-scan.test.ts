import { describe, expect, it } from "vitest";
import { DEFAULT_LAYOUT, EXPERT_LAYOUTS, fusedNames, layoutForModelType, selectLayout, switchName } from "../../../src/reference/prefuse/layouts.js";
import { PROJECTION_NAMES, scanExperts } from "../../../src/reference/prefuse/scan.js";

describe("layout registry", () => {
  it.each([
    [{ model_type: "qwen3_5_moe", text_config: { model_type: "qwen3_5_moe_text" } }, "qwen3_5_moe", "model_type"],
    [{ model_type: "unknown_vlm", text_config: { model_type: "qwen3_5_moe_text" } }, "qwen3_5_moe", "text_config.model_type"],
    [{ model_type: "qwen3_moe" }, "qwen3_moe", "model_type"],
    [{ model_type: "deepseek_v3" }, "deepseek_v3", "model_type"],
    [{ model_type: "glm4_moe" }, "glm4_moe", "model_type"],
    [{ model_type: "olmoe" }, "olmoe", "model_type"],
    [{ model_type: "qwen2_moe" }, "qwen2_moe", "model_type"],
    [{ model_type: "mixtral" }, "mixtral", "model_type"],
    [{ model_type: "qwen3_vl_moe" }, "qwen3_vl_moe", "model_type"],
    [{ model_type: "llama4" }, "llama4", "model_type"],
    [{ model_type: "minimax_m2" }, "minimax", "model_type"],
    [{ model_type: "kimi_k2" }, "deepseek_v3", "model_type"],
    [{ model_type: "gemma4", text_config: { model_type: "gemma4_text" } }, "gemma4", "model_type"],
  ])("selects by model_type: %j -> %s", (config, name, key) => {
    const c = selectLayout(config);
    expect(c.layout.name).toBe(name);
    expect(c.key).toBe(key);
  });

  it("falls back to oQ's gate/up/down pattern for unknown or missing model types", () => {
    expect(selectLayout({ model_type: "brand_new_moe" })).toEqual({ layout: DEFAULT_LAYOUT, modelType: undefined, key: undefined });
    expect(selectLayout({})).toEqual({ layout: DEFAULT_LAYOUT, modelType: undefined, key: undefined });
    expect(DEFAULT_LAYOUT.perExpert).toEqual({ gate: "gate_proj", up: "up_proj", down: "down_proj" });
  });

  it("is data: every model type belongs to exactly one layout", () => {
    const all = EXPERT_LAYOUTS.flatMap((l) => l.modelTypes);
    expect(new Set(all).size).toBe(all.length);
    expect(layoutForModelType("qwen3_vl_moe_text")?.orientation).toBe("columns");
  });

  it("names each family's projections as the scan reads them: Mixtral's w1, w3, w2 are gate, up, down", () => {
    // The layouts name what a layer writes (and what a missing tensor is called); the scan says
    // which projection a name is. mlx-lm's mixtral.py sanitize maps ("w1", "gate_proj"),
    // ("w2", "down_proj"), ("w3", "up_proj"), as transformers' Mixtral computes
    // act_fn(w1(x)) * w3(x) before w2.
    expect(layoutForModelType("mixtral")!.perExpert).toEqual({ gate: "w1", up: "w3", down: "w2" });
    for (const layout of [DEFAULT_LAYOUT, ...EXPERT_LAYOUTS]) {
      for (const [projection, name] of Object.entries(layout.perExpert)) expect(PROJECTION_NAMES[name], `${layout.name}: ${name}`).toBe(projection);
    }
  });

  it("names fused and switch_mlp outputs per family", () => {
    const mixtral = layoutForModelType("mixtral")!;
    expect(fusedNames(mixtral, "model.layers.3.block_sparse_moe")).toEqual({
      gateUp: "model.layers.3.mlp.experts.gate_up_proj",
      down: "model.layers.3.mlp.experts.down_proj",
    });
    expect(switchName(mixtral, "model.layers.3.block_sparse_moe", "up")).toBe("model.layers.3.block_sparse_moe.switch_mlp.up_proj.weight");
    expect(fusedNames(DEFAULT_LAYOUT, "mtp.layers.0.mlp").gateUp).toBe("mtp.layers.0.mlp.experts.gate_up_proj");
    expect(switchName(layoutForModelType("llama4")!, "language_model.model.layers.0.feed_forward", "down", "scales")).toBe(
      "language_model.model.layers.0.feed_forward.experts.down_proj.scales",
    );
  });
});

describe("scanExperts", () => {
  const spec = (shape: number[]) => ({ dtype: "BF16" as const, shape });

  it("finds every MoE tensor form, whatever the model_type", () => {
    const [g] = scanExperts([
      "model.layers.0.mlp.experts.12.up_proj.weight",
      "model.layers.0.mlp.experts.3.w1.weight",
      "model.layers.0.mlp.experts.gate_up_proj",
      "model.layers.0.mlp.experts.gate_up_proj_bias",
      "model.layers.0.mlp.switch_mlp.down_proj.biases",
      "model.layers.0.mlp.experts.e_score_correction_bias",
    ]);
    expect(g!.perExpert.map((t) => [t.expert, t.projection, t.leaf, t.kind])).toEqual([
      [12, "up", "up_proj", "weight"],
      [3, "gate", "w1", "weight"],
    ]);
    expect(g!.fused.gateUp).toBe("model.layers.0.mlp.experts.gate_up_proj");
    expect(g!.fusedCompanions).toEqual(["model.layers.0.mlp.experts.gate_up_proj_bias"]);
    expect(g!.switched).toEqual([{ name: "model.layers.0.mlp.switch_mlp.down_proj.biases", leaf: "down_proj", kind: "biases" }]);
    expect(g!.unrecognized).toEqual(["model.layers.0.mlp.experts.e_score_correction_bias"]);
  });

  it("leaves shared experts, routers and dense MLPs alone", () => {
    expect(
      scanExperts([
        "model.layers.0.mlp.shared_experts.gate_proj.weight",
        "model.layers.0.mlp.shared_expert.up_proj.weight",
        "model.layers.0.mlp.gate.weight",
        "model.layers.0.mlp.gate_proj.weight",
      ]),
    ).toEqual([]);
  });

  it("finds MLX stacks under each loader's module name", () => {
    const groups = scanExperts([
      "model.layers.0.experts.switch_glu.gate_proj.weight",
      "model.layers.1.mlp.experts.up_proj.weight",
      "backbone.layers.2.mixer.switch_mlp.fc1.weight",
    ]);
    expect(groups.map((g) => [g.prefix, g.switched.map((s) => s.leaf)])).toEqual([
      ["backbone.layers.2.mixer", ["fc1"]],
      ["model.layers.0", ["gate_proj"]],
      ["model.layers.1.mlp", ["up_proj"]],
    ]);
  });

  it("finds stacks under other names by rank, so dense weights of the same name stay out", () => {
    const specs = new Map([
      ["model.layers.0.block_sparse_moe.input_linear.weight", spec([4, 8, 2])],
      ["model.layers.0.shared_mlp.input_linear.weight", spec([8, 2])],
      ["transformer.blocks.0.ffn.experts.mlp.w1", spec([16, 2])],
      ["model.layers.1.moe.gate_proj.weight", spec([4, 2, 2])],
    ]);
    expect(scanExperts(specs).map((g) => [g.prefix, g.stacked])).toEqual([
      ["model.layers.0.block_sparse_moe", ["model.layers.0.block_sparse_moe.input_linear.weight"]],
      ["model.layers.1.moe", ["model.layers.1.moe.gate_proj.weight"]],
      ["transformer.blocks.0.ffn", ["transformer.blocks.0.ffn.experts.mlp.w1"]],
    ]);
  });

  it("groups by any prefix (language model, mtp, text-only) in natural order", () => {
    const names = [
      "model.language_model.layers.10.mlp.experts.0.gate_proj.weight",
      "model.language_model.layers.2.mlp.experts.1.down_proj.weight",
      "mtp.layers.0.mlp.experts.0.up_proj.weight",
      "model.layers.0.mlp.experts.0.gate_proj.weight_scale_inv",
      "model.language_model.layers.2.mlp.experts.gate_up_proj",
      "lm_head.weight",
    ];
    const groups = scanExperts(names);
    expect(groups.map((g) => g.prefix)).toEqual([
      "model.language_model.layers.2.mlp",
      "model.language_model.layers.10.mlp",
      "model.layers.0.mlp",
      "mtp.layers.0.mlp",
    ]);
    expect(groups[0]!.fused.gateUp).toBe("model.language_model.layers.2.mlp.experts.gate_up_proj");
    expect(groups[2]!.perExpert[0]).toMatchObject({ expert: 0, projection: "gate", kind: "weight_scale_inv" });
  });

  it("reads mixtral's w1/w3/w2 as gate/up/down and expert ids as numbers", () => {
    const g = scanExperts(["model.layers.0.block_sparse_moe.experts.07.w3.weight"]);
    expect(g[0]!.perExpert[0]).toMatchObject({ expert: 7, projection: "up", leaf: "w3", kind: "weight" });
  });
});
