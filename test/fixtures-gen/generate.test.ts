import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Checkpoint } from "../../src/reference/checkpoint.js";
import { UsageError } from "../../src/reference/errors.js";
import { serializeSafetensors } from "../../src/reference/safetensors/memory.js";
import type { Tensor } from "../../src/reference/tensor.js";
import { FAMILY_NAMES, type FamilyName, family } from "../../src/fixtures-gen/families.js";
import { decodeArray, encodeArray } from "../../src/fixtures-gen/float-codec.js";
import { MIN_SPECIAL_ELEMENTS, SPECIAL_VALUES, encodeScales, quantizeBlocks, withSpecialValues } from "../../src/fixtures-gen/fp8-quantize.js";
import { type GeneratedCheckpoint, generateCheckpoint, writeGeneratedCheckpoint } from "../../src/fixtures-gen/generate.js";
import { countKeysOf, describeMoeLayers } from "../../src/fixtures-gen/moe-structure.js";
import type { FixtureSpec } from "../../src/fixtures-gen/spec.js";
import type { Variant } from "../../src/fixtures-gen/variants.js";
import { tempDir } from "../support/tmp.js";
import { fusedPrefixOf } from "../support/moe-names.js";
import { configPath } from "../../src/reference/config-path.js";

const SMALL = { seed: 3, experts: 5, hidden: 12, intermediate: 5 } as const;
const [E, H, I] = [SMALL.experts, SMALL.hidden, SMALL.intermediate];

function gen(name: FamilyName, extra: Partial<FixtureSpec> = {}): GeneratedCheckpoint {
  return generateCheckpoint({ family: name, ...SMALL, ...extra });
}

const bytes = (t: Tensor | undefined) => Buffer.from(t!.data);

function two(root: string, block: string): string[] {
  return [0, 1].map((i) => `${root}.${i}.${block}`);
}

/** The MoE module prefixes each family puts its experts under, per expert (small specs). */
const MOE_PREFIXES: Record<FamilyName, string[]> = {
  qwen3_5_moe: [0, 1, 2, 3].map((i) => `model.language_model.layers.${i}.mlp`).concat("mtp.layers.0.mlp"),
  qwen3_5_moe_fp8: [0, 1, 2, 3].map((i) => `model.language_model.layers.${i}.mlp`).concat("mtp.layers.0.mlp"),
  qwen3_moe: ["model.layers.1.mlp"],
  qwen3_vl_moe: ["model.language_model.layers.0.mlp", "model.language_model.layers.1.mlp"],
  mixtral: ["model.layers.0.block_sparse_moe", "model.layers.1.block_sparse_moe"],
  deepseek_v3: ["model.layers.1.mlp"],
  olmoe: ["model.layers.0.mlp", "model.layers.1.mlp"],
  phimoe: two("model.layers", "block_sparse_moe"),
  minimax: two("model.layers", "block_sparse_moe"),
  kimi_linear: two("model.layers", "block_sparse_moe"),
  lfm2_moe: two("model.layers", "feed_forward"),
  arctic: two("model.layers", "block_sparse_moe"),
  qwen2_moe: two("model.layers", "mlp"),
  qwen3_next: two("model.layers", "mlp"),
  hunyuan_v1_moe: two("model.layers", "mlp"),
  bailing_moe: two("model.layers", "mlp"),
  deepseek_v2: two("model.layers", "mlp"),
  glm4_moe: two("model.layers", "mlp"),
  glm4v_moe: two("model.language_model.layers", "mlp"),
  ernie4_5_moe: two("model.layers", "mlp"),
  dots1: two("model.layers", "mlp"),
  afmoe: two("model.layers", "mlp"),
  qwen3_omni_moe: two("thinker.model.layers", "mlp"),
  gemma4: ["model.language_model.layers.0", "model.language_model.layers.1"],
  llama4: two("language_model.model.layers", "feed_forward"),
  gpt_oss: two("model.layers", "mlp"),
  nemotron_h: two("backbone.layers", "mixer"),
  granitemoe: two("model.layers", "block_sparse_moe"),
  jetmoe: two("model.layers", "mlp"),
  dbrx: two("transformer.blocks", "ffn"),
  step3p5: two("model.layers", "moe"),
};

/** Families whose experts are stacked under their own names: no per-expert form. */
const STACKED: readonly FamilyName[] = FAMILY_NAMES.filter((n) => family(n).moe.stacked !== "fused");

/** Names that differ between two checkpoints: only in a, only in b, and present in both with other bytes/spec. */
function diff(a: GeneratedCheckpoint, b: GeneratedCheckpoint): { removed: string[]; added: string[]; changed: string[] } {
  const removed = [...a.tensors.keys()].filter((n) => !b.tensors.has(n));
  const added = [...b.tensors.keys()].filter((n) => !a.tensors.has(n));
  const changed = [...a.tensors.keys()].filter((n) => {
    const x = a.tensors.get(n)!;
    const y = b.tensors.get(n);
    return y !== undefined && (x.dtype !== y.dtype || x.shape.join() !== y.shape.join() || !bytes(x).equals(bytes(y)));
  });
  return { removed, added, changed };
}

describe("generated checkpoints of every family", () => {
  it.each(FAMILY_NAMES)("%s: loads in the reference reader, sharded on disk exactly as in memory", async (name) => {
    const spec: FixtureSpec = { family: name, ...SMALL, shards: 3 };
    const g = generateCheckpoint(spec);
    const dir = join(tempDir(), "ckpt");
    const written = await writeGeneratedCheckpoint(dir, spec);
    expect(readdirSync(dir).filter((f) => f.endsWith(".safetensors"))).toHaveLength(3);
    expect(written.totalSize).toBe([...g.tensors.values()].reduce((a, t) => a + t.data.length, 0));
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8"))).toEqual(g.config);
    const ckpt = await Checkpoint.open(dir);
    try {
      expect(ckpt.metadata).toEqual({ format: "pt" });
      expect([...ckpt.tensors.keys()].sort()).toEqual([...g.tensors.keys()].sort());
      for (const [n, t] of g.tensors) {
        const r = await ckpt.read(n);
        expect([r.dtype, r.shape], n).toEqual([t.dtype, t.shape]);
        expect(bytes(r).equals(bytes(t)), n).toBe(true);
      }
    } finally {
      await ckpt.close();
    }
  });

  it.each(FAMILY_NAMES)("%s: tensor shapes agree with the config, experts per expert at the family's keys", (name) => {
    const def = family(name);
    const g = gen(name);
    const c = g.config as Record<string, unknown>;
    const text = (def.textModelType === undefined ? c : configPath(c, def.textConfigPath ?? "text_config")) as Record<string, unknown>;
    expect(c.model_type).toBe(def.modelType);
    expect(text.model_type).toBe(def.textModelType ?? def.modelType);
    expect(text.hidden_size).toBe(12);
    expect(text[def.intermediateKey]).toBe(I);
    expect(countKeysOf(g.config, [def.countKey])).toEqual([{ key: def.countKey, value: 5 }]);
    expect(g.tensors.get(`${def.textPrefix}embed_tokens.weight`)!.shape).toEqual([text.vocab_size, 12]);
    expect(g.tensors.get("lm_head.weight")!.shape).toEqual([text.vocab_size, 12]);
    const layers = describeMoeLayers(g.tensors);
    expect(layers.map((l) => l.prefix)).toEqual(MOE_PREFIXES[name]);
    const p = def.moe.projections;
    for (const l of layers) {
      if (STACKED.includes(name)) {
        expect(l.layout).toBe("stacked-other");
        continue;
      }
      const projections = def.moe.gated ? [p.gate, p.up, p.down] : [p.up, p.down];
      expect(l).toMatchObject({ layout: "per-expert", experts: [0, 1, 2, 3, 4], projections: projections.sort() });
      expect(l.dtypes).toEqual([def.fp8.byDefault ? "F8_E4M3" : def.dtype]);
      if (def.moe.gated) expect(g.tensors.get(`${l.prefix}.experts.4.${p.gate}.weight`)!.shape).toEqual([I, H]);
      expect(g.tensors.get(`${l.prefix}.experts.4.${p.up}.weight`)!.shape).toEqual([I, H]);
      expect(g.tensors.get(`${l.prefix}.experts.4.${p.down}.weight`)!.shape).toEqual([H, I]);
      expect(g.tensors.get(`${l.prefix}.gate.weight`)!.shape).toEqual([5, 12]);
    }
    // Every float value is finite.
    for (const [n, t] of g.tensors) {
      if (t.dtype === "BF16" || t.dtype === "F16" || t.dtype === "F32") expect(decodeArray(t.dtype, t.data).every(Number.isFinite), n).toBe(true);
    }
  });

  it("qwen3_5_moe has the real checkpoint's hybrid attention, shared expert and MTP tensors", () => {
    const g = gen("qwen3_5_moe");
    const names = [...g.tensors.keys()];
    const t = (n: string) => g.tensors.get(n)?.shape;
    expect((g.config.text_config as { layer_types: string[] }).layer_types).toEqual([
      "linear_attention",
      "linear_attention",
      "linear_attention",
      "full_attention",
    ]);
    expect(t("model.language_model.layers.0.linear_attn.in_proj_qkv.weight")).toEqual([512, 12]);
    expect(t("model.language_model.layers.0.linear_attn.conv1d.weight")).toEqual([512, 1, 4]);
    expect(t("model.language_model.layers.0.linear_attn.A_log")).toEqual([8]);
    expect(t("model.language_model.layers.3.self_attn.q_proj.weight")).toEqual([512, 12]);
    expect(names.some((n) => n.startsWith("model.language_model.layers.3.linear_attn"))).toBe(false);
    expect(t("model.language_model.layers.2.mlp.shared_expert.gate_proj.weight")).toEqual([I, H]);
    expect(t("model.language_model.layers.2.mlp.shared_expert_gate.weight")).toEqual([1, 12]);
    expect(t("mtp.fc.weight")).toEqual([12, 24]);
    expect(t("mtp.layers.0.self_attn.q_proj.weight")).toEqual([512, 12]);
    expect(names.some((n) => n.startsWith("model.visual.blocks.0."))).toBe(true);
  });
});

describe("variants", () => {
  const FUSABLE = FAMILY_NAMES.filter(
    (n) => n !== "qwen3_5_moe_fp8" && family(n).moe.stacked === "fused" && family(n).moe.gated && family(n).moe.fusedStyle !== "interleaved",
  );
  it.each(FUSABLE)("%s fused: each expert's gate rows then up rows, as transformers fuses them", (name) => {
    const def = family(name);
    const perExpert = gen(name);
    const fused = gen(name, { variants: [{ kind: "fused" }] });
    const p = def.moe.projections;
    const layers = describeMoeLayers(fused.tensors);
    expect(layers).toHaveLength(MOE_PREFIXES[name].length);
    for (const [k, l] of layers.entries()) {
      const blockPrefix = MOE_PREFIXES[name][k]!;
      expect(l.prefix).toBe(fusedPrefixOf(name, blockPrefix));
      const transposed = def.moe.fusedStyle === "columns";
      expect(l.layout).toBe(transposed ? "fused-transposed" : "fused");
      const gateUp = fused.tensors.get(`${l.prefix}.experts.gate_up_proj`)!;
      const down = fused.tensors.get(`${l.prefix}.experts.down_proj`)!;
      expect(gateUp.shape).toEqual(transposed ? [E, H, 2 * I] : [E, 2 * I, H]);
      expect(down.shape).toEqual(transposed ? [E, I, H] : [E, H, I]);
      for (let e = 0; e < E; e++) {
        const gate = decodeArray(def.dtype, perExpert.tensors.get(`${blockPrefix}.experts.${e}.${p.gate}.weight`)!.data);
        const up = decodeArray(def.dtype, perExpert.tensors.get(`${blockPrefix}.experts.${e}.${p.up}.weight`)!.data);
        const dn = decodeArray(def.dtype, perExpert.tensors.get(`${blockPrefix}.experts.${e}.${p.down}.weight`)!.data);
        const gu = decodeArray(def.dtype, gateUp.data).subarray(e * 2 * I * H, (e + 1) * 2 * I * H);
        const d = decodeArray(def.dtype, down.data).subarray(e * I * H, (e + 1) * I * H);
        for (let i = 0; i < 2 * I; i++) {
          for (let j = 0; j < H; j++) {
            const want = i < I ? gate[i * H + j] : up[(i - I) * H + j];
            // [2I, H] row-major, or its transpose [H, 2I].
            expect(transposed ? gu[j * 2 * I + i] : gu[i * H + j]).toBe(want);
          }
        }
        for (let i = 0; i < H; i++) for (let j = 0; j < I; j++) expect(transposed ? d[j * H + i] : d[i * I + j]).toBe(dn[i * I + j]);
      }
      // The router keeps its values (Mixtral's moves from block_sparse_moe to mlp).
      expect(bytes(fused.tensors.get(`${l.prefix}.gate.weight`))).toEqual(bytes(perExpert.tensors.get(`${blockPrefix}.gate.weight`)));
    }
    const { removed, added, changed } = diff(perExpert, fused);
    expect(changed).toEqual([]);
    expect(removed.every((n) => /\.experts\.\d+\.|block_sparse_moe\.gate/.test(n))).toBe(true);
    expect(added.every((n) => /\.experts\.(gate_up|down)_proj$|mlp\.gate\.weight$/.test(n))).toBe(true);
  });

  it("fused:layer=N fuses that layer only", () => {
    const g = gen("olmoe", { variants: [{ kind: "fused", layer: 1 }] });
    expect(describeMoeLayers(g.tensors).map((l) => [l.prefix, l.layout])).toEqual([
      ["model.layers.0.mlp", "per-expert"],
      ["model.layers.1.mlp", "fused"],
    ]);
  });

  it("dense: no experts, no router, no expert count; dense MLPs everywhere", () => {
    const g = gen("qwen3_5_moe", { variants: [{ kind: "dense" }] });
    expect(describeMoeLayers(g.tensors)).toEqual([]);
    expect(countKeysOf(g.config)).toEqual([]);
    expect([...g.tensors.keys()].some((n) => n.includes("mlp.gate.weight") || n.includes("shared_expert"))).toBe(false);
    expect(g.tensors.get("model.language_model.layers.0.mlp.gate_proj.weight")!.shape).toEqual([2 * I, H]);
    expect(g.tensors.get("mtp.layers.0.mlp.down_proj.weight")!.shape).toEqual([H, 2 * I]);
  });

  const base = gen("mixtral");
  const pre = "model.layers.1.block_sparse_moe.experts";
  it.each<[string, Variant, { removed?: string[]; added?: string[]; changed?: string[] }]>([
    [
      "drop-expert",
      { kind: "partial", defect: "drop-expert", layer: 1, expert: 2 },
      { removed: [`${pre}.2.w1.weight`, `${pre}.2.w2.weight`, `${pre}.2.w3.weight`] },
    ],
    ["drop-projection", { kind: "partial", defect: "drop-projection", layer: 1, expert: 0, projection: "down" }, { removed: [`${pre}.0.w2.weight`] }],
    ["wrong-shape", { kind: "partial", defect: "wrong-shape", layer: 1, projection: "gate" }, { changed: [`${pre}.4.w1.weight`] }],
    ["wrong-dtype", { kind: "partial", defect: "wrong-dtype", layer: 1, expert: 1 }, { changed: [`${pre}.1.w3.weight`] }],
    ["extra-expert", { kind: "extra-expert", layer: 1 }, { added: [`${pre}.5.w1.weight`, `${pre}.5.w2.weight`, `${pre}.5.w3.weight`] }],
  ])("%s changes exactly the tensors it names and nothing else", (_, variant, want) => {
    const g = gen("mixtral", { variants: [variant] });
    expect(diff(base, g)).toEqual({ removed: want.removed ?? [], added: want.added ?? [], changed: want.changed ?? [] });
    expect(g.config).toEqual(base.config);
  });

  it("wrong-shape and wrong-dtype store what they claim", () => {
    const shaped = gen("mixtral", { variants: [{ kind: "partial", defect: "wrong-shape", layer: 0, expert: 0, projection: "down", shape: [3, 7] }] });
    expect(shaped.tensors.get("model.layers.0.block_sparse_moe.experts.0.w2.weight")!.shape).toEqual([3, 7]);
    expect(
      gen("mixtral", { variants: [{ kind: "partial", defect: "wrong-shape", layer: 0 }] }).tensors.get("model.layers.0.block_sparse_moe.experts.4.w3.weight")!
        .shape,
    ).toEqual([I + 1, H]);
    const typed = gen("mixtral", { variants: [{ kind: "partial", defect: "wrong-dtype", layer: 1, expert: 1, dtype: "BF16" }] });
    const t = typed.tensors.get(`${pre}.1.w3.weight`)!;
    expect(t.dtype).toBe("BF16");
    // F16 -> BF16 is not always exact; the stored values are the F16 values rounded to BF16.
    expect(bytes(t)).toEqual(Buffer.from(encodeArray("BF16", decodeArray("F16", base.tensors.get(`${pre}.1.w3.weight`)!.data))));
  });

  it("partial defects reach MTP layers", () => {
    const g = gen("qwen3_5_moe", { variants: [{ kind: "partial", defect: "drop-expert", layer: "mtp.0", expert: 0 }] });
    const mtp = describeMoeLayers(g.tensors).find((l) => l.prefix === "mtp.layers.0.mlp")!;
    expect(mtp.experts).toEqual([1, 2, 3, 4]);
    expect(describeMoeLayers(g.tensors).filter((l) => l.experts.length === E)).toHaveLength(4);
  });

  it.each([
    ["num_local_experts", { num_local_experts: 5 }],
    ["text_config.num_local_experts", { text_config: { num_local_experts: 5 } }],
    ["num_experts", { num_experts: 5 }],
    ["text_config.num_experts", { text_config: { num_experts: 5 } }],
    ["n_routed_experts", { n_routed_experts: 5 }],
    ["text_config.n_routed_experts", { text_config: { n_routed_experts: 5 } }],
  ] as const)("count-key moves the expert count to %s", (key, shape) => {
    for (const name of ["qwen3_5_moe", "mixtral"] as const) {
      const g = gen(name, { variants: [{ kind: "count-key", keys: [{ key }] }] });
      expect(countKeysOf(g.config)).toEqual([{ key, value: 5 }]);
      expect(g.config).toMatchObject(shape);
    }
  });

  it("count-key makes conflicts, arbitrary values, or no count at all", () => {
    const conflict = gen("qwen3_moe", {
      variants: [{ kind: "count-key", keys: [{ key: "num_local_experts", value: 6 }, { key: "text_config.num_experts" }, { key: "num_experts", value: "5" }] }],
    });
    expect(countKeysOf(conflict.config)).toEqual([
      { key: "num_local_experts", value: 6 },
      { key: "num_experts", value: "5" },
      { key: "text_config.num_experts", value: 5 },
    ]);
    const none = gen("qwen3_moe", { variants: [{ kind: "count-key", keys: [] }] });
    expect(countKeysOf(none.config)).toEqual([]);
    expect(describeMoeLayers(none.tensors)[0]!.experts).toHaveLength(5);
  });

  it("refuses impossible specs with one-line usage errors", () => {
    const bad: [FixtureSpec, RegExp][] = [
      [{ family: "nope" as FamilyName }, /unknown family 'nope'/],
      [{ family: "mixtral", experts: 0 }, /experts must be a whole number from 1/],
      [{ family: "mixtral", seed: -1 }, /seed must be/],
      [{ family: "qwen3_moe", variants: [{ kind: "partial", defect: "drop-expert", layer: 0 }] }, /layer 0 is not a MoE layer/],
      [{ family: "mixtral", variants: [{ kind: "partial", defect: "drop-expert", expert: 9 }] }, /expert 9 does not exist/],
      [{ family: "mixtral", variants: [{ kind: "partial", defect: "drop-scale" }] }, /drop-scale needs FP8/],
      [{ family: "mixtral", variants: [{ kind: "extra-expert", id: 3 }] }, /needs an id >= 8/],
      [{ family: "mixtral", variants: [{ kind: "dense" }, { kind: "fused" }] }, /dense cannot be combined/],
      [{ family: "mixtral", variants: [{ kind: "per-expert" }, { kind: "fused" }] }, /contradict/],
      [{ family: "mixtral", variants: [{ kind: "fused" }], fp8: true }, /fused FP8/],
      [
        {
          family: "mixtral",
          variants: [
            { kind: "fused", layer: 0 },
            { kind: "partial", defect: "drop-expert", layer: 0 },
          ],
        },
        /layer 0 is fused/,
      ],
      [{ family: "mixtral", mtpLayers: 1 }, /no multi-token-prediction/],
      [{ family: "mixtral", mlpOnlyLayers: [0] }, /no mlp_only_layers/],
      [{ family: "mixtral", variants: [{ kind: "partial", defect: "wrong-shape", layer: 0, projection: "up", shape: [8, 4] }] }, /is the correct shape/],
      [{ family: "mixtral", variants: [{ kind: "partial", defect: "wrong-dtype", layer: 0, dtype: "F16" }] }, /already are F16/],
      [{ family: "mixtral", experts: 2, shards: 500 }, /into 500 shards/],
      [{ family: "mixtral", fp8: { blockSize: [0, 4] } }, /block size/],
    ];
    expect(() => generateCheckpoint({ family: "mixtral" }, { memoryLimit: 1000 })).toThrow(/more than the in-memory limit of 1000/);
    for (const [spec, message] of bad) {
      let error: unknown;
      try {
        generateCheckpoint(spec);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(spec)).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain("\n");
    }
  });
});

describe("block FP8", () => {
  /** Every FP8 weight of `fp8` is exactly the block quantization of the same tensor in `plain`, with the special values. */
  function expectQuantizationOf(
    plain: GeneratedCheckpoint,
    fp8: GeneratedCheckpoint,
    block: [number, number],
    scaleDtype: "F32" | "BF16",
    suffix = "_scale_inv",
  ): number {
    let checked = 0;
    for (const [name, t] of fp8.tensors) {
      if (t.dtype !== "F8_E4M3") continue;
      const truth = plain.tensors.get(name)!;
      const [rows, cols] = truth.shape as [number, number];
      const q = quantizeBlocks(withSpecialValues(decodeArray(truth.dtype as "BF16", truth.data)), rows, cols, block, scaleDtype);
      // The special values' signs are the expert's (its sign pattern flips them as any other element).
      const n = rows * cols >= MIN_SPECIAL_ELEMENTS ? SPECIAL_VALUES.length : 0;
      const codes = Buffer.from(t.data);
      expect(codes.subarray(0, codes.length - n).equals(Buffer.from(q.codes.subarray(0, q.codes.length - n))), name).toBe(true);
      expect(
        [...codes.subarray(codes.length - n)].map((c) => c & 0x7f),
        name,
      ).toEqual([...q.codes.subarray(q.codes.length - n)].map((c) => c & 0x7f));
      const scale = fp8.tensors.get(`${name}${suffix}`)!;
      expect(scale.dtype).toBe(scaleDtype);
      expect(scale.shape).toEqual([Math.ceil(rows / block[0]), Math.ceil(cols / block[1])]);
      expect(bytes(scale).equals(Buffer.from(encodeScales(q.scales, scaleDtype))), `${name}${suffix}`).toBe(true);
      checked++;
    }
    return checked;
  }

  // Experts of 4096 elements or more are the kind's base varied (the fast path); smaller ones are drawn on their own.
  it.each([
    ["varied base", { hidden: 72, intermediate: 64 }],
    ["independent", { hidden: 40, intermediate: 24 }],
  ] as const)("qwen3_5_moe_fp8 is the block quantization of qwen3_5_moe, expert by expert, with BF16 scales (%s experts)", (_, sizes) => {
    const plain = gen("qwen3_5_moe", sizes);
    const fp8 = gen("qwen3_5_moe_fp8", { ...sizes, fp8: { blockSize: [16, 16] } });
    expect(expectQuantizationOf(plain, fp8, [16, 16], "BF16")).toBeGreaterThan(3 * 5 * 5);
    expect(fp8.config.quantization_config).toEqual({ quant_method: "fp8", fmt: "e4m3", activation_scheme: "dynamic", weight_block_size: [16, 16] });
    // What the official FP8 releases keep in BF16.
    for (const kept of [
      "lm_head.weight",
      "model.language_model.embed_tokens.weight",
      "model.language_model.layers.0.mlp.gate.weight",
      "model.language_model.layers.0.linear_attn.in_proj_a.weight",
      "model.language_model.layers.0.mlp.shared_expert_gate.weight",
      "model.language_model.norm.weight",
      "mtp.fc.weight",
    ]) {
      expect(fp8.tensors.get(kept)!.dtype, kept).toBe("BF16");
    }
    expect(fp8.tensors.get("model.language_model.layers.0.linear_attn.out_proj.weight")!.dtype).toBe("F8_E4M3");
    // Experts of one layer do not share codes or scales.
    const p = "model.language_model.layers.0.mlp.experts";
    expect(bytes(fp8.tensors.get(`${p}.0.up_proj.weight`)).equals(bytes(fp8.tensors.get(`${p}.1.up_proj.weight`)))).toBe(false);
  });

  it("quantizes any family with the default 128x128 blocks (partial blocks here), F32 scales, or _scale names", () => {
    const plain = gen("deepseek_v3", { hidden: 130, intermediate: 40 });
    expect(expectQuantizationOf(plain, gen("deepseek_v3", { hidden: 130, intermediate: 40, fp8: true }), [128, 128], "F32")).toBeGreaterThan(15);
    const quark = gen("deepseek_v3", { hidden: 130, intermediate: 40, fp8: { scaleSuffix: "_scale", scaleDtype: "BF16" } });
    expect(expectQuantizationOf(plain, quark, [128, 128], "BF16", "_scale")).toBeGreaterThan(15);
    expect(gen("deepseek_v3", { fp8: true }).tensors.get("model.layers.1.mlp.gate.e_score_correction_bias")!.dtype).toBe("F32");
  });

  it("drop-scale and wrong-dtype damage one FP8 expert", () => {
    const fp8 = gen("qwen3_5_moe_fp8");
    const p = "model.language_model.layers.0.mlp.experts.4";
    const noScale = gen("qwen3_5_moe_fp8", { variants: [{ kind: "partial", defect: "drop-scale" }] });
    expect(diff(fp8, noScale)).toEqual({ removed: [`${p}.up_proj.weight_scale_inv`], added: [], changed: [] });
    const wrong = gen("qwen3_5_moe_fp8", { variants: [{ kind: "partial", defect: "wrong-dtype" }] });
    expect(diff(fp8, wrong)).toEqual({ removed: [`${p}.up_proj.weight_scale_inv`], added: [], changed: [`${p}.up_proj.weight`] });
    // The wrong-dtype expert holds the unquantized values.
    expect(bytes(wrong.tensors.get(`${p}.up_proj.weight`))).toEqual(bytes(gen("qwen3_5_moe").tensors.get(`${p}.up_proj.weight`)));
  });
});

describe("determinism", () => {
  it.each([
    ["independent", 8, 16],
    ["varied base", 64, 64],
  ] as const)("the same spec gives the same bytes; another seed gives other values, never equal experts (%s experts)", (_, hidden, intermediate) => {
    const spec: FixtureSpec = { family: "qwen3_5_moe", experts: 12, hidden, intermediate, variants: [{ kind: "partial", defect: "drop-expert", layer: 2 }] };
    const a = generateCheckpoint(spec);
    const b = generateCheckpoint(spec);
    expect(Buffer.from(serializeSafetensors(a.tensors, a.metadata)).equals(Buffer.from(serializeSafetensors(b.tensors, b.metadata)))).toBe(true);
    const other = generateCheckpoint({ ...spec, seed: 1 });
    expect(diff(a, other).changed.length).toBe(a.tensors.size);
    for (const l of describeMoeLayers(a.tensors)) {
      for (const proj of ["gate_proj", "up_proj", "down_proj"]) {
        const seen = new Set(l.experts.map((e) => bytes(a.tensors.get(`${l.prefix}.experts.${e}.${proj}.weight`)).toString("hex")));
        expect(seen.size).toBe(l.experts.length);
      }
    }
  });
});
