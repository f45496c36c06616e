// Dequantizing one planned FP8 weight, and the in-memory API `dequantFp8(weights, config)`: the
// whole weight dict in, a new dict (FP8 weights now BF16, scales gone), the plan and the output
// config out. The input map and its tensors are not modified.

import type { ModelConfig } from "../checkpoint.js";
import { OutputError } from "../errors.js";
import type { Tensor, TensorMap } from "../tensor.js";
import { specByteLength } from "../tensor.js";
import { dequantizedConfig } from "./config.js";
import { decodeScales } from "./formats.js";
import { Fp8Dequantizer, type KernelStrategy } from "./kernel.js";
import { type DequantEntry, type DequantPlan, type PlanLocation, planDequant } from "./plan.js";

export interface DequantOptions extends Partial<PlanLocation> {
  /** Kernel path; `auto` (default) picks per block size. Both give identical bits. */
  readonly strategy?: KernelStrategy;
}

export interface DequantResult {
  readonly weights: TensorMap;
  readonly plan: DequantPlan;
  /** The input config without quantization_config (undefined when there was none). */
  readonly config: ModelConfig | undefined;
}

export function planLocation(options: Partial<PlanLocation>, defaultCheckpoint: string): PlanLocation {
  return { checkpoint: options.checkpoint ?? defaultCheckpoint, configFile: options.configFile ?? "config.json" };
}

/** A kernel for one planned weight, from its scale tensor (whose bytes must match its spec). */
export function dequantizerFor(entry: DequantEntry, scale: Tensor, checkpoint: string, strategy?: KernelStrategy): Fp8Dequantizer {
  const expected = specByteLength(entry.scaleSpec);
  if (scale.data.length !== expected) {
    throw new OutputError("SOURCE_MISMATCH", `scale holds ${scale.data.length} bytes, its spec needs ${expected}`, { file: checkpoint, tensor: entry.scale });
  }
  const [rows, cols] = entry.shape;
  return new Fp8Dequantizer({ dtype: entry.dtype, rows, cols, block: entry.block, scales: decodeScales({ ...entry.scaleSpec, data: scale.data }) }, strategy);
}

/** The BF16 tensor of one planned weight, from its FP8 bytes and its scale tensor. */
export function dequantTensor(entry: DequantEntry, weight: Uint8Array, scale: Tensor, checkpoint: string, strategy?: KernelStrategy): Tensor {
  const [rows, cols] = entry.shape;
  if (weight.length !== rows * cols) {
    throw new OutputError("SOURCE_MISMATCH", `weight holds ${weight.length} bytes, ${entry.dtype} [${rows}, ${cols}] needs ${rows * cols}`, {
      file: checkpoint,
      tensor: entry.weight,
    });
  }
  const out = new Uint16Array(rows * cols);
  dequantizerFor(entry, scale, checkpoint, strategy).run(weight, 0, out);
  return { dtype: "BF16", shape: entry.shape, data: new Uint8Array(out.buffer) };
}

export function dequantFp8(weights: TensorMap, config: ModelConfig | undefined, options: DequantOptions = {}): DequantResult {
  const where = planLocation(options, "<memory>");
  const plan = planDequant(weights, config, where);
  const byWeight = new Map(plan.dequantized.map((e) => [e.weight, e]));
  const out: TensorMap = new Map();
  for (const name of plan.specs.keys()) {
    const entry = byWeight.get(name);
    const t = weights.get(name)!;
    out.set(name, entry === undefined ? t : dequantTensor(entry, t.data, weights.get(entry.scale)!, where.checkpoint, options.strategy));
  }
  return { weights: out, plan, config: dequantizedConfig(config) };
}
