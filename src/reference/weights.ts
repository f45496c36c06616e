// The one interface every stage reads weights through: specs known up front (from headers),
// bytes on demand. A checkpoint on disk, an in-memory weight dict and derived views (such as an
// FP8-dequantized view of a checkpoint) all implement it, so the same fuse code streams from
// disk, runs in memory, or dequantizes on the fly.

import { SafetensorsError } from "./errors.js";
import { type TensorSource, tensorSource } from "./safetensors/source.js";
import type { Tensor, TensorMap, TensorSpec } from "./tensor.js";

export interface WeightSource {
  /** Every tensor's dtype and shape, by name. */
  readonly specs: ReadonlyMap<string, TensorSpec>;
  /** The tensor's bytes, freshly allocated. */
  read(name: string): Promise<Tensor>;
  /** Writes the tensor's whole byte content into `target` at `targetOffset`. */
  readInto(name: string, target: Uint8Array, targetOffset: number): Promise<void>;
  /** The tensor as a chunked source for the writer. */
  source(name: string): TensorSource;
  /**
   * Where this source fills buffers fastest, for callers that keep reusable ones: a dequantizing
   * view computes straight into buffers of its kernel memory, and copies into any other.
   */
  readonly buffers?: BufferSupply;
}

/** Buffers of at least the bytes asked for, each given back when its caller is done with it. */
export interface BufferSupply {
  take(bytes: number): Uint8Array;
  give(buffer: Uint8Array): void;
}

/** An in-memory weight dict seen as a WeightSource (no copies). */
export function memoryWeights(map: TensorMap, label = "<memory>"): WeightSource {
  const get = (name: string): Tensor => {
    const t = map.get(name);
    if (t === undefined) throw new SafetensorsError("TENSOR_NOT_FOUND", "no such tensor", { file: label, tensor: name });
    return t;
  };
  return {
    specs: map,
    read: async (name) => get(name),
    readInto: async (name, target, offset) => target.set(get(name).data, offset),
    source: (name) => tensorSource(get(name)),
  };
}

/** Reads every tensor into memory. */
export async function loadAll(weights: WeightSource): Promise<TensorMap> {
  const out: TensorMap = new Map();
  for (const name of weights.specs.keys()) out.set(name, await weights.read(name));
  return out;
}
