import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DType } from "../../../src/reference/dtypes.js";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { type Tensor, type TensorMap, bytesEqual } from "../../../src/reference/tensor.js";
import { fcParams } from "../../support/fc.js";
import { shuffled, weightsDifference } from "../../support/weights.js";
import { expertName, tensor, tinyMoe } from "../../support/moe.js";
import { oracleGateUpColumns, oracleGateUpRows, oracleStack } from "../../support/oracle.js";

const P = "model.layers.0.mlp";

function experts(w: TensorMap, prefix: string, proj: string, E: number): Tensor[] {
  return Array.from({ length: E }, (_, e) => w.get(expertName(prefix, e, proj))!);
}

function expectSame(a: Tensor | undefined, b: Tensor): void {
  expect(a).toBeDefined();
  expect(a!.dtype).toBe(b.dtype);
  expect(a!.shape).toEqual(b.shape);
  expect(bytesEqual(a!.data, b.data)).toBe(true);
}

/** Expert e of a stacked [E, ...] tensor. */
function slice(t: Tensor, e: number): Uint8Array {
  const n = t.data.length / t.shape[0]!;
  return t.data.subarray(e * n, (e + 1) * n);
}

describe("prefuse (in memory)", () => {
  it("writes gate rows then up rows per expert, experts in numeric order, down stacked", async () => {
    const E = 12;
    const w = tinyMoe({ prefixes: [P], E, I: 2, H: 3 });
    const { weights, plan } = await prefuse(w, { num_experts: E });
    expect(plan.layers[0]!.state).toBe("fused");
    expectSame(weights.get(`${P}.experts.gate_up_proj`), oracleGateUpRows(experts(w, P, "gate_proj", E), experts(w, P, "up_proj", E), 2, 3));
    expectSame(weights.get(`${P}.experts.down_proj`), oracleStack(experts(w, P, "down_proj", E)));
    expect([...weights.keys()].filter((k) => k.includes(".experts.")).sort()).toEqual([`${P}.experts.down_proj`, `${P}.experts.gate_up_proj`]);
    // Every other tensor is the very same object, and the input dict is unchanged.
    for (const k of ["model.embed_tokens.weight", "model.norm.weight", `${P}.gate.weight`]) expect(weights.get(k)).toBe(w.get(k));
    expect(w.size).toBe(2 + 1 + 3 * E);
  });

  it("property: any chunk size (seams, E < chunk, E > 10) and any tensor order give the oracle's bytes", async () => {
    const arb = fc.record({
      E: fc.integer({ min: 1, max: 40 }),
      I: fc.integer({ min: 1, max: 3 }),
      H: fc.integer({ min: 1, max: 4 }),
      dtype: fc.constantFrom<DType>("BF16", "F32", "F8_E4M3", "F64", "U8"),
      chunk: fc.integer({ min: 1, max: 45 }),
      order: fc.nat(),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ E, I, H, dtype, chunk, order }) => {
        const w = tinyMoe({ prefixes: [P, "mtp.layers.0.mlp"], E, I, H, dtype });
        const { weights } = await prefuse(shuffled(w, order), { num_experts: E }, { chunk });
        for (const p of [P, "mtp.layers.0.mlp"]) {
          expectSame(weights.get(`${p}.experts.gate_up_proj`), oracleGateUpRows(experts(w, p, "gate_proj", E), experts(w, p, "up_proj", E), I, H));
          expectSame(weights.get(`${p}.experts.down_proj`), oracleStack(experts(w, p, "down_proj", E)));
        }
      }),
      fcParams(),
    );
  });

  it("switch_mlp target equals fused-then-split for llama4 too (its switch module is `experts`; the generator has no llama4 family)", async () => {
    const E = 17;
    const w = tinyMoe({ prefixes: [P], E, I: 2, H: 3 });
    const config = { model_type: "llama4", num_local_experts: E };
    const direct = await prefuse(w, config, { target: "switch_mlp" });
    const viaFused = await prefuse((await prefuse(w, config)).weights, config, { target: "switch_mlp" });
    expect(viaFused.plan.layers[0]).toMatchObject({ state: "fused", source: "fused" });
    expect(weightsDifference(direct.weights, viaFused.weights)).toBeUndefined();
    expectSame(direct.weights.get(`${P}.experts.gate_proj.weight`), oracleStack(experts(w, P, "gate_proj", E)));
    expectSame(direct.weights.get(`${P}.experts.up_proj.weight`), oracleStack(experts(w, P, "up_proj", E)));
    expectSame(direct.weights.get(`${P}.experts.down_proj.weight`), oracleStack(experts(w, P, "down_proj", E)));
  });

  it("writes the transposed fused layout for qwen3_vl_moe: gate_up [E, H, 2I], down [E, I, H]", async () => {
    const E = 3;
    const w = tinyMoe({ prefixes: [P], E, I: 2, H: 5 });
    const { weights } = await prefuse(w, { model_type: "qwen3_vl_moe", text_config: { num_experts: E } }, { chunk: 2 });
    expectSame(weights.get(`${P}.experts.gate_up_proj`), oracleGateUpColumns(experts(w, P, "gate_proj", E), experts(w, P, "up_proj", E), 2, 5));
    expectSame(weights.get(`${P}.experts.down_proj`), oracleStack(experts(w, P, "down_proj", E), true));
  });

  it("fuses mixtral's w1 (gate) then w3 (up) under transformers v5's mlp.experts names", async () => {
    const E = 4;
    const src = "model.layers.0.block_sparse_moe";
    const w = tinyMoe({ prefixes: [src], E, I: 2, H: 2, names: ["w1", "w3", "w2"] });
    const { weights } = await prefuse(w, { model_type: "mixtral", num_local_experts: E });
    expectSame(weights.get("model.layers.0.mlp.experts.gate_up_proj"), oracleGateUpRows(experts(w, src, "w1", E), experts(w, src, "w3", E), 2, 2));
    expectSame(weights.get("model.layers.0.mlp.experts.down_proj"), oracleStack(experts(w, src, "w2", E)));
    const sw = await prefuse(w, { model_type: "mixtral", num_local_experts: E }, { target: "switch_mlp" });
    expectSame(sw.weights.get(`${src}.switch_mlp.up_proj.weight`), oracleStack(experts(w, src, "w3", E)));
  });

  it("switch_mlp target stacks MLX .scales and .biases with the packed weights", async () => {
    const E = 5;
    const w: TensorMap = new Map();
    for (let e = 0; e < E; e++) {
      for (const [proj, rows, cols] of [
        ["gate_proj", 4, 2],
        ["up_proj", 4, 2],
        ["down_proj", 8, 1],
      ] as const) {
        w.set(expertName(P, e, proj), tensor(`${e}${proj}`, "U32", [rows, cols]));
        for (const kind of ["scales", "biases"]) w.set(expertName(P, e, proj, kind), tensor(`${e}${proj}${kind}`, "BF16", [rows, 1]));
      }
    }
    const { weights, plan } = await prefuse(w, { num_experts: E }, { target: "switch_mlp", chunk: 2 });
    expect(plan.layers[0]!.state).toBe("fused");
    expect(weights.size).toBe(9);
    for (const proj of ["gate_proj", "up_proj", "down_proj"]) {
      for (const kind of ["weight", "scales", "biases"]) {
        const out = weights.get(`${P}.switch_mlp.${proj}.${kind}`)!;
        for (let e = 0; e < E; e++) expect(bytesEqual(slice(out, e), w.get(expertName(P, e, proj, kind))!.data)).toBe(true);
      }
    }
  });

  it("names an in-memory tensor whose bytes do not match its shape", async () => {
    const w = tinyMoe({ prefixes: [P], E: 2, I: 1, H: 2 });
    const name = expertName(P, 1, "up_proj");
    w.set(name, { ...w.get(name)!, data: new Uint8Array(3) });
    await expect(prefuse(w, { num_experts: 2 })).rejects.toThrow(`<memory>: tensor '${name}': BF16 [1, 2] needs 4 bytes, the tensor holds 3`);
  });

  it("rejects a chunk size that is not a positive integer", async () => {
    const w = tinyMoe({ prefixes: [P], E: 1, I: 1, H: 1 });
    for (const chunk of [0, -1, 1.5]) await expect(prefuse(w, { num_experts: 1 }, { chunk })).rejects.toThrow(/chunk size/);
  });
});
