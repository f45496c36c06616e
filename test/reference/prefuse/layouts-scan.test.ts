import { describe, expect, it } from "vitest";
import {
  DEFAULT_LAYOUT,
  EXPERT_LAYOUTS,
  fusedNames,
  layoutForModelType,
  selectLayout,
  switchName,
} from "../../../src/reference/prefuse/layouts.js";
import { expertPattern, scanExperts } from "../../../src/reference/prefuse/scan.js";

describe("layout registry", () => {
  it.each([
    [{ model_type: "qwen3_5_moe", text_config: { model_type: "qwen3_5_moe_text" } }, "qwen3_5_moe", "model_type"],
    [{ model_type: "unknown_vlm", text_config: { model_type: "qwen3_5_moe_text" } }, "qwen3_5_moe", "text_config.model_type"],
    [{ model_type: "qwen3_moe" }, "transformers_v5", "model_type"],
    [{ model_type: "deepseek_v3" }, "transformers_v5", "model_type"],
    [{ model_type: "glm4_moe" }, "transformers_v5", "model_type"],
    [{ model_type: "olmoe" }, "transformers_v5", "model_type"],
    [{ model_type: "qwen2_moe" }, "transformers_v5", "model_type"],
    [{ model_type: "mixtral" }, "mixtral", "model_type"],
    [{ model_type: "qwen3_vl_moe" }, "qwen3_vl_moe", "model_type"],
    [{ model_type: "llama4" }, "llama4", "model_type"],
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
  it("uses one expression for every MoE tensor kind", () => {
    const re = expertPattern(DEFAULT_LAYOUT);
    expect(re.exec("model.layers.0.mlp.experts.12.up_proj.weight")?.groups).toMatchObject({ prefix: "model.layers.0.mlp", id: "12", proj: "up_proj", kind: "weight" });
    expect(re.exec("model.layers.0.mlp.experts.gate_up_proj")?.groups).toMatchObject({ prefix: "model.layers.0.mlp", fused: "gate_up_proj" });
    expect(re.exec("model.layers.0.mlp.switch_mlp.down_proj.biases")?.groups).toMatchObject({ sw: "down_proj", swkind: "biases" });
    for (const other of [
      "model.layers.0.mlp.shared_experts.gate_proj.weight",
      "model.layers.0.mlp.shared_expert.up_proj.weight",
      "model.layers.0.mlp.experts.gate_up_proj_bias",
      "model.layers.0.mlp.gate.weight",
      "model.layers.0.mlp.experts.e_score_correction_bias",
      "model.layers.0.mlp.experts.3.w1.weight",
    ]) {
      expect(re.test(other)).toBe(false);
    }
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
    const groups = scanExperts(names, DEFAULT_LAYOUT);
    expect(groups.map((g) => g.prefix)).toEqual(["model.language_model.layers.2.mlp", "model.language_model.layers.10.mlp", "model.layers.0.mlp", "mtp.layers.0.mlp"]);
    expect(groups[0]!.fused.gateUp).toBe("model.language_model.layers.2.mlp.experts.gate_up_proj");
    expect(groups[2]!.perExpert[0]).toMatchObject({ expert: 0, projection: "gate", kind: "weight_scale_inv" });
  });

  it("reads mixtral's w1/w3/w2 as gate/up/down and expert ids as numbers", () => {
    const g = scanExperts(["model.layers.0.block_sparse_moe.experts.07.w3.weight"], layoutForModelType("mixtral")!);
    expect(g[0]!.perExpert[0]).toMatchObject({ expert: 7, projection: "up", kind: "weight" });
  });
});
