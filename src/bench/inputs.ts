// Benchmark inputs: every expert's gate/up/down bf16 matrices as separate buffers, as a weight
// dict holds them, or the same tensors as a per-expert checkpoint on disk. Filling gigabytes
// with a PRNG would dominate the run, so a small seeded pool of random bf16 words is generated
// once and each tensor is the pool rotated by its own offset (a distinct rotation per tensor,
// so an expert copied to the wrong place never compares equal). Deterministic across runs.

import type { Tensor, TensorMap } from "../reference/tensor.js";
import type { TensorSource } from "../reference/safetensors/source.js";
import { writeCheckpoint } from "../reference/checkpoint-writer.js";
import { Xoshiro128 } from "../fixtures-gen/prng.js";
import { BENCH_DTYPE, type FuseProblem, PROJECTIONS, type Projection, expertTensorName, projBytes } from "./problem.js";

/** Words in the pool: a prime, so tensor rotations `k * STRIDE mod POOL_WORDS` are all distinct. */
const POOL_WORDS = 65_521;
const STRIDE = 40_503;
const SEED = 0x9e3779b9;

function makePool(): Uint8Array {
  const words = new Uint32Array(Math.ceil(POOL_WORDS / 2));
  new Xoshiro128(SEED).fill(words);
  return new Uint8Array(words.buffer, 0, POOL_WORDS * 2);
}

const POOL = makePool();

/** Fills `target` with the content of the `index`-th input tensor. */
export function fillTensor(target: Uint8Array, index: number): void {
  let start = ((index * STRIDE) % POOL_WORDS) * 2;
  for (let pos = 0; pos < target.length; ) {
    const n = Math.min(POOL.length - start, target.length - pos);
    target.set(POOL.subarray(start, start + n), pos);
    pos += n;
    start = 0;
  }
}

function tensorIndex(expert: number, proj: Projection): number {
  return expert * PROJECTIONS.length + PROJECTIONS.indexOf(proj);
}

function projShape(p: FuseProblem, proj: Projection): number[] {
  return proj === "down_proj" ? [p.shape.hidden, p.shape.intermediate] : [p.shape.intermediate, p.shape.hidden];
}

/** The layer's per-expert weights in memory, one buffer per tensor. */
export function expertWeights(p: FuseProblem): TensorMap {
  const out: TensorMap = new Map();
  const bytes = projBytes(p.shape);
  for (let x = 0; x < p.experts; x++) {
    for (const proj of PROJECTIONS) {
      const data = new Uint8Array(bytes);
      fillTensor(data, tensorIndex(x, proj));
      const t: Tensor = { dtype: BENCH_DTYPE, shape: projShape(p, proj), data };
      out.set(expertTensorName(x, proj), t);
    }
  }
  return out;
}

/** Writes the same weights as a per-expert checkpoint directory, generating each tensor on the fly. */
export async function writeExpertCheckpoint(dir: string, p: FuseProblem): Promise<void> {
  const bytes = projBytes(p.shape);
  const scratch = new Uint8Array(bytes);
  const sources = new Map<string, TensorSource>();
  for (let x = 0; x < p.experts; x++) {
    for (const proj of PROJECTIONS) {
      const index = tensorIndex(x, proj);
      sources.set(expertTensorName(x, proj), {
        dtype: BENCH_DTYPE,
        shape: projShape(p, proj),
        byteLength: bytes,
        async *chunks() {
          fillTensor(scratch, index);
          yield scratch;
        },
      });
    }
  }
  await writeCheckpoint(dir, sources, {
    config: { model_type: "qwen3_moe", num_experts: p.experts, hidden_size: p.shape.hidden, moe_intermediate_size: p.shape.intermediate },
  });
}
