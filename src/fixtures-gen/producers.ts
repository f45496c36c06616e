// Tensor producers: a tensor's spec plus a way to fill any byte range of it, computed from the
// value cache. Random access lets the same producer fill a whole tensor in memory, stream it
// in chunks to disk, or assemble fused tensors slice by slice (gate rows then up rows per
// expert; transposed for families that store fused experts transposed).

import { type DType, numelOf } from "../reference/dtypes.js";
import type { TensorSpec } from "../reference/tensor.js";
import { type FloatDType, decodeArray, elementSize, elementView, encodeArray } from "./float-codec.js";
import { encodeScales, scaleShape } from "./fp8-quantize.js";
import type { KindRef, QuantizeSettings, ValueCache } from "./value-cache.js";
import { lastAtMost } from "./sorted-search.js";
import { type ExpertVariation, signMask, xorPeriodic } from "./values.js";

export interface TensorProducer<D extends DType = DType> extends TensorSpec {
  readonly dtype: D;
  readonly byteLength: number;
  /** Writes bytes [offset, offset + target.length) of the tensor into `target`. */
  fill(target: Uint8Array, offset: number): void;
}

/** A producer of bytes computed whole (small tensors): each fill copies the requested range. */
function computed<D extends DType>(dtype: D, shape: readonly number[], byteLength: number, compute: () => Uint8Array): TensorProducer<D> {
  return {
    dtype,
    shape,
    byteLength,
    fill(target, offset) {
      target.set(compute().subarray(offset, offset + target.length));
    },
  };
}

/** A tensor holding the kind's base values (every non-expert tensor). */
export function plainProducer(cache: ValueCache, kind: KindRef): TensorProducer<FloatDType> {
  return computed(kind.dtype, kind.shape, kindBytes(kind), () => cache.values(kind));
}

function kindBytes(kind: KindRef): number {
  return numelOf(kind.shape) * elementSize(kind.dtype);
}

/** Expert `e` of a kind: the base (times 2 when the expert says so) with its sign pattern applied. */
export function expertProducer(cache: ValueCache, kind: KindRef, expert: number): TensorProducer<FloatDType> {
  const size = elementSize(kind.dtype);
  let variation: ExpertVariation | undefined;
  let mask: Uint8Array | undefined;
  return {
    dtype: kind.dtype,
    shape: kind.shape,
    byteLength: kindBytes(kind),
    fill(target, offset) {
      variation ??= cache.variation(kind, expert);
      mask ??= signMask(variation, size);
      const src = cache.values(kind, variation.doubled);
      xorPeriodic(target, src.subarray(offset, offset + target.length), mask, offset);
    },
  };
}

/** The whole bytes of a producer. */
export function produce(p: TensorProducer): Uint8Array {
  const out = new Uint8Array(p.byteLength);
  p.fill(out, 0);
  return out;
}

/** FP8 codes of a kind's base (`expert` undefined) or of one expert: the base codes with the expert's signs. */
export function fp8WeightProducer(cache: ValueCache, kind: KindRef, q: QuantizeSettings, expert?: number): TensorProducer {
  let mask: Uint8Array | undefined;
  return {
    dtype: "F8_E4M3",
    shape: kind.shape,
    byteLength: numelOf(kind.shape),
    fill(target, offset) {
      const codes = cache.quantized(kind, q).codes.subarray(offset, offset + target.length);
      if (expert === undefined) {
        target.set(codes);
        return;
      }
      mask ??= signMask(cache.variation(kind, expert), 1);
      xorPeriodic(target, codes, mask, offset);
    },
  };
}

/** The `weight_scale_inv` of a kind's base or of one expert (doubled experts have doubled scales). */
export function fp8ScaleProducer(cache: ValueCache, kind: KindRef, q: QuantizeSettings, expert?: number): TensorProducer {
  const shape = scaleShape(kind.shape[0]!, kind.shape[1]!, q.blockSize);
  return computed(q.scaleDtype, shape, numelOf(shape) * elementSize(q.scaleDtype), () => {
    const times2 = expert !== undefined && cache.variation(kind, expert).doubled;
    return encodeScales(cache.quantized(kind, q).scales, q.scaleDtype, times2 ? 2 : 1);
  });
}

/** A tensor's values converted to another float dtype (the wrong-dtype defect). */
export function convertedProducer(source: TensorProducer<FloatDType>, dtype: FloatDType): TensorProducer<FloatDType> {
  const bytes = () => encodeArray(dtype, decodeArray(source.dtype, produce(source)));
  return computed(dtype, source.shape, (source.byteLength / elementSize(source.dtype)) * elementSize(dtype), bytes);
}

/**
 * The 2-D [rows, cols] tensor of `source` (16- or 32-bit elements), transposed to [cols, rows].
 * The transposed bytes are kept until the last byte has been read (sequential streaming reads
 * each slice in order), so memory holds one slice at a time.
 */
export function transposedProducer(source: TensorProducer<FloatDType>, rows: number, cols: number, shape: readonly number[]): TensorProducer<FloatDType> {
  let kept: Uint8Array | undefined;
  return {
    dtype: source.dtype,
    shape,
    byteLength: source.byteLength,
    fill(target, offset) {
      const bytes = kept ?? transpose(source.dtype, produce(source), rows, cols);
      target.set(bytes.subarray(offset, offset + target.length));
      kept = offset + target.length < bytes.length ? bytes : undefined;
    },
  };
}

function transpose(dtype: FloatDType, bytes: Uint8Array, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  const src = elementView(dtype, bytes);
  const dst = elementView(dtype, out);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c]!;
  }
  return out;
}

/** The concatenation of `parts` (same dtype) along the first axis, as one tensor of `shape`. */
export function concatProducer<D extends DType>(parts: readonly TensorProducer<D>[], shape: readonly number[]): TensorProducer<D> {
  const starts: number[] = [];
  let total = 0;
  for (const p of parts) {
    starts.push(total);
    total += p.byteLength;
  }
  return {
    dtype: parts[0]!.dtype,
    shape,
    byteLength: total,
    fill(target, offset) {
      let done = 0;
      // From the first part overlapping the range: the last one starting at or before offset.
      for (let k = lastAtMost(starts, offset); k < parts.length && done < target.length; k++) {
        const inPart = offset + done - starts[k]!;
        const len = Math.min(parts[k]!.byteLength - inPart, target.length - done);
        if (len <= 0) continue;
        parts[k]!.fill(target.subarray(done, done + len), inPart);
        done += len;
      }
    },
  };
}

/**
 * Rows of `a` and `b` (same spec, `rows` rows each) alternating: row 2i is a's row i, row 2i + 1
 * is b's (gpt-oss's interleaved gate/up, `gate_up[..., ::2]` / `[..., 1::2]` once transposed).
 */
export function interleavedRowsProducer<D extends DType>(
  a: TensorProducer<D>,
  b: TensorProducer<D>,
  rows: number,
  shape: readonly number[],
): TensorProducer<D> {
  const rowBytes = a.byteLength / rows;
  return computed(a.dtype, shape, 2 * a.byteLength, () => {
    const [x, y] = [produce(a), produce(b)];
    const out = new Uint8Array(2 * a.byteLength);
    for (let r = 0; r < rows; r++) {
      out.set(x.subarray(r * rowBytes, (r + 1) * rowBytes), 2 * r * rowBytes);
      out.set(y.subarray(r * rowBytes, (r + 1) * rowBytes), (2 * r + 1) * rowBytes);
    }
    return out;
  });
}
