// The memory model on plans whose answer is worked out by hand here (the figures in comments).

import { describe, expect, it } from "vitest";
import { DEQUANT_WORKER_BYTES, predictPeak, stepBufferBytes } from "../../src/plan/memory.js";
import { type CheckpointHeaders, planCheckpoint } from "../../src/plan/plan.js";
import type { ModelConfig } from "../../src/reference/checkpoint.js";
import { defaultThreads } from "../../src/reference/fp8/threads.js";
import type { DType } from "../../src/reference/dtypes.js";
import type { TensorSpec } from "../../src/reference/tensor.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const E = 8;
const I = 64;
const H = 128;

/**
 * One MoE layer of E experts (I x H), an embedding of `vocab` x H (BF16), all `dtype` (FP8 adds
 * block scales); `attention` adds projections (`q_proj`: its shape) in `dtype`.
 */
function specs(dtype: DType, vocab: number, attention: Readonly<Record<string, readonly [number, number]>> = {}): Map<string, TensorSpec> {
  const m = new Map<string, TensorSpec>([["model.embed_tokens.weight", { dtype: "BF16", shape: [vocab, H] }]]);
  const weight = (name: string, shape: readonly [number, number]) => {
    m.set(name, { dtype, shape });
    if (dtype === "F8_E4M3") m.set(`${name}_scale_inv`, { dtype: "F32", shape: [shape[0] / 32, shape[1] / 32] });
  };
  for (let e = 0; e < E; e++) {
    weight(`model.layers.0.mlp.experts.${e}.gate_proj.weight`, [I, H]);
    weight(`model.layers.0.mlp.experts.${e}.up_proj.weight`, [I, H]);
    weight(`model.layers.0.mlp.experts.${e}.down_proj.weight`, [H, I]);
  }
  for (const [proj, shape] of Object.entries(attention)) weight(`model.layers.0.self_attn.${proj}.weight`, shape);
  return m;
}

const FP8_CONFIG = { quant_method: "fp8", fmt: "e4m3", activation_scheme: "dynamic", weight_block_size: [32, 32] };

function headers(s: Map<string, TensorSpec>, config: ModelConfig): CheckpointHeaders {
  return { checkpoint: "mem", commit: undefined, config, configFile: "mem/config.json", specs: s, files: [], fromCache: false };
}

function planned(dtype: DType, vocab: number, chunks = [16], threads?: number, attention: Readonly<Record<string, readonly [number, number]>> = {}) {
  const config = { model_type: "qwen3_moe", num_experts: E, ...(dtype === "F8_E4M3" ? { quantization_config: FP8_CONFIG } : {}) };
  return planCheckpoint(headers(specs(dtype, vocab, attention), config), { chunks, budget: 64 * MiB, threads });
}

const peak = (p: ReturnType<typeof planned>, strategy: string, chunk = 16) => p.memory.find((m) => m.strategy === strategy && m.chunk === chunk)!.peakBytes;

describe("the memory model", () => {
  // e = I x H x 2 = 16 KiB; the layer's experts 3eE = 384 KiB; the embedding 1024 x 128 x 2 = 256 KiB.
  const e = I * H * 2;
  const R = 3 * e * E + 1024 * H * 2;

  it("oq-eager holds the checkpoint and stack-concat's 4eE; prealloc the checkpoint and the output 3eE; neither depends on C", () => {
    const p = planned("BF16", 1024, [1, 16]);
    expect(peak(p, "oq-eager")).toBe(R + 4 * e * E);
    expect(peak(p, "prealloc")).toBe(R + 3 * e * E);
    expect(peak(p, "oq-eager", 1)).toBe(peak(p, "oq-eager", 16));
    expect(peak(p, "prealloc", 1)).toBe(peak(p, "prealloc", 16));
  });

  it("stream: the step buffers' written bytes, the run's one copy buffer once a large tensor passes, the stage's staged bytes", () => {
    // Written in name order: the embedding, down, gate_up. gate_up slice 2e = 32 KiB, down e = 16 KiB.
    const p = planned("BF16", 1024, [1, 16]);
    // C = 16: a step holds all 8 experts (under the 4 MiB step budget): P = 8 x 32 KiB = 256 KiB.
    expect(stepBufferBytes(p.plan, 16)).toBe(8 * 2 * e);
    expect(stepBufferBytes(p.plan, 1)).toBe(2 * e);
    // The embedding (256 KiB) is read into one step buffer, then gate_up fills the other; every
    // chunk is under 1 MiB, so all of them are staged: 256 + 128 + 256 KiB.
    expect(peak(p, "stream")).toBe(2 * 256 * KiB + 640 * KiB);
    // C = 1: P = 32 KiB, so the embedding streams through the run's 256 KiB copy buffer (with
    // 256 KiB staged), which is kept to the end: there both 32 KiB buffers are written and 640 KiB
    // staged.
    expect(peak(p, "stream", 1)).toBe(2 * 32 * KiB + 256 * KiB + 640 * KiB);
    // A 32 MiB embedding streams through one 8 MiB copy buffer, in chunks too large to stage;
    // then down (128 KiB) and gate_up (256 KiB) fill the step buffers and 384 KiB are staged.
    expect(peak(planned("BF16", 131072), "stream")).toBe(8 * MiB + 128 * KiB + 256 * KiB + 384 * KiB);
  });

  it("FP8: the eager ways hold the dequantized BF16 experts (twice the FP8 bytes, scales dropped); the stream adds the view's pieces, its readers' scales and worker threads", () => {
    const fp8 = planned("F8_E4M3", 1024, [16], 1);
    const bf16 = planned("BF16", 1024);
    expect(fp8.stage).toBe("dequant+prefuse");
    expect(fp8.dequantThreads).toBe(1);
    expect(bf16.dequantThreads).toBeUndefined();
    expect(peak(fp8, "oq-eager")).toBe(peak(bf16, "oq-eager"));
    expect(peak(fp8, "prealloc")).toBe(peak(bf16, "prealloc"));
    // A gate_up step reads its 8 experts' gate and up at once (concat-rows): 16 readers, each
    // holding its one piece, an FP8 weight of I x H = 8 KiB (in a 64 KiB block of the kernel
    // memory: 8 KiB of it written), and its scale grid (2 x 4 x 4 B) read whole.
    const reads = 16 * I * H + 16 * 2 * 4 * 4;
    expect(peak(fp8, "stream")).toBe(peak(bf16, "stream") + reads);
    // T threads are the main thread and T - 1 workers of DEQUANT_WORKER_BYTES each; the eager ways do not dequantize on them.
    for (const t of [2, 8]) {
      const p = planned("F8_E4M3", 1024, [16], t);
      expect(peak(p, "stream")).toBe(peak(bf16, "stream") + reads + (t - 1) * DEQUANT_WORKER_BYTES);
      expect(peak(p, "oq-eager")).toBe(peak(bf16, "oq-eager"));
    }
    // Without --threads, one per core, as fuse --dequant-fp8.
    expect(planned("F8_E4M3", 1024).dequantThreads).toBe(defaultThreads());
  });

  it("FP8: a pass-through weight larger than a step buffer streams in the view's own pieces, prefetched beside the step before it, and takes no copy buffer", () => {
    // An attention projection of 4096 x 4864 = 19 Mi elements: four full pieces of 4 Mi and a
    // tail of 3 Mi, whose block (4 MiB FP8, 8 MiB BF16) is of the full pieces' class. Its BF16
    // 38 MiB exceed the 256 KiB step buffers: the writer takes the view's BF16 pieces (8 MiB and
    // 6 MiB: none staged, no copy buffer). It is written last (after the embedding, down and
    // gate_up, by name), and the writer asks it to prefetch while it writes gate_up (always the
    // next tensor), so it holds its pieces beside gate_up's 16 readers: 3 FP8 blocks of 4 MiB and
    // 2 BF16 blocks of 8 MiB, the tail taking a full piece's place.
    const withAttention = planned("F8_E4M3", 1024, [16], 1, { q_proj: [4096, 4864] });
    const fp8 = planned("F8_E4M3", 1024, [16], 1);
    const pieces = 3 * 4 * MiB + 2 * 8 * MiB;
    // 17 readers at once, each counted at the largest scale grid: the attention's 128 x 152 x 4 B
    // (the experts' 32 B grids before, 16 readers).
    const scales = 17 * 128 * 152 * 4 - 16 * 2 * 4 * 4;
    expect(peak(withAttention, "stream")).toBe(peak(fp8, "stream") + pieces + scales);
    // Up to a step buffer (64 x 2048: 256 KiB of BF16), it is read into one, as its BF16 twin is:
    // one FP8 piece of 128 KiB and no BF16 ones; not prefetched (only the view's own sources
    // are), so alone at its moment. Scales: 16 readers at the largest grid, 2 x 64 x 4 B.
    const pooled = planned("F8_E4M3", 1024, [16], 1, { q_proj: [64, 2048] });
    const twin = planned("BF16", 1024, [16], undefined, { q_proj: [64, 2048] });
    expect(peak(pooled, "stream")).toBe(peak(twin, "stream") + 16 * I * H + 64 * 2048 + 16 * 2 * 64 * 4);
  });

  it("FP8: the writer prefetches the next tensor, then more while their bytes total at most PREFETCH_BYTES (8 MiB), and each holds its pieces until written", () => {
    // Written after gate_up, by name: k (1024 x 1024: 2 MiB of BF16), o (1024 x 3072: 6 MiB), q
    // (like k). Each is one piece: k and q 1 MiB FP8 and 2 MiB BF16, o 3 MiB in a 4 MiB block and
    // 6 MiB in an 8 MiB one. The writer's walk, by the bytes asked ahead:
    //   writing down: gate_up (256 KiB), then k (2.25 MiB in all); o would make 8.25
    //   writing gate_up: 2 MiB ahead (k), and o makes exactly 8: asked too; q would make 10
    //   writing k: 6 MiB ahead (o), q makes 8: asked
    // So gate_up's moment holds its 16 readers, k and o (18 readers, the most); k's holds k, o
    // and q: per class, 1 MiB x 2, 2 MiB x 2, 3 MiB (4 MiB class) x 1, 6 MiB (8 MiB class) x 1.
    const attention = planned("F8_E4M3", 1024, [16], 1, { k_proj: [1024, 1024], o_proj: [1024, 3072], q_proj: [1024, 1024] });
    const fp8 = planned("F8_E4M3", 1024, [16], 1);
    const pieces = 2 * 1 * MiB + 2 * 2 * MiB + 3 * MiB + 6 * MiB;
    // 18 readers at once, each counted at the largest scale grid, o's 32 x 96 x 4 B.
    const scales = 18 * 32 * 96 * 4 - 16 * 2 * 4 * 4;
    expect(peak(attention, "stream")).toBe(peak(fp8, "stream") + pieces + scales);
  });

  it("FP8: the transposing recipes read one weight at a time, into plain scratch, so with BF16 pieces", () => {
    // qwen3_vl_moe stores its experts transposed: gate_up by concat-columns, down by
    // stack-transposed. One reader at a time holds its FP8 piece (8 KiB written) and its BF16
    // piece (16 KiB), both in the 64 KiB class: 2 blocks, counted at the class's 16 KiB.
    const config = {
      model_type: "qwen3_vl_moe",
      text_config: { num_experts: E },
      quantization_config: FP8_CONFIG,
    };
    const bf16Config = { model_type: "qwen3_vl_moe", text_config: { num_experts: E } };
    const columns = planCheckpoint(headers(specs("F8_E4M3", 1024), config), { chunks: [16], budget: 64 * MiB, threads: 1 });
    const bf16 = planCheckpoint(headers(specs("BF16", 1024), bf16Config), { chunks: [16], budget: 64 * MiB });
    expect(columns.plan.outputs.map((o) => o.recipe.op).sort()).toEqual(["concat-columns", "stack-transposed"]);
    expect(peak(columns, "stream")).toBe(peak(bf16, "stream") + 2 * 2 * I * H + 2 * 4 * 4);
  });

  it("a checkpoint with nothing to fuse needs only what it reads", () => {
    const config = { model_type: "qwen3_moe" };
    const p = planCheckpoint(headers(specs("BF16", 1024), config), { budget: 0 });
    expect(p.plan.layers.every((l) => l.state === "dense")).toBe(true);
    expect(peak(p, "oq-eager")).toBe(R);
    expect(peak(p, "prealloc")).toBe(R);
    // No step buffers: every tensor streams through the one copy buffer, the size of the largest
    // (the embedding's 256 KiB), and all are staged (256 KiB of embedding, then 384 KiB of
    // experts): at the last expert, the copy buffer and 640 KiB staged.
    expect(peak(p, "stream")).toBe(256 * KiB + 640 * KiB);
    expect(p.memory.every((m) => !m.fits)).toBe(true);
  });

  it("predictPeak is what the estimates report", () => {
    const p = planned("BF16", 1024);
    const input = { plan: p.plan, specs: specs("BF16", 1024), sourceSpecs: specs("BF16", 1024), dequantized: false };
    for (const m of p.memory) expect(predictPeak(input, m.strategy, m.chunk)).toBe(m.peakBytes);
  });
});
