// The plan on what the registry added: names recognised whatever the model_type, a warning
// naming the default rules, one count per sub-model, and a state and a code for every form of
// expert tensors (packed INT4, interleaved gpt-oss blocks, stacks under other names, unknown).

import { describe, expect, it } from "vitest";
import { planPrefuse } from "../../../src/reference/prefuse/plan.js";
import type { TensorMap } from "../../../src/reference/tensor.js";
import { expertName, tensor, tinyMoe } from "../../support/moe.js";
import { execFileSync } from "node:child_process";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { fuseCheckpoint } from "../../../src/reference/prefuse/fuse-checkpoint.js";
import { Checkpoint } from "../../../src/reference/checkpoint.js";
import { memoryWeights } from "../../../src/reference/weights.js";
import { join } from "node:path";
import { tempDir } from "../../support/tmp.js";

const P = "model.layers.0.mlp";
const layer = (plan: ReturnType<typeof planPrefuse>, prefix: string) => plan.layers.find((l) => l.prefix === prefix)!;

describe("plan over the registry", () => {
  it("finds w1/w3/w2 experts under an unknown model_type, with the default rules said in a warning", () => {
    const w = tinyMoe({ prefixes: ["model.layers.0.block_sparse_moe"], E: 2, I: 1, H: 2, names: ["w1", "w3", "w2"] });
    const plan = planPrefuse(w, { model_type: "brand_new_moe", num_local_experts: 2 });
    expect(layer(plan, "model.layers.0.block_sparse_moe")).toMatchObject({ state: "fused", code: "PER_EXPERT_COMPLETE" });
    expect(plan.outputs.map((o) => o.name)).toEqual([
      "model.layers.0.block_sparse_moe.experts.gate_up_proj",
      "model.layers.0.block_sparse_moe.experts.down_proj",
    ]);
    expect(plan.warnings.join("\n")).toMatch(/model_type 'brand_new_moe' is not in the layout registry: assumed the default rules/);
  });

  it("selects aliases: minimax_m2 is minimax, its w1/w3/w2 fused under transformers v5's mlp", () => {
    const w = tinyMoe({ prefixes: ["model.layers.0.block_sparse_moe"], E: 2, I: 1, H: 2, names: ["w1", "w3", "w2"] });
    const plan = planPrefuse(w, { model_type: "minimax_m2", num_local_experts: 2 });
    expect(plan.layout).toBe("minimax");
    expect(plan.outputs.map((o) => o.name)).toEqual(["model.layers.0.mlp.experts.gate_up_proj", "model.layers.0.mlp.experts.down_proj"]);
    expect(plan.warnings).toEqual([]);
  });

  it("reads moe_num_experts (ernie4_5_moe) after oQ's keys, and nested family paths (dbrx)", () => {
    const w = tinyMoe({ prefixes: [P], E: 3, I: 1, H: 1 });
    expect(planPrefuse(w, { model_type: "ernie4_5_moe", moe_num_experts: 3 }).expertCount).toMatchObject({ count: 3, key: "moe_num_experts" });
    expect(planPrefuse(w, { model_type: "ernie4_5_moe", moe_num_experts: 3, num_experts: 2 }).expertCount).toMatchObject({ count: 2, key: "num_experts" });
    expect(planPrefuse(new Map(), { model_type: "dbrx", ffn_config: { moe_num_experts: 16 } }).expertCount).toMatchObject({
      count: 16,
      key: "ffn_config.moe_num_experts",
    });
  });

  it("counts each qwen3_omni_moe sub-model from its own config path", () => {
    const w: TensorMap = new Map([
      ...tinyMoe({ prefixes: ["thinker.model.layers.0.mlp"], E: 3, I: 1, H: 1 }),
      ...tinyMoe({ prefixes: ["talker.model.layers.0.mlp"], E: 2, I: 1, H: 1 }),
    ]);
    const config = { model_type: "qwen3_omni_moe", thinker_config: { text_config: { num_experts: 3 } }, talker_config: { text_config: { num_experts: 2 } } };
    const plan = planPrefuse(w, config, { target: "switch_mlp" });
    expect(plan.subModelCounts.map((s) => [s.prefix, s.count?.count, s.count?.key])).toEqual([
      ["thinker.", 3, "thinker_config.text_config.num_experts"],
      ["talker.", 2, "talker_config.text_config.num_experts"],
    ]);
    expect(plan.layers.map((l) => [l.prefix, l.state])).toEqual([
      ["talker.model.layers.0.mlp", "fused"],
      ["thinker.model.layers.0.mlp", "fused"],
    ]);
    expect(plan.outputs.find((o) => o.name === "talker.model.layers.0.mlp.switch_mlp.up_proj.weight")?.shape).toEqual([2, 1, 1]);
  });

  it("records packed INT4 experts (compressed-tensors) as PACKED_QUANTIZED, not as missing tensors", () => {
    const w: TensorMap = new Map();
    for (let e = 0; e < 2; e++) {
      for (const p of ["gate_proj", "up_proj", "down_proj"]) {
        w.set(expertName(P, e, p, "weight_packed"), tensor("a", "I32", [4, 1]));
        w.set(expertName(P, e, p, "weight_scale"), tensor("b", "BF16", [4, 1]));
        w.set(expertName(P, e, p, "weight_shape"), tensor("c", "I32", [2]));
      }
    }
    const l = layer(planPrefuse(w, { model_type: "kimi_k2", n_routed_experts: 2 }), P);
    expect(l).toMatchObject({ state: "untouched", code: "PACKED_QUANTIZED" });
  });

  it("records gpt-oss's BF16 interleaved fused tensors as INTERLEAVED in the switch target and as already fused in the fused target", () => {
    const w: TensorMap = new Map([
      [`${P}.experts.gate_up_proj`, tensor("a", "BF16", [4, 2, 4])],
      [`${P}.experts.gate_up_proj_bias`, tensor("c", "BF16", [4, 4])],
      [`${P}.experts.down_proj`, tensor("d", "BF16", [4, 2, 2])],
      [`${P}.experts.down_proj_bias`, tensor("f", "BF16", [4, 2])],
    ]);
    const config = { model_type: "gpt_oss", num_local_experts: 4 };
    expect(layer(planPrefuse(w, config, { target: "switch_mlp" }), P)).toMatchObject({ state: "untouched", code: "INTERLEAVED" });
    expect(layer(planPrefuse(w, config, { target: "fused" }), P)).toMatchObject({ state: "already-fused", code: "ALREADY_FUSED" });
  });

  it("records stacks under other names and unrecognized expert tensors, never 'no expert tensors'", () => {
    const w: TensorMap = new Map([
      ["model.layers.0.block_sparse_moe.input_linear.weight", tensor("a", "BF16", [4, 2, 2])],
      ["model.layers.0.block_sparse_moe.output_linear.weight", tensor("b", "BF16", [4, 2, 1])],
      ["model.layers.1.mlp.experts.0.linear_fc1.weight", tensor("c", "BF16", [2, 2])],
    ]);
    const plan = planPrefuse(w, { model_type: "granitemoe", num_local_experts: 4 });
    expect(plan.layers.map((l) => [l.prefix, l.state, l.code])).toEqual([
      ["model.layers.0.block_sparse_moe", "already-fused", "STACKED_OTHER_NAME"],
      ["model.layers.1.mlp", "untouched", "UNRECOGNIZED_EXPERTS"],
    ]);
  });

  it("stacks nemotron_h's up and down into switch_mlp.fc1 / fc2, and leaves them in the fused target (NON_GATED)", () => {
    const w = tinyMoe({ prefixes: ["backbone.layers.0.mixer"], E: 2, I: 1, H: 2 });
    for (let e = 0; e < 2; e++) w.delete(expertName("backbone.layers.0.mixer", e, "gate_proj"));
    const config = { model_type: "nemotron_h", n_routed_experts: 2 };
    const sw = planPrefuse(w, config, { target: "switch_mlp" });
    expect(sw.outputs.map((o) => [o.name, o.shape])).toEqual([
      ["backbone.layers.0.mixer.switch_mlp.fc1.weight", [2, 1, 2]],
      ["backbone.layers.0.mixer.switch_mlp.fc2.weight", [2, 2, 1]],
    ]);
    expect(layer(planPrefuse(w, config), "backbone.layers.0.mixer")).toMatchObject({ state: "untouched", code: "NON_GATED" });
    // Elsewhere a layer without gates is damaged, each missing gate named.
    const q = planPrefuse(w, { model_type: "qwen3_moe", num_experts: 2 });
    expect(layer(q, "backbone.layers.0.mixer")).toMatchObject({ state: "untouched", code: "MISSING_TENSOR" });
  });

  it("writes each MLX loader's own switch names: dots1 mlp.experts, gemma4 experts.switch_glu, kimi_linear moved to mlp", () => {
    const names = (model_type: string, prefix: string) =>
      planPrefuse(
        tinyMoe({ prefixes: [prefix], E: 2, I: 1, H: 1, names: model_type === "kimi_linear" ? ["w1", "w3", "w2"] : undefined }),
        { model_type, num_experts: 2, n_routed_experts: 2 },
        { target: "switch_mlp" },
      ).outputs.map((o) => o.name);
    expect(names("dots1", P)[0]).toBe("model.layers.0.mlp.experts.gate_proj.weight");
    expect(names("gemma4", "model.language_model.layers.0")[0]).toBe("model.language_model.layers.0.experts.switch_glu.gate_proj.weight");
    expect(names("kimi_linear", "model.layers.0.block_sparse_moe")[0]).toBe("model.layers.0.mlp.switch_mlp.gate_proj.weight");
  });
});

describe("plan over the registry: odd real layouts", () => {
  it("groups JetMoE's attention experts with their module, and names a stray tensor beside them", () => {
    const w: TensorMap = new Map([
      ["model.layers.0.self_attention.experts.input_linear.weight", tensor("a", "BF16", [4, 2, 2])],
      ["model.layers.0.self_attention.experts.output_linear.weight", tensor("b", "BF16", [4, 2, 2])],
      ["model.layers.0.self_attention.experts.bias", tensor("c", "BF16", [2])],
    ]);
    const plan = planPrefuse(w, { model_type: "jetmoe", num_local_experts: 4 });
    expect(plan.layers.map((l) => [l.prefix, l.state, l.code])).toEqual([["model.layers.0.self_attention", "already-fused", "STACKED_OTHER_NAME"]]);
    expect(plan.warnings.join("\n")).toContain("1 expert tensor(s) of no known form pass through (e.g. model.layers.0.self_attention.experts.bias)");
  });
});

/** mlx-lm gpt_oss.py's sanitize of the MXFP4 release, stated in numpy (python3): the oracle of the switch target's split. */
const NUMPY_GPT_OSS = `
import json, sys
import numpy as np
d = json.load(sys.stdin)
E, I2, G, H, Gd = d["E"], d["twoI"], d["G"], d["H"], d["Gd"]
b = lambda k: np.frombuffer(bytes.fromhex(d[k]), dtype=np.uint8)
gu = b("gub").reshape(E, I2, G, 16).view("<u4").reshape(E, I2, 4 * G)
gs = b("gus").reshape(E, I2, G)
bias = b("gubias").reshape(E, I2, 2)  # BF16 elements as byte pairs
dn = b("db").reshape(E, H, Gd, 16).view("<u4").reshape(E, H, 4 * Gd)
out = {"gate_proj.weight": gu[:, ::2, :], "up_proj.weight": gu[:, 1::2, :], "gate_proj.scales": gs[:, ::2], "up_proj.scales": gs[:, 1::2],
       "gate_proj.bias": bias[:, ::2], "up_proj.bias": bias[:, 1::2], "down_proj.weight": dn}
print(json.dumps({k: [list(v.shape), np.ascontiguousarray(v).tobytes().hex()] for k, v in out.items()}))
`;

describe("gpt-oss MXFP4 to the switch target", () => {
  it("splits the interleaved blocks, scales and biases as mlx-lm's gpt_oss sanitize does (numpy oracle), in memory and streamed", async () => {
    const [E, twoI, G, H, Gd] = [3, 6, 2, 4, 1];
    const w: TensorMap = new Map([
      [`${P}.experts.gate_up_proj_blocks`, tensor("a", "U8", [E, twoI, G, 16])],
      [`${P}.experts.gate_up_proj_scales`, tensor("b", "U8", [E, twoI, G])],
      [`${P}.experts.gate_up_proj_bias`, tensor("c", "BF16", [E, twoI])],
      [`${P}.experts.down_proj_blocks`, tensor("d", "U8", [E, H, Gd, 16])],
      [`${P}.experts.down_proj_scales`, tensor("e", "U8", [E, H, Gd])],
      [`${P}.experts.down_proj_bias`, tensor("f", "BF16", [E, H])],
      [`${P}.router.weight`, tensor("r", "BF16", [E, H])],
    ]);
    const config = { model_type: "gpt_oss", num_local_experts: E };
    const hex = (n: string) => Buffer.from(w.get(`${P}.experts.${n}`)!.data).toString("hex");
    const input = JSON.stringify({
      E,
      twoI,
      G,
      H,
      Gd,
      gub: hex("gate_up_proj_blocks"),
      gus: hex("gate_up_proj_scales"),
      gubias: hex("gate_up_proj_bias"),
      db: hex("down_proj_blocks"),
    });
    const oracle = JSON.parse(execFileSync("python3", ["-c", NUMPY_GPT_OSS], { input, encoding: "utf8" })) as Record<string, [number[], string]>;

    const { weights, plan } = await prefuse(w, config, { target: "switch_mlp", chunk: 2 });
    expect(layer(plan, P)).toMatchObject({ state: "fused", code: "SPLIT_FUSED" });
    for (const [leaf, [shape, bytes]] of Object.entries(oracle)) {
      const t = weights.get(`${P}.experts.${leaf}`);
      // (numpy carries the BF16 bias as byte pairs: its last axis of 2 is the element.)
      expect(t?.shape, leaf).toEqual(leaf.endsWith(".bias") ? shape.slice(0, 2) : shape);
      expect(Buffer.from(t!.data).toString("hex"), leaf).toBe(bytes);
    }
    expect(weights.get(`${P}.experts.gate_proj.weight`)?.dtype).toBe("U32");
    expect(weights.get(`${P}.experts.down_proj.scales`)?.data).toEqual(w.get(`${P}.experts.down_proj_scales`)!.data);
    expect(weights.get(`${P}.experts.down_proj.bias`)?.data).toEqual(w.get(`${P}.experts.down_proj_bias`)!.data);
    expect([...weights.keys()].some((n) => n.includes("_blocks") || n.includes("_scales") || n.endsWith("_bias"))).toBe(false);

    // Streamed to disk, a step of one expert at a time: the same bytes.
    const out = join(tempDir(), "out");
    await fuseCheckpoint(memoryWeights(w), config, out, { target: "switch_mlp", chunk: 1 });
    const ck = await Checkpoint.open(out);
    try {
      for (const [n, t] of weights) expect(Buffer.from((await ck.read(n)).data).equals(Buffer.from(t.data)), n).toBe(true);
    } finally {
      await ck.close();
    }
  });
});
