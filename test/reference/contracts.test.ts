import { describe, expect, it } from "vitest";
import { STAGE_CONTRACTS } from "../../src/reference/contracts.js";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../src/fixtures-gen/spec.js";

const outside = (stage: keyof typeof STAGE_CONTRACTS, spec: FixtureSpec) => {
  const g = generateCheckpoint(spec);
  return STAGE_CONTRACTS[stage].outside(g.config, g.tensors);
};
const small = { experts: 4, layers: 1, hidden: 4, intermediate: 2, vocab: 8 } as const;

describe("stage contracts", () => {
  it("prefuse is oQ's function: its families and count keys are inside", () => {
    expect(outside("prefuse", { family: "qwen3_5_moe", ...small })).toBeUndefined();
    expect(
      outside("prefuse", {
        family: "qwen3_moe",
        ...small,
        layers: 2,
        variants: [{ kind: "count-key", keys: [{ key: "num_local_experts" }, { key: "num_experts", value: 9 }] }],
      }),
    ).toBeUndefined();
    expect(outside("prefuse", { family: "olmoe", ...small, variants: [{ kind: "partial", defect: "drop-projection" }] })).toBeUndefined();
    expect(outside("prefuse", { family: "qwen3_5_moe", ...small, variants: [{ kind: "count-key", keys: [] }] })).toBeUndefined();
  });

  it("prefuse takes what its reading points decide: n_routed_experts only, other families' names, mixed dtypes, duplicate ids, a count of 0", () => {
    expect(outside("prefuse", { family: "deepseek_v3", ...small, layers: 2 })).toBeUndefined();
    expect(outside("prefuse", { family: "mixtral", ...small })).toBeUndefined();
    expect(outside("prefuse", { family: "qwen3_vl_moe", ...small })).toBeUndefined();
    expect(outside("prefuse", { family: "qwen3_5_moe", ...small, variants: [{ kind: "partial", defect: "wrong-dtype" }] })).toBeUndefined();
    expect(outside("prefuse", { family: "qwen3_5_moe", ...small, variants: [{ kind: "duplicate-expert" }] })).toBeUndefined();
    expect(
      outside("prefuse", {
        family: "qwen3_5_moe",
        ...small,
        variants: [{ kind: "count-key", keys: [{ key: "num_local_experts", value: 0 }, { key: "num_experts" }] }],
      }),
    ).toBeUndefined();
  });

  it("prefuse excludes other stages' inputs, broken counts and companions", () => {
    expect(outside("prefuse", { family: "qwen3_5_moe_fp8", ...small })).toMatch(/quantization_config/);
    expect(outside("prefuse", { family: "qwen3_5_moe", ...small, variants: [{ kind: "count-key", keys: [{ key: "num_experts", value: "8" }] }] })).toMatch(
      /broken count|positive integer/,
    );
    expect(outside("prefuse", { family: "qwen3_5_moe", ...small, variants: [{ kind: "count-key", keys: [{ key: "num_experts", value: -1 }] }] })).toMatch(
      /broken count|positive integer/,
    );
    const g = generateCheckpoint({ family: "qwen3_5_moe", ...small });
    const withScales = new Map(g.tensors);
    withScales.set("model.language_model.layers.0.mlp.experts.0.gate_proj.scales", { dtype: "BF16", shape: [2, 1], data: new Uint8Array(4) });
    expect(STAGE_CONTRACTS.prefuse.outside(g.config, withScales)).toMatch(/companion/);
  });

  it("the FP8 stages take oQ's block FP8 (e4m3, _scale_inv) and leave other schemes out", () => {
    expect(outside("dequant+prefuse", { family: "qwen3_5_moe_fp8", ...small, fp8: { blockSize: [2, 2] } })).toBeUndefined();
    expect(outside("dequant", { family: "mixtral", ...small, fp8: true })).toBeUndefined();
    expect(outside("dequant+prefuse", { family: "mixtral", ...small, fp8: true })).toBeUndefined(); // reading point family-layouts
    expect(outside("dequant+prefuse", { family: "qwen3_5_moe_fp8", ...small, fp8: { scaleSuffix: "_scale" } })).toMatch(/_scale_inv/);
    expect(outside("dequant", { family: "qwen3_5_moe", ...small })).toMatch(/not an FP8/);
    // A missing scale is inside: the dequant stage must refuse it.
    expect(outside("dequant+prefuse", { family: "qwen3_5_moe_fp8", ...small, variants: [{ kind: "partial", defect: "drop-scale" }] })).toBeUndefined();
  });

  it("switch_mlp takes every family of the layout table, and no FP8", () => {
    for (const family of ["mixtral", "qwen3_vl_moe", "deepseek_v3", "qwen3_5_moe"] as const)
      expect(outside("switch_mlp", { family, ...small, layers: 2 })).toBeUndefined();
    expect(outside("switch_mlp", { family: "qwen3_5_moe_fp8", ...small })).toMatch(/dequant/);
  });
});
