import { describe, expect, it } from "vitest";
import { CheckpointError } from "../../../src/reference/errors.js";
import { COUNT_KEY_PRECEDENCE } from "../../support/contract.js";
import { EXPERT_COUNT_KEYS, type ExpertCountKey, OQ_EXPERT_COUNT_KEYS, resolveExpertCount } from "../../../src/reference/prefuse/expert-count.js";

/** A config holding `values` at dotted keys. */
function configWith(values: Partial<Record<ExpertCountKey, unknown>>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const config: Record<string, unknown> = { ...extra };
  for (const [key, v] of Object.entries(values)) {
    if (key.startsWith("text_config.")) {
      config.text_config ??= {};
      const tc = config.text_config as Record<string, unknown>;
      tc[key.slice("text_config.".length)] = v;
    } else config[key] = v;
  }
  return config;
}

describe("resolveExpertCount", () => {
  it("is undefined for a dense config", () => {
    expect(resolveExpertCount({ model_type: "llama", hidden_size: 8 })).toBeUndefined();
    expect(resolveExpertCount({ num_experts: null, text_config: { num_experts: null } })).toBeUndefined();
  });

  it.each(EXPERT_COUNT_KEYS.map((k) => [k]))("reads %s", (key) => {
    expect(resolveExpertCount(configWith({ [key]: 12 }))).toEqual({ count: 12, key, warnings: [] });
  });

  it("follows oQ's order: num_local_experts, text_config.num_local_experts, num_experts, text_config.num_experts, then n_routed_experts", () => {
    expect(EXPERT_COUNT_KEYS).toEqual(COUNT_KEY_PRECEDENCE);
    const r = resolveExpertCount(configWith({ num_experts: 4, "text_config.num_local_experts": 8 }));
    expect(r?.count).toBe(8);
    expect(r?.key).toBe("text_config.num_local_experts");
    expect(r?.warnings).toEqual([
      "config.json: 'num_experts' = 4 disagrees with 'text_config.num_local_experts' = 8; using 8 (the first key in precedence order)",
    ]);
  });

  it("reads a family's own nested paths only after the global chain", () => {
    const dbrx = { model_type: "dbrx", ffn_config: { moe_num_experts: 16 } };
    expect(resolveExpertCount(dbrx)).toBeUndefined();
    expect(resolveExpertCount(dbrx, "config.json", ["ffn_config.moe_num_experts"])).toEqual({ count: 16, key: "ffn_config.moe_num_experts", warnings: [] });
    const both = { num_local_experts: 8, ffn_config: { moe_num_experts: 16 } };
    expect(resolveExpertCount(both, "config.json", ["ffn_config.moe_num_experts"])).toMatchObject({ count: 8, key: "num_local_experts" });
    expect(() => resolveExpertCount({ ffn_config: { moe_num_experts: "16" } }, "config.json", ["ffn_config.moe_num_experts"])).toThrow(CheckpointError);
  });

  it("follows a CountLookup: its order and its 0 rule for the chain, its ignored keys even among a family's own paths", () => {
    const deepseek = { model_type: "deepseek_v3", n_routed_experts: 18, text_config: { num_experts: 0 } };
    const lookup = { keys: OQ_EXPERT_COUNT_KEYS, zero: "skip" as const, ignored: ["n_routed_experts", "text_config.n_routed_experts"] };
    expect(() => resolveExpertCount(deepseek, "config.json", ["n_routed_experts"])).toThrow(/'text_config.num_experts'/);
    expect(resolveExpertCount(deepseek, "config.json", ["n_routed_experts"], { ...lookup, ignored: [] })).toMatchObject({ count: 18, key: "n_routed_experts" });
    expect(resolveExpertCount(deepseek, "config.json", ["n_routed_experts"], lookup)).toBeUndefined();
    expect(resolveExpertCount(deepseek, "config.json", [], { ...lookup, zero: "stop" })).toMatchObject({ count: 0, key: "text_config.num_experts" });
    const both = { num_experts: 4, text_config: { num_local_experts: 8 } };
    expect(resolveExpertCount(both, "config.json", [], { keys: ["num_experts", "text_config.num_local_experts"], zero: "refuse" })).toMatchObject({
      count: 4,
      key: "num_experts",
    });
  });

  it("stays silent when several locations agree", () => {
    expect(resolveExpertCount(configWith({ num_experts: 16, "text_config.num_experts": 16 }))).toEqual({ count: 16, key: "num_experts", warnings: [] });
  });

  it("ignores a text_config that is not an object", () => {
    expect(resolveExpertCount({ text_config: "x", num_experts: 3 })?.key).toBe("num_experts");
  });

  it.each([0, -1, 1.5, "8", true, [8], { n: 8 }])("rejects %j as an expert count, naming the file and the key", (bad) => {
    const run = () => resolveExpertCount(configWith({ "text_config.num_experts": bad }), "/ckpt/config.json");
    expect(run).toThrow(CheckpointError);
    expect(run).toThrow(`/ckpt/config.json: 'text_config.num_experts' must be a positive integer expert count, got ${JSON.stringify(bad)}`);
  });

  it("rejects a bad value even where a valid key comes first", () => {
    expect(() => resolveExpertCount(configWith({ num_local_experts: 8, n_routed_experts: -2 }))).toThrow(/'n_routed_experts'/);
  });
});
