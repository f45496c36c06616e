// A large synthetic per-expert MoE checkpoint for benchmarks, written through writeCheckpoint
// with computed sources: no tensor is ever held in memory and generation runs at disk speed.
// Each tensor is an 8-byte tag (its index) followed by a fixed pseudo-random pattern read from a
// tensor-specific offset, so tensors differ and every byte is deterministic. With `fp8`, the
// experts and the attention projections are F8_E4M3 with 128 x 128 float32 block scales (`weight_scale_inv`, as DeepSeek-V3's
// and Qwen3's FP8 releases store them), every scale 2^-8: a scale of the kernel's SIMD range,
// as real scales are.

import { writeCheckpoint } from "../../src/reference/checkpoint-writer.js";
import type { DType } from "../../src/reference/dtypes.js";
import type { TensorSource } from "../../src/reference/safetensors/source.js";
import { Xoshiro128 } from "../../src/fixtures-gen/prng.js";

const PATTERN_BYTES = 8 << 20;

function pattern(): Uint8Array {
  const words = new Uint32Array(PATTERN_BYTES / 4);
  new Xoshiro128(0x9e3779b9).fill(words);
  return new Uint8Array(words.buffer);
}

function computed(index: number, dtype: DType, shape: readonly number[], bytesPerElement: number, base: Uint8Array): TensorSource {
  const byteLength = shape.reduce((a, b) => a * b, 1) * bytesPerElement;
  return {
    dtype,
    shape,
    byteLength,
    async *chunks() {
      const tag = new Uint8Array(8);
      new DataView(tag.buffer).setBigUint64(0, BigInt(index), true);
      yield tag.subarray(0, Math.min(8, byteLength));
      let offset = (index * 4099) % PATTERN_BYTES;
      for (let done = 8; done < byteLength; ) {
        const n = Math.min(byteLength - done, PATTERN_BYTES - offset);
        yield base.subarray(offset, offset + n);
        done += n;
        offset = 0;
      }
    },
  };
}

export interface SyntheticMoe {
  readonly layers: number;
  readonly E: number;
  readonly I: number;
  readonly H: number;
  /** Experts and attention projections in FP8 E4M3 with 128 x 128 block scales (embeddings and norms stay BF16). */
  readonly fp8?: boolean;
}

const FP8_BLOCK = 128;

export function syntheticConfig(s: SyntheticMoe): Record<string, unknown> {
  const quantization =
    s.fp8 === true
      ? { quantization_config: { quant_method: "fp8", fmt: "e4m3", activation_scheme: "dynamic", weight_block_size: [FP8_BLOCK, FP8_BLOCK] } }
      : {};
  return {
    model_type: "qwen3_moe",
    num_experts: s.E,
    hidden_size: s.H,
    moe_intermediate_size: s.I,
    num_hidden_layers: s.layers,
    torch_dtype: "bfloat16",
    ...quantization,
  };
}

/** The float32 block scales of an [m, n] FP8 weight, all 2^-8. */
function blockScales(m: number, n: number): TensorSource {
  const shape = [Math.ceil(m / FP8_BLOCK), Math.ceil(n / FP8_BLOCK)];
  const data = new Uint8Array(new Float32Array(shape[0]! * shape[1]!).fill(2 ** -8).buffer);
  return {
    dtype: "F32",
    shape,
    byteLength: data.length,
    async *chunks() {
      yield data;
    },
  };
}

/** Writes the checkpoint (bf16, or its experts FP8; sharded at 5 GB like transformers) and returns its tensor bytes. */
export async function writeSyntheticCheckpoint(dir: string, s: SyntheticMoe): Promise<number> {
  const base = pattern();
  const tensors = new Map<string, TensorSource>();
  const add = (name: string, shape: readonly number[]) => tensors.set(name, computed(tensors.size, "BF16", shape, 2, base));
  // The projections: in FP8 with their scales when the checkpoint is, as FP8 releases store them.
  const addWeight = (name: string, m: number, n: number) => {
    if (s.fp8 !== true) return add(name, [m, n]);
    tensors.set(name, computed(tensors.size, "F8_E4M3", [m, n], 1, base));
    tensors.set(`${name}_scale_inv`, blockScales(m, n));
  };
  add("model.embed_tokens.weight", [8192, s.H]);
  add("lm_head.weight", [8192, s.H]);
  add("model.norm.weight", [s.H]);
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    for (const x of ["q", "k", "v", "o"]) addWeight(`${p}.self_attn.${x}_proj.weight`, s.H, s.H);
    add(`${p}.input_layernorm.weight`, [s.H]);
    add(`${p}.post_attention_layernorm.weight`, [s.H]);
    add(`${p}.mlp.gate.weight`, [s.E, s.H]);
    for (let e = 0; e < s.E; e++) {
      addWeight(`${p}.mlp.experts.${e}.gate_proj.weight`, s.I, s.H);
      addWeight(`${p}.mlp.experts.${e}.up_proj.weight`, s.I, s.H);
      addWeight(`${p}.mlp.experts.${e}.down_proj.weight`, s.H, s.I);
    }
  }
  const r = await writeCheckpoint(dir, tensors, { config: syntheticConfig(s), metadata: { format: "pt" }, maxShardSize: 5_000_000_000 });
  return r.totalSize;
}
