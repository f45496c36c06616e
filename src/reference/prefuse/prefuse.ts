// The in-memory prefuse, as oQ's `_prefuse_moe_experts_for_vlm(weights, config)`: takes a weight
// dict and the config, returns the new dict and the plan. Each fused tensor is allocated once and
// filled chunk by chunk (`chunk` experts per step), so the extra memory is the fused output
// itself. The input dict is not modified; tensors that pass through are the same objects.

import type { ModelConfig } from "../checkpoint.js";
import { OutputError, SafetensorsError } from "../errors.js";
import type { TensorBackend } from "../ops/backend.js";
import { typedBackend } from "../ops/typed-backend.js";
import { type Tensor, type TensorMap, formatSpec, specByteLength } from "../tensor.js";
import { DEFAULT_CHUNK, checkChunk, chunkRanges } from "./chunk.js";
import type { FuseTarget } from "./layouts.js";
import { type FusePlan, type PlanOptions, planPrefuse, promotedWeights } from "./plan.js";
import { toF32 } from "./promote.js";
import { prefault } from "../prefault.js";
import { type ExpertReader, Scratch, produceExperts, sliceBytes } from "./produce.js";

export interface PrefuseOptions extends PlanOptions {
  readonly target?: FuseTarget;
  /** Experts stacked per step (default 16, like oQ); never changes the bytes. */
  readonly chunk?: number;
  /** Tensor-op engine (default: typed arrays). */
  readonly backend?: TensorBackend;
}

export interface PrefuseResult {
  readonly weights: TensorMap;
  readonly plan: FusePlan;
}

function memoryReader(weights: ReadonlyMap<string, Tensor>): ExpertReader {
  const get = (name: string): Tensor => {
    const t = weights.get(name);
    if (t === undefined) throw new SafetensorsError("TENSOR_NOT_FOUND", "no such tensor", { file: "<memory>", tensor: name });
    const n = specByteLength(t);
    if (t.data.length !== n)
      throw new OutputError("INVALID_TENSOR", `${formatSpec(t)} needs ${n} bytes, the tensor holds ${t.data.length}`, { file: "<memory>", tensor: name });
    return t;
  };
  return {
    tensor: async (name) => get(name),
    experts: async (name, spec, first, count) => {
      const b = sliceBytes(spec);
      return { dtype: spec.dtype, shape: [count, ...spec.shape.slice(1)], data: get(name).data.subarray(first * b, (first + count) * b) };
    },
  };
}

export async function prefuse(weights: ReadonlyMap<string, Tensor>, config: ModelConfig, options: PrefuseOptions = {}): Promise<PrefuseResult> {
  const chunk = checkChunk(options.chunk ?? DEFAULT_CHUNK);
  const backend = options.backend ?? typedBackend;
  const plan = planPrefuse(weights, config, options);
  const consumed = new Set(plan.consumed);
  const out: TensorMap = new Map();
  for (const [name, t] of weights) if (!consumed.has(name)) out.set(name, t);
  // The `promote` reading fuses a mixed-dtype layer from F32 copies; what passes through is the input's own.
  const promoted = promotedWeights(weights, options);
  const source = promoted.length === 0 ? weights : new Map([...weights, ...promoted.map((n) => [n, toF32(weights.get(n)!)] as const)]);
  const io = memoryReader(source);
  // Every output is allocated up front so that its pages can be faulted in ahead of the copy.
  const buffers = new Map(plan.outputs.filter((o) => o.recipe.op !== "copy").map((o) => [o, new Uint8Array(specByteLength(o))] as const));
  const faults = await prefault([...buffers.values()]);
  try {
    for (const o of plan.outputs) {
      const spec = { dtype: o.dtype, shape: o.shape };
      if (o.recipe.op === "copy") {
        // A renamed tensor: the same bytes, no copy.
        out.set(o.name, { ...spec, data: source.get(o.recipe.input.name)!.data });
        continue;
      }
      const data = buffers.get(o)!;
      const slice = sliceBytes(spec);
      const producer = { io, backend, scratch: new Scratch() };
      for (const range of chunkRanges(o.shape[0]!, chunk)) {
        const [start, end] = [range.first * slice, (range.first + range.count) * slice];
        await faults.ready(data, start, end);
        await produceExperts(o.recipe, range, data.subarray(start, end), producer);
      }
      out.set(o.name, { ...spec, data });
    }
  } finally {
    await faults.close();
  }
  return { weights: out, plan };
}
