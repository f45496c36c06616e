// Byte-level rearrangements the diagnoses try on the reference's tensors to recognise what a
// candidate did: per-expert slices along the leading axis, the last two axes transposed, and the
// two halves of an axis swapped. They move whole elements and never interpret values.

import { createHash } from "node:crypto";
import { dtypeBits } from "../../reference/dtypes.js";
import type { Tensor } from "../../reference/tensor.js";

/** Bytes per element, or undefined for sub-byte dtypes (which cannot be rearranged element-wise). */
export function elementSize(t: Tensor): number | undefined {
  const bits = dtypeBits(t.dtype);
  return bits % 8 === 0 ? bits / 8 : undefined;
}

/** Two stacks of the same kind of expert: 3-D, one dtype, one expert shape (their counts may differ). */
export function sameExpertShape(a: Tensor, b: Tensor): boolean {
  return a.shape.length === 3 && b.shape.length === 3 && a.dtype === b.dtype && a.shape.slice(1).join(",") === b.shape.slice(1).join(",");
}

/** The bytes of each index of the leading axis (each expert of a stacked tensor). */
export function leadingSlices(t: Tensor): Uint8Array[] {
  const n = t.shape[0] ?? 0;
  if (n === 0) return [];
  const size = t.data.length / n;
  return Array.from({ length: n }, (_, i) => t.data.subarray(i * size, (i + 1) * size));
}

/** A short fingerprint of some bytes, to match slices of two tensors. */
export function fingerprint(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("base64");
}

/** The bytes of `t` with its last two axes swapped (rank >= 2, byte-aligned elements). */
export function transposeLastTwo(t: Tensor): Uint8Array | undefined {
  const w = elementSize(t);
  const r = t.shape.length;
  if (w === undefined || r < 2) return undefined;
  const rows = t.shape[r - 2]!;
  const cols = t.shape[r - 1]!;
  const plane = rows * cols * w;
  const out = new Uint8Array(t.data.length);
  for (let base = 0; base < t.data.length; base += plane) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const from = base + (i * cols + j) * w;
        out.set(t.data.subarray(from, from + w), base + (j * rows + i) * w);
      }
    }
  }
  return out;
}

/** The bytes of `t` with the two halves of `axis` exchanged, or undefined when it has no even length. */
export function swapHalves(t: Tensor, axis: number): Uint8Array | undefined {
  const w = elementSize(t);
  const len = t.shape[axis];
  if (w === undefined || len === undefined || len % 2 !== 0) return undefined;
  const inner = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1) * w;
  const half = (len / 2) * inner;
  const block = 2 * half;
  const out = new Uint8Array(t.data.length);
  for (let base = 0; base < t.data.length; base += block) {
    out.set(t.data.subarray(base + half, base + block), base);
    out.set(t.data.subarray(base, base + half), base + half);
  }
  return out;
}
