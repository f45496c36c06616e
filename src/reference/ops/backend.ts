// The tensor operations the prefuse needs (stack, concat, split, transpose) behind one small
// interface, so two independent engines can run the same fuse: typed arrays (the fast default)
// and onnxruntime-node graphs. Every op moves bytes only; outputs are byte-identical across
// engines for every dtype.
//
// `out` buffers: an op writes its result into `out` when given (which must have exactly the
// result's byte length), else into a fresh buffer. A part that already sits where the result
// needs it (a view on `out` at the right offset) may be left in place instead of copied; the
// streaming fuse reads experts straight into their output slots and relies on that.

import type { Tensor } from "../tensor.js";

export interface TensorBackend {
  readonly name: BackendName;
  /** Stacks same-spec tensors along a new leading axis. */
  stack(parts: readonly Tensor[], out?: Uint8Array): Promise<Tensor>;
  /** Concatenates along `axis` (negative counts from the end); other dims must agree. */
  concat(parts: readonly Tensor[], axis: number, out?: Uint8Array): Promise<Tensor>;
  /** Splits along `axis` into pieces of `sizes`; `outs[k]` receives piece k when given. */
  split(t: Tensor, axis: number, sizes: readonly number[], outs?: readonly (Uint8Array | undefined)[]): Promise<Tensor[]>;
  /** Permutes the axes: result dim i is input dim perm[i]. */
  transpose(t: Tensor, perm: readonly number[], out?: Uint8Array): Promise<Tensor>;
  /** Releases engine resources (ONNX sessions). */
  close(): Promise<void>;
}

export type BackendName = "typed" | "onnx";
export const BACKEND_NAMES: readonly BackendName[] = ["typed", "onnx"];
