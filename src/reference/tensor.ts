// The in-memory tensor: a dtype, a shape and its raw little-endian row-major bytes. The harness
// never interprets element values except where a rule needs to (FP8 dequant): everything else
// moves bytes, which is what makes bit-exact comparison possible for every dtype.

import { type DType, byteSize, numelOf } from "./dtypes.js";

export interface TensorSpec {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export interface Tensor extends TensorSpec {
  readonly data: Uint8Array;
}

/** A weight dict, as oQ's `weights` is: tensor name -> tensor. */
export type TensorMap = Map<string, Tensor>;

/** Bytes a tensor of this spec occupies (sub-byte dtypes must fill whole bytes). */
export function specByteLength(spec: TensorSpec): number {
  const n = byteSize(spec.dtype, numelOf(spec.shape));
  if (n === undefined) throw new RangeError(`${numelOf(spec.shape)} ${spec.dtype} elements do not fill whole bytes`);
  return n;
}

export function sameSpec(a: TensorSpec, b: TensorSpec): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

export function formatSpec(spec: TensorSpec): string {
  return `${spec.dtype} [${spec.shape.join(", ")}]`;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** The same tensor names, and for each the same dtype, shape and bytes (order and file layout aside). */
export function sameWeights(a: ReadonlyMap<string, Tensor>, b: ReadonlyMap<string, Tensor>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, t] of a) {
    const o = b.get(name);
    if (o === undefined || !sameSpec(o, t) || !bytesEqual(o.data, t.data)) return false;
  }
  return true;
}
