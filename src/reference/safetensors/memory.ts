// Whole-buffer safetensors: parse a file already in memory (tensors are views, nothing copied)
// and serialize a small weight dict to bytes. Used by tests, fuzzing and golden fixtures; large
// checkpoints go through the lazy reader and the streaming writer instead.

import type { Tensor, TensorMap } from "../tensor.js";
import { type SafetensorsHeader, parseHeader } from "./header.js";
import { layoutFile } from "./layout.js";

export interface ParsedSafetensors {
  readonly header: SafetensorsHeader;
  readonly tensors: TensorMap;
}

export function parseSafetensors(bytes: Uint8Array, file = "<memory>"): ParsedSafetensors {
  const header = parseHeader(bytes, bytes.length, file);
  const tensors: TensorMap = new Map();
  for (const t of header.tensors) {
    tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data: bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end) });
  }
  return { header, tensors };
}

export function serializeSafetensors(tensors: Iterable<readonly [string, Tensor]>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const layout = layoutFile(tensors, metadata);
  const out = new Uint8Array(layout.size);
  out.set(layout.prefix);
  for (const p of layout.placed) out.set(p.tensor.data, layout.prefix.length + p.begin);
  return out;
}
