// The default engine: tensor ops as copies between typed-array views. Concat, stack and split
// are block copies (memcpy per row block); transpose moves whole elements through the widest
// aligned unsigned view, with a cache-blocked path for the common "swap the last two axes".

import type { Tensor } from "../tensor.js";
import type { TensorBackend } from "./backend.js";
import { checkByteAligned, concatGeometry, elementBytes, resultBuffer, splitGeometry, stackSpec, transposeSpec } from "./geometry.js";

/** Copies `src` to `out[offset..]`, unless it already lives exactly there. */
function place(src: Uint8Array, out: Uint8Array, offset: number): void {
  if (src.buffer === out.buffer && src.byteOffset === out.byteOffset + offset) return;
  out.set(src, offset);
}

type UnitArray = Uint8Array | Uint16Array | Uint32Array;

function unitView(bytes: Uint8Array, unit: number): UnitArray {
  const n = bytes.length / unit;
  if (unit === 4) return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
  if (unit === 2) return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  return bytes;
}

/** out[b, j, i] = src[b, i, j] for `batch` matrices of rows x cols, in cache-sized tiles. */
function swapLastTwo(src: UnitArray, dst: UnitArray, batch: number, rows: number, cols: number): void {
  const TILE = 64;
  const size = rows * cols;
  for (let b = 0; b < batch; b++) {
    const base = b * size;
    for (let i0 = 0; i0 < rows; i0 += TILE) {
      const i1 = Math.min(i0 + TILE, rows);
      for (let j0 = 0; j0 < cols; j0 += TILE) {
        const j1 = Math.min(j0 + TILE, cols);
        for (let i = i0; i < i1; i++) {
          const s = base + i * cols;
          for (let j = j0; j < j1; j++) dst[base + j * rows + i] = src[s + j]!;
        }
      }
    }
  }
}

/** General permutation: walks the output in order with an odometer over the input strides. */
function permute(src: UnitArray, dst: UnitArray, shape: readonly number[], perm: readonly number[]): void {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  const outShape = perm.map((p) => shape[p]!);
  const outStrides = perm.map((p) => strides[p]!);
  const last = outShape[rank - 1]!;
  const lastStride = outStrides[rank - 1]!;
  const rows = dst.length / last;
  const idx = new Array<number>(rank).fill(0);
  let base = 0;
  let o = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < last; j++) dst[o++] = src[base + j * lastStride]!;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      base += outStrides[d]!;
      if (idx[d]! < outShape[d]!) break;
      base -= outShape[d]! * outStrides[d]!;
      idx[d] = 0;
    }
  }
}

function isSwapLastTwo(perm: readonly number[]): boolean {
  const r = perm.length;
  return r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, r - 2).every((p, i) => p === i);
}

export const typedBackend: TensorBackend = {
  name: "typed",

  async stack(parts, out) {
    const spec = stackSpec(parts);
    const buf = resultBuffer(spec, out, "stack");
    let offset = 0;
    for (const p of parts) {
      place(p.data, buf, offset);
      offset += p.data.length;
    }
    return { ...spec, data: buf };
  },

  async concat(parts, axis, out) {
    const g = concatGeometry(parts, axis);
    checkByteAligned(g.spec, g.outer, "concat");
    const buf = resultBuffer(g.spec, out, "concat");
    const row = g.partBytes.reduce((a, b) => a + b, 0);
    for (let o = 0; o < g.outer; o++) {
      let offset = o * row;
      parts.forEach((p, k) => {
        const n = g.partBytes[k]!;
        place(p.data.subarray(o * n, (o + 1) * n), buf, offset);
        offset += n;
      });
    }
    return { ...g.spec, data: buf };
  },

  async split(t, axis, sizes, outs) {
    const g = splitGeometry(t, axis, sizes);
    checkByteAligned(t, g.outer, "split");
    const row = t.data.length / Math.max(g.outer, 1);
    return g.pieces.map((spec, k) => {
      const buf = resultBuffer(spec, outs?.[k], "split");
      const n = g.partBytes[k]!;
      const start = g.partBytes.slice(0, k).reduce((a, b) => a + b, 0);
      for (let o = 0; o < g.outer; o++) buf.set(t.data.subarray(o * row + start, o * row + start + n), o * n);
      return { ...spec, data: buf };
    });
  },

  async transpose(t: Tensor, perm, out) {
    const spec = transposeSpec(t, perm);
    const buf = resultBuffer(spec, out, "transpose");
    const width = elementBytes(t)!;
    // The widest unit dividing the element width that both buffers are aligned to; an element
    // wider than the unit becomes a trailing axis that the permutation keeps in place.
    const unit = [4, 2, 1].find((u) => width % u === 0 && t.data.byteOffset % u === 0 && buf.byteOffset % u === 0)!;
    const src = unitView(t.data, unit);
    const dst = unitView(buf, unit);
    const k = width / unit;
    const shape = k > 1 ? [...t.shape, k] : t.shape;
    const p = k > 1 ? [...perm, perm.length] : perm;
    if (src.length === 0) return { ...spec, data: buf };
    if (isSwapLastTwo(p)) {
      const r = shape.length;
      swapLastTwo(src, dst, src.length / (shape[r - 1]! * shape[r - 2]!), shape[r - 2]!, shape[r - 1]!);
    } else if (p.every((x, i) => x === i)) {
      dst.set(src);
    } else {
      permute(src, dst, shape, p);
    }
    return { ...spec, data: buf };
  },

  async close() {},
};
