// A lazily dequantizing view of any WeightSource: its specs show FP8 weights as BF16 (scales and
// activation scales gone), and reading a weight decodes it on demand, chunk by chunk as the
// underlying source yields it, so memory per tensor stays bounded (one input chunk, one output
// chunk of at most DEQUANT_CHUNK_ELEMENTS) however large the weight. Because it is itself a
// WeightSource, any stage that streams from a checkpoint streams from the dequantized checkpoint
// unchanged: `fuse(dequantView(checkpoint, config))` dequantizes and prefuses in one pass.

import type { ModelConfig } from "../checkpoint.js";
import { OutputError, SafetensorsError } from "../errors.js";
import type { TensorSource } from "../safetensors/source.js";
import type { Tensor, TensorSpec } from "../tensor.js";
import type { WeightSource } from "../weights.js";
import { dequantizedConfig } from "./config.js";
import { type DequantOptions, dequantizerFor, planLocation } from "./dequant.js";
import type { KernelStrategy } from "./kernel.js";
import { type DequantEntry, type DequantPlan, planDequant } from "./plan.js";

/** Largest output chunk a dequantized tensor is produced in (elements; 8 MiB of BF16). */
export const DEQUANT_CHUNK_ELEMENTS = 4 << 20;

export interface DequantView extends WeightSource {
  readonly plan: DequantPlan;
  /** The input config without quantization_config. */
  readonly config: ModelConfig | undefined;
}

export interface DequantViewOptions extends DequantOptions {
  /** Output chunk size in elements (default DEQUANT_CHUNK_ELEMENTS). */
  readonly chunkElements?: number;
}

/**
 * Dequantizes `entry` from `source`, yielding consecutive BF16 regions. With `target`, each region
 * is the part of `target` just written; without, it is a reused scratch buffer, valid until the
 * next region is asked for.
 */
async function* dequantRegions(
  source: WeightSource,
  entry: DequantEntry,
  checkpoint: string,
  strategy: KernelStrategy | undefined,
  chunkElements: number,
  target?: Uint16Array,
): AsyncGenerator<Uint16Array> {
  const kernel = dequantizerFor(entry, await source.read(entry.scale), checkpoint, strategy);
  const numel = entry.shape[0] * entry.shape[1];
  const scratch = target === undefined ? new Uint16Array(Math.min(numel, chunkElements)) : undefined;
  let start = 0;
  for await (const chunk of source.source(entry.weight).chunks()) {
    if (start + chunk.length > numel) {
      start = Infinity;
      break;
    }
    for (let off = 0; off < chunk.length; ) {
      const count = scratch === undefined ? chunk.length - off : Math.min(chunk.length - off, scratch.length);
      const out = scratch === undefined ? target!.subarray(start, start + count) : scratch.subarray(0, count);
      kernel.run(chunk.subarray(off, off + count), start, out);
      yield out;
      off += count;
      start += count;
    }
  }
  if (start !== numel) {
    throw new OutputError("SOURCE_MISMATCH", `the source yielded ${start < numel ? start : "more than"} of the ${numel} bytes of ${entry.dtype} [${entry.shape.join(", ")}]`, { file: checkpoint, tensor: entry.weight });
  }
}

const bytesOf = (a: Uint16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function dequantView(source: WeightSource, config: ModelConfig | undefined, options: DequantViewOptions = {}): DequantView {
  const where = planLocation(options, "<weights>");
  const plan = planDequant(source.specs, config, where);
  const entries = new Map(plan.dequantized.map((e) => [e.weight, e]));
  const chunkElements = options.chunkElements ?? DEQUANT_CHUNK_ELEMENTS;
  if (!(Number.isSafeInteger(chunkElements) && chunkElements >= 1)) throw new RangeError(`chunkElements ${chunkElements} must be a positive integer`);

  const spec = (name: string): TensorSpec => {
    const s = plan.specs.get(name);
    if (s === undefined) {
      const why = source.specs.has(name) ? "removed by FP8 dequantization" : "no such tensor";
      throw new SafetensorsError("TENSOR_NOT_FOUND", why, { file: where.checkpoint, tensor: name });
    }
    return s;
  };
  const regions = (entry: DequantEntry, target?: Uint16Array) => dequantRegions(source, entry, where.checkpoint, options.strategy, chunkElements, target);

  const readInto = async (name: string, target: Uint8Array, targetOffset: number): Promise<void> => {
    spec(name);
    const entry = entries.get(name);
    if (entry === undefined) return source.readInto(name, target, targetOffset);
    const numel = entry.shape[0] * entry.shape[1];
    if (targetOffset < 0 || targetOffset + 2 * numel > target.length) {
      throw new SafetensorsError("READ_FAILED", `a target of ${target.length} bytes cannot hold the tensor's ${2 * numel} bytes at offset ${targetOffset}`, { file: where.checkpoint, tensor: name });
    }
    const at = target.byteOffset + targetOffset;
    if (at % 2 === 0) {
      // Aligned: the kernel writes straight into the caller's buffer.
      for await (const _ of regions(entry, new Uint16Array(target.buffer, at, numel)));
      return;
    }
    let pos = targetOffset;
    for await (const out of regions(entry)) {
      target.set(bytesOf(out), pos);
      pos += out.byteLength;
    }
  };

  return {
    plan,
    config: dequantizedConfig(config),
    specs: plan.specs,
    readInto,
    async read(name: string): Promise<Tensor> {
      const s = spec(name);
      if (!entries.has(name)) return source.read(name);
      const data = new Uint8Array(2 * s.shape[0]! * s.shape[1]!);
      await readInto(name, data, 0);
      return { dtype: s.dtype, shape: s.shape, data };
    },
    source(name: string): TensorSource {
      const s = spec(name);
      const entry = entries.get(name);
      if (entry === undefined) return source.source(name);
      return {
        dtype: s.dtype,
        shape: s.shape,
        byteLength: 2 * entry.shape[0] * entry.shape[1],
        async *chunks() {
          for await (const out of regions(entry)) yield bytesOf(out);
        },
      };
    },
  };
}
