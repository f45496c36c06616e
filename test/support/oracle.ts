// An element-by-element statement of the fused layouts, written from the definitions and sharing
// no code with the engines: out[e, r, c] is looked up in the per-expert tensors one element at
// a time. Slow, obvious, and the yardstick the real implementation is held to.

import { dtypeBits } from "../../src/reference/dtypes.js";
import type { Tensor } from "../../src/reference/tensor.js";

/** Builds [E, R, C] from elementAt(e, r, c) -> [source tensor, row, col] of a 2-D source. */
export function buildElementwise(E: number, R: number, C: number, elementAt: (e: number, r: number, c: number) => readonly [Tensor, number, number]): Tensor {
  let dtype: Tensor["dtype"] | undefined;
  let w = 0;
  let data = new Uint8Array(0);
  for (let e = 0; e < E; e++) {
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        const [src, sr, sc] = elementAt(e, r, c);
        if (dtype === undefined) {
          dtype = src.dtype;
          w = dtypeBits(src.dtype) / 8;
          data = new Uint8Array(E * R * C * w);
        }
        const cols = src.shape[src.shape.length - 1]!;
        const from = (sr * cols + sc) * w;
        data.set(src.data.subarray(from, from + w), ((e * R + r) * C + c) * w);
      }
    }
  }
  return { dtype: dtype ?? "BF16", shape: [E, R, C], data };
}

/** gate_up [E, 2I, H]: gate rows then up rows. */
export const oracleGateUpRows = (gate: Tensor[], up: Tensor[], I: number, H: number) =>
  buildElementwise(gate.length, 2 * I, H, (e, r, c) => (r < I ? [gate[e]!, r, c] : [up[e]!, r - I, c]));

/** gate_up [E, H, 2I] (stored transposed): column j < I is gate row j. */
export const oracleGateUpColumns = (gate: Tensor[], up: Tensor[], I: number, H: number) =>
  buildElementwise(gate.length, H, 2 * I, (e, h, j) => (j < I ? [gate[e]!, j, h] : [up[e]!, j - I, h]));

/** Stacked [E, R, C] of 2-D tensors, optionally transposed per expert. */
export const oracleStack = (xs: Tensor[], transposed = false) => {
  const [R, C] = xs[0]!.shape as [number, number];
  return transposed ? buildElementwise(xs.length, C, R, (e, r, c) => [xs[e]!, c, r]) : buildElementwise(xs.length, R, C, (e, r, c) => [xs[e]!, r, c]);
};
