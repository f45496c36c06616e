// The dequantization plan and scheme resolution: which weights, scales and blocks each config
// family implies, what is dropped and kept, and one typed error (with file and tensors named)
// for every bad pairing or config.

import { describe, expect, it } from "vitest";
import type { ModelConfig } from "../../../src/reference/checkpoint.js";
import { Fp8Error, type Fp8ErrorCode } from "../../../src/reference/fp8/errors.js";
import { dequantFp8 } from "../../../src/reference/fp8/dequant.js";
import { dequantizedConfig } from "../../../src/reference/fp8/config.js";
import { planDequant } from "../../../src/reference/fp8/plan.js";
import type { Tensor, TensorMap } from "../../../src/reference/tensor.js";
import { bf16, bits, expectedBits, f32, fp8, scaleValues } from "./tensors.js";

const WHERE = { checkpoint: "ckpt", configFile: "ckpt/config.json" };
const FP8 = (extra: Record<string, unknown> = {}): ModelConfig => ({
  model_type: "x",
  quantization_config: { quant_method: "fp8", fmt: "e4m3", activation_scheme: "dynamic", weight_block_size: [128, 128], ...extra },
});

const map = (entries: Record<string, Tensor>): TensorMap => new Map(Object.entries(entries));

function fails(code: Fp8ErrorCode, weights: TensorMap, config: ModelConfig | undefined, ...fragments: string[]): void {
  let error: unknown;
  try {
    planDequant(weights, config, WHERE);
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeInstanceOf(Fp8Error);
  const e = error as Fp8Error;
  expect(e.code).toBe(code);
  expect(e.message).not.toContain("\n");
  for (const f of fragments) expect(e.message).toContain(f);
}

describe("fp8 (DeepSeek / Qwen / transformers) scheme", () => {
  it("replaces each FP8 weight by BF16, removes its scale, drops activation scales, keeps the rest in input order", () => {
    const w = map({
      "a.weight": fp8([130, 200]),
      "a.weight_scale_inv": f32([2, 2]),
      "a.activation_scale": f32([]),
      "a.input_scale": f32([1]),
      "norm.weight": bf16([4]),
      "b.weight": fp8([64, 64]),
      "b.weight_scale_inv": bf16([1, 1]),
    });
    const plan = planDequant(w, FP8(), WHERE);
    expect(plan.scheme).toBe("fp8 (e4m3, 128x128 blocks; scales <weight>_scale_inv)");
    expect(plan.dequantized.map((e) => [e.weight, e.scale, e.block])).toEqual([
      ["a.weight", "a.weight_scale_inv", [128, 128]],
      ["b.weight", "b.weight_scale_inv", [128, 128]],
    ]);
    expect(plan.removedScales).toEqual(["a.weight_scale_inv", "b.weight_scale_inv"]);
    expect(plan.droppedActivationScales).toEqual(["a.activation_scale", "a.input_scale"]);
    expect(plan.passthrough).toEqual(["norm.weight"]);
    expect([...plan.specs]).toEqual([
      ["a.weight", { dtype: "BF16", shape: [130, 200] }],
      ["norm.weight", { dtype: "BF16", shape: [4] }],
      ["b.weight", { dtype: "BF16", shape: [64, 64] }],
    ]);
  });

  it("defaults to 128x128 blocks, reads weight_block_size, and null as one scale per tensor", () => {
    const w = map({ "a.weight": fp8([300, 10]), "a.weight_scale_inv": f32([3, 1]) });
    expect(planDequant(w, FP8({ weight_block_size: undefined }), WHERE).dequantized[0]!.block).toEqual([128, 128]);
    const small = map({ "a.weight": fp8([300, 10]), "a.weight_scale_inv": f32([10, 3]) });
    expect(planDequant(small, FP8({ weight_block_size: [32, 4] }), WHERE).dequantized[0]!.block).toEqual([32, 4]);
    const scalar = map({ "a.weight": fp8([300, 10]), "a.weight_scale_inv": f32([]) });
    expect(planDequant(scalar, FP8({ weight_block_size: null }), WHERE).dequantized[0]!.block).toEqual([300, 10]);
  });

  it("reads vLLM's per-tensor <W>_scale, and E8M0 scales (F8_E8M0, or U8 with scale_fmt ue8m0)", () => {
    const vllm = map({ "a.weight": fp8([5, 7]), "a.weight_scale": f32([]), "a.input_scale": f32([]) });
    const plan = planDequant(vllm, { quantization_config: { quant_method: "fp8", activation_scheme: "static" } }, WHERE);
    expect(plan.dequantized[0]!.block).toEqual([5, 7]);
    expect(plan.droppedActivationScales).toEqual(["a.input_scale"]);
    const e8 = (dtype: "F8_E8M0" | "U8"): TensorMap =>
      map({ "a.weight": fp8([5, 7]), "a.weight_scale_inv": { dtype, shape: [1, 1], data: new Uint8Array([127]) } });
    expect(planDequant(e8("F8_E8M0"), FP8(), WHERE).dequantized).toHaveLength(1);
    expect(planDequant(e8("U8"), FP8({ scale_fmt: "ue8m0" }), WHERE).dequantized).toHaveLength(1);
    fails("UNSUPPORTED_SCALE_DTYPE", e8("U8"), FP8(), "'a.weight_scale_inv' is U8", "U8 only where the config says E8M0");
  });

  it("takes quantization_config from text_config (VLMs), and refuses two that differ", () => {
    const w = map({ "a.weight": fp8([5, 7]), "a.weight_scale_inv": f32([1, 1]) });
    const q = FP8().quantization_config;
    expect(planDequant(w, { text_config: { quantization_config: q } }, WHERE).dequantized).toHaveLength(1);
    expect(planDequant(w, { quantization_config: q, text_config: { quantization_config: q } }, WHERE).dequantized).toHaveLength(1);
    fails(
      "AMBIGUOUS_SCHEME",
      w,
      { quantization_config: q, text_config: { quantization_config: { ...(q as object), fmt: "e5m2" } } },
      "ckpt/config.json",
      "differ",
    );
  });
});

describe("compressed-tensors scheme", () => {
  const group = (weights: Record<string, unknown>, targets: string[] = ["Linear"]) => ({
    targets,
    weights: { num_bits: 8, type: "float", symmetric: true, dynamic: false, ...weights },
    input_activations: { num_bits: 8, type: "float", strategy: "token", dynamic: true },
  });
  const CT = (groups: Record<string, unknown>, extra: Record<string, unknown> = {}): ModelConfig => ({
    quantization_config: { quant_method: "compressed-tensors", format: "float-quantized", config_groups: groups, ...extra },
  });

  it("maps strategies to layouts: channel [m, 1], tensor [1], block, group", () => {
    const w = map({ "l.weight": fp8([6, 40]), "l.weight_scale": f32([6, 1]) });
    expect(planDequant(w, CT({ g: group({ strategy: "channel" }) }), WHERE).dequantized[0]!.block).toEqual([1, 40]);
    const t = map({ "l.weight": fp8([6, 40]), "l.weight_scale": f32([1]) });
    expect(planDequant(t, CT({ g: group({ strategy: "tensor" }) }), WHERE).dequantized[0]!.block).toEqual([6, 40]);
    const b = map({ "l.weight": fp8([6, 40]), "l.weight_scale": f32([2, 3]) });
    expect(planDequant(b, CT({ g: group({ strategy: "block", block_structure: [4, 16] }) }), WHERE).dequantized[0]!.block).toEqual([4, 16]);
    const g = map({ "l.weight": fp8([6, 40]), "l.weight_scale": f32([6, 3]) });
    expect(planDequant(g, CT({ g: group({ strategy: "group", group_size: 16 }) }), WHERE).dequantized[0]!.block).toEqual([1, 16]);
  });

  it("applies each row's channel scale", () => {
    const scale = f32([3, 1], [0.5, 2, -0.125]);
    const w = map({ "l.weight": fp8([3, 5]), "l.weight_scale": scale });
    const out = dequantFp8(w, CT({ g: group({ strategy: "channel" }) }));
    const got = bits(out.weights.get("l.weight")!);
    const bytes = w.get("l.weight")!.data;
    for (let i = 0; i < 15; i++) expect(got[i]).toBe(expectedBits(bytes[i]!, scaleValues(scale)[Math.floor(i / 5)]!));
  });

  it("prefers an exact module name over a regex over a class target, and honours ignore", () => {
    const config = CT(
      {
        a: group({ strategy: "channel" }),
        b: group({ strategy: "tensor" }, ["re:.*down_proj$"]),
        c: group({ strategy: "block", block_structure: [2, 2] }, ["m.down_proj"]),
      },
      { ignore: ["lm_head"] },
    );
    const w = map({
      "m.up_proj.weight": fp8([4, 4]),
      "m.up_proj.weight_scale": f32([4, 1]),
      "x.down_proj.weight": fp8([4, 4]),
      "x.down_proj.weight_scale": f32([1]),
      "m.down_proj.weight": fp8([4, 4]),
      "m.down_proj.weight_scale": f32([2, 2]),
    });
    expect(planDequant(w, config, WHERE).dequantized.map((e) => [e.weight, e.block])).toEqual([
      ["m.down_proj.weight", [2, 2]],
      ["m.up_proj.weight", [1, 4]],
      ["x.down_proj.weight", [4, 4]],
    ]);
    fails(
      "NO_RULE",
      map({ "lm_head.weight": fp8([4, 4]), "lm_head.weight_scale": f32([4, 1]) }),
      config,
      "ckpt",
      "tensor 'lm_head.weight'",
      "ignores module 'lm_head'",
    );
  });

  it("refuses groups that are not FP8, asymmetric, or tie with different layouts; and _scale_inv names", () => {
    const w = map({ "l.weight": fp8([4, 4]), "l.weight_scale": f32([4, 1]) });
    fails(
      "UNSUPPORTED_SCHEME",
      w,
      CT({ g: group({ strategy: "channel" }), q: { targets: ["re:.*experts.*"], weights: { num_bits: 4, type: "int", strategy: "group", group_size: 128 } } }),
      "config_groups.q.weights",
      "4-bit int",
    );
    fails("UNSUPPORTED_SCHEME", w, CT({ g: group({ strategy: "channel", symmetric: false }) }), "asymmetric");
    fails("UNSUPPORTED_SCHEME", w, CT({ g: group({ strategy: "token" }) }), '"token"');
    fails("AMBIGUOUS_SCHEME", w, CT({ g: group({ strategy: "channel" }, ["re:l"]), h: group({ strategy: "tensor" }, ["re:.*"]) }), "'g'", "'h'", "module 'l'");
    fails(
      "SCALE_NAME_MISMATCH",
      map({ "l.weight": fp8([4, 4]), "l.weight_scale_inv": f32([4, 1]) }),
      CT({ g: group({ strategy: "channel" }) }),
      "'l.weight_scale_inv'",
      "'l.weight_scale'",
    );
    fails("INVALID_QUANTIZATION_CONFIG", w, CT({ g: group({ strategy: "block", block_structure: "128x128" }) }), "block_structure");
    fails("INVALID_QUANTIZATION_CONFIG", w, CT({ g: group({ strategy: "channel" }, ["re:(?P<x>l)"]) }), "re:(?P<x>l)");
  });
});

describe("quark scheme", () => {
  const spec = (weight: Record<string, unknown> | null) => ({
    weight: weight === null ? null : { dtype: "fp8_e4m3", is_dynamic: false, symmetric: true, ...weight },
    input_tensors: { dtype: "fp8_e4m3", qscheme: "per_group", group_size: 128, is_dynamic: true },
  });
  const QUARK = (extra: Record<string, unknown>): ModelConfig => ({
    quantization_config: { quant_method: "quark", global_quant_config: null, layer_quant_config: {}, layer_type_quant_config: {}, exclude: [], ...extra },
  });

  it("reads per_block (weight_scale, not _inv), per_channel [m], per_tensor scalar; E8M0 with scale_type", () => {
    const blocks = QUARK({ global_quant_config: spec({ qscheme: "per_block", block_size: [128, 128] }) });
    const w = map({ "e.weight": fp8([256, 128]), "e.weight_scale": f32([2, 1]) });
    expect(planDequant(w, blocks, WHERE).dequantized[0]!.block).toEqual([128, 128]);
    fails("SCALE_NAME_MISMATCH", map({ "e.weight": fp8([256, 128]), "e.weight_scale_inv": f32([2, 1]) }), blocks, "quant_method quark");
    const ch = map({ "e.weight": fp8([3, 8]), "e.weight_scale": f32([3]) });
    expect(planDequant(ch, QUARK({ global_quant_config: spec({ qscheme: "per_channel", ch_axis: 0 }) }), WHERE).dequantized[0]!.block).toEqual([1, 8]);
    const t = map({ "e.weight": fp8([3, 8]), "e.weight_scale": f32([]) });
    expect(planDequant(t, QUARK({ global_quant_config: spec({ qscheme: "per_tensor" }) }), WHERE).dequantized[0]!.block).toEqual([3, 8]);
    const u8 = map({ "e.weight": fp8([3, 8]), "e.weight_scale": { dtype: "U8", shape: [1, 1], data: new Uint8Array([120]) } });
    expect(
      planDequant(u8, QUARK({ global_quant_config: spec({ qscheme: "per_block", block_size: [128, 128], scale_type: "float8_e8m0fnu" }) }), WHERE).dequantized,
    ).toHaveLength(1);
  });

  it("lets a layer pattern override the global spec, and exclude leave a module unquantized", () => {
    const config = QUARK({
      global_quant_config: spec({ qscheme: "per_channel" }),
      layer_quant_config: { "*.mlp.experts.*": spec({ qscheme: "per_block", block_size: [2, 4] }) },
      exclude: ["re:.*lm_head$"],
    });
    const w = map({
      "model.layers.0.mlp.experts.3.down_proj.weight": fp8([4, 8]),
      "model.layers.0.mlp.experts.3.down_proj.weight_scale": f32([2, 2]),
      "model.layers.0.self_attn.o_proj.weight": fp8([4, 8]),
      "model.layers.0.self_attn.o_proj.weight_scale": f32([4]),
    });
    expect(planDequant(w, config, WHERE).dequantized.map((e) => e.block)).toEqual([
      [2, 4],
      [1, 8],
    ]);
    fails("NO_RULE", map({ "lm_head.weight": fp8([4, 8]), "lm_head.weight_scale": f32([4]) }), config, "excludes module 'lm_head'");
    fails("NO_RULE", w, QUARK({ global_quant_config: spec(null) }), "leaves module");
  });

  it("refuses non-FP8 specs, unsupported axes, and two patterns with different layouts", () => {
    const w = map({ "a.b.weight": fp8([4, 8]), "a.b.weight_scale": f32([4]) });
    fails("UNSUPPORTED_SCHEME", w, QUARK({ global_quant_config: spec({ dtype: "fp4", qscheme: "per_group", group_size: 32 }) }), '"fp4"', "non-FP8");
    fails("UNSUPPORTED_SCHEME", w, QUARK({ global_quant_config: spec({ qscheme: "per_channel", ch_axis: 1 }) }), "ch_axis");
    fails(
      "AMBIGUOUS_SCHEME",
      w,
      QUARK({ layer_quant_config: { "a.*": spec({ qscheme: "per_channel" }), "*.b": spec({ qscheme: "per_tensor" }) } }),
      "layer_quant_config 'a.*'",
      "layer_quant_config '*.b'",
    );
  });
});

describe("bad inputs: one typed error naming the file and the tensor(s)", () => {
  it("a scale grid that does not fit, naming both tensors and both shapes (never a broadcast)", () => {
    fails(
      "SCALE_SHAPE_MISMATCH",
      map({ "a.weight": fp8([130, 200]), "a.weight_scale_inv": f32([1, 2]) }),
      FP8(),
      "ckpt: tensor 'a.weight'",
      "scale 'a.weight_scale_inv' has shape [1, 2]",
      "weight 'a.weight' [130, 200]",
      "needs [2, 2]",
    );
    // transformers derives the block from the grid: 130 rows over 2 block rows -> 65. Not here.
    fails(
      "SCALE_SHAPE_MISMATCH",
      map({ "a.weight": fp8([130, 256]), "a.weight_scale_inv": f32([2, 2]) }),
      FP8({ weight_block_size: [64, 128] }),
      "needs [3, 2]",
    );
    fails("SCALE_SHAPE_MISMATCH", map({ "a.weight": fp8([130, 256]), "a.weight_scale_inv": f32([4]) }), FP8(), "has shape [4]");
  });

  it("scale without its weight; scale of a weight that is not FP8", () => {
    fails(
      "SCALE_WITHOUT_WEIGHT",
      map({ "a.weight_scale_inv": f32([1, 1]) }),
      FP8(),
      "tensor 'a.weight_scale_inv'",
      "weight 'a.weight' is not in the checkpoint",
    );
    fails("SCALE_WITHOUT_WEIGHT", map({ "a.weight_scale": f32([1]) }), FP8(), "'a.weight'");
    fails("SCALE_ON_UNQUANTIZED_WEIGHT", map({ "a.weight": bf16([2, 2]), "a.weight_scale_inv": f32([1, 1]) }), FP8(), "'a.weight', which is BF16");
  });

  it("FP8 weight without a scale, with two scales, or without a config", () => {
    fails("WEIGHT_WITHOUT_SCALE", map({ "a.weight": fp8([4, 4]) }), FP8(), "tensor 'a.weight'", "F8_E4M3 [4, 4]", "'a.weight_scale_inv'");
    fails("AMBIGUOUS_SCALE", map({ "a.weight": fp8([4, 4]), "a.weight_scale_inv": f32([1, 1]), "a.weight_scale": f32([1]) }), FP8(), "two scale tensors");
    fails(
      "NO_QUANTIZATION_CONFIG",
      map({ "a.weight": fp8([4, 4]), "a.weight_scale_inv": f32([1, 1]) }),
      { model_type: "x" },
      "ckpt/config.json",
      "no quantization_config",
    );
  });

  it("1-D and 3-D FP8 weights have no rule", () => {
    fails("UNSUPPORTED_RANK", map({ "a.weight": fp8([16]), "a.weight_scale_inv": f32([1]) }), FP8(), "1-D F8_E4M3 weight [16]");
    fails("UNSUPPORTED_RANK", map({ "e.gate_up_proj": fp8([2, 4, 4]), "e.gate_up_proj_scale_inv": f32([2, 1, 1]) }), FP8(), "tensor 'e.gate_up_proj'", "3-D");
  });

  it("wrong FP8 format, undecodable FP8, scale dtypes, unknown methods and malformed fields", () => {
    fails("FORMAT_MISMATCH", map({ "a.weight": fp8([4, 4], "F8_E5M2"), "a.weight_scale_inv": f32([1, 1]) }), FP8(), "F8_E5M2", "declares F8_E4M3");
    fails("UNSUPPORTED_WEIGHT_DTYPE", map({ "a.weight": { dtype: "F8_E4M3FNUZ", shape: [1], data: new Uint8Array(1) } }), FP8(), "F8_E4M3FNUZ");
    fails(
      "UNSUPPORTED_SCALE_DTYPE",
      map({ "a.weight": fp8([4, 4]), "a.weight_scale_inv": { dtype: "I32", shape: [1, 1], data: new Uint8Array(4) } }),
      FP8(),
      "I32",
    );
    fails("UNSUPPORTED_SCHEME", map({}), { quantization_config: { quant_method: "gptq", bits: 4 } }, '"gptq"');
    fails("INVALID_QUANTIZATION_CONFIG", map({}), FP8({ weight_block_size: [0, 128] }), "weight_block_size[0]");
    fails("INVALID_QUANTIZATION_CONFIG", map({}), FP8({ fmt: "e3m4" }), "fmt");
    fails("INVALID_QUANTIZATION_CONFIG", map({}), { quantization_config: "fp8" }, "not an object");
    fails("SCALE_NAME_MISMATCH", map({ "a.weight": fp8([4, 4]), "a.weight_scale": f32([1]) }), FP8(), "weight_block_size is set");
  });
});

describe("dequantFp8 (in memory) and the output config", () => {
  it("leaves the input untouched and drops quantization_config (also from text_config)", () => {
    const w = map({ "a.weight": fp8([3, 3]), "a.weight_scale_inv": f32([1, 1], [2]), "n.weight": bf16([3]) });
    const before = [...w].map(([k, t]) => [k, t.dtype, [...t.data]]);
    const config: ModelConfig = { ...FP8(), text_config: { hidden_size: 3, quantization_config: FP8().quantization_config } };
    const out = dequantFp8(w, config);
    expect([...w].map(([k, t]) => [k, t.dtype, [...t.data]])).toEqual(before);
    expect(out.config).toEqual({ model_type: "x", text_config: { hidden_size: 3 } });
    expect(config.quantization_config).toBeDefined();
    expect([...out.weights.keys()]).toEqual(["a.weight", "n.weight"]);
    expect(out.weights.get("n.weight")).toBe(w.get("n.weight"));
    expect([...bits(out.weights.get("a.weight")!)]).toEqual([...w.get("a.weight")!.data].map((b) => expectedBits(b, 2)));
    expect(dequantizedConfig(undefined)).toBeUndefined();
  });

  it("is a no-op on a checkpoint without FP8 weights or quantization_config", () => {
    const w = map({ "n.weight": bf16([3]) });
    const out = dequantFp8(w, { model_type: "x" });
    expect(out.plan.scheme).toBeUndefined();
    expect(out.plan.passthrough).toEqual(["n.weight"]);
    expect(out.weights.get("n.weight")).toBe(w.get("n.weight"));
  });
});
