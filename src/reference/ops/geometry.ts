// Shape rules of the tensor ops, shared by both engines: validation of the arguments, the
// result specs, and the byte geometry (element width, outer/inner extents) the copies follow.

import { byteSize, dtypeBits, numelOf } from "../dtypes.js";
import { MoePrefuseError } from "../errors.js";
import { type Tensor, type TensorSpec, formatSpec, sameSpec, specByteLength } from "../tensor.js";

/** A tensor op called with arguments that do not fit together (a caller's bug or bad input shapes). */
export class TensorOpError extends MoePrefuseError<"INVALID_OP"> {
  override readonly name = "TensorOpError";
  constructor(detail: string) {
    super("INVALID_OP", detail);
  }
}

/** Bytes per element, or undefined for sub-byte dtypes (F4, F6_*). */
export function elementBytes(spec: TensorSpec): number | undefined {
  const bits = dtypeBits(spec.dtype);
  return bits % 8 === 0 ? bits / 8 : undefined;
}

export function normalizeAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new TensorOpError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Product of dims [from, to). */
export function extent(shape: readonly number[], from: number, to = shape.length): number {
  return numelOf(shape.slice(from, to));
}

export function checkData(t: Tensor, op: string): void {
  const n = specByteLength(t);
  if (t.data.length !== n) throw new TensorOpError(`${op}: ${formatSpec(t)} needs ${n} bytes, got ${t.data.length}`);
}

export function resultBuffer(spec: TensorSpec, out: Uint8Array | undefined, op: string): Uint8Array {
  const n = specByteLength(spec);
  if (out === undefined) return new Uint8Array(n);
  if (out.length !== n) throw new TensorOpError(`${op}: output buffer holds ${out.length} bytes, ${formatSpec(spec)} needs ${n}`);
  return out;
}

export interface ConcatGeometry {
  readonly spec: TensorSpec;
  readonly axis: number;
  /** Number of independent row blocks: product of the dims before the axis. */
  readonly outer: number;
  /** Bytes each part contributes per row block. */
  readonly partBytes: readonly number[];
}

export function concatGeometry(parts: readonly Tensor[], axis: number, op = "concat"): ConcatGeometry {
  const first = parts[0];
  if (first === undefined) throw new TensorOpError(`${op}: needs at least one tensor`);
  const rank = first.shape.length;
  const a = normalizeAxis(axis, rank, op);
  let total = 0;
  for (const p of parts) {
    checkData(p, op);
    const fits = p.dtype === first.dtype && p.shape.length === rank && p.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!fits) throw new TensorOpError(`${op}: ${formatSpec(p)} does not fit ${formatSpec(first)} along axis ${a}`);
    total += p.shape[a]!;
  }
  const shape = first.shape.map((d, i) => (i === a ? total : d));
  const outer = extent(first.shape, 0, a);
  return { spec: { dtype: first.dtype, shape }, axis: a, outer, partBytes: parts.map((p) => (outer === 0 ? 0 : p.data.length / outer)) };
}

export function stackSpec(parts: readonly Tensor[]): TensorSpec {
  const first = parts[0];
  if (first === undefined) throw new TensorOpError("stack: needs at least one tensor");
  for (const p of parts) {
    checkData(p, "stack");
    if (!sameSpec(p, first)) throw new TensorOpError(`stack: ${formatSpec(p)} differs from ${formatSpec(first)}`);
  }
  return { dtype: first.dtype, shape: [parts.length, ...first.shape] };
}

/** The pieces of a split, as the concat that would rebuild the input. */
export function splitGeometry(t: Tensor, axis: number, sizes: readonly number[]): ConcatGeometry & { readonly pieces: readonly TensorSpec[] } {
  checkData(t, "split");
  const a = normalizeAxis(axis, t.shape.length, "split");
  const total = sizes.reduce((x, y) => x + y, 0);
  if (sizes.some((s) => !Number.isSafeInteger(s) || s < 0) || total !== t.shape[a]) {
    throw new TensorOpError(`split: sizes [${sizes.join(", ")}] do not add up to dim ${a} of ${formatSpec(t)}`);
  }
  const pieces = sizes.map((s) => ({ dtype: t.dtype, shape: t.shape.map((d, i) => (i === a ? s : d)) }));
  const outer = extent(t.shape, 0, a);
  const bytes = pieces.map((p) => byteSize(p.dtype, numelOf(p.shape)));
  if (bytes.some((b) => b === undefined)) throw new TensorOpError(`split: pieces of ${formatSpec(t)} along axis ${a} would not fill whole bytes`);
  return { spec: t, axis: a, outer, partBytes: bytes.map((b) => (outer === 0 ? 0 : b! / outer)), pieces };
}

/** Sub-byte dtypes can only be cut where whole rows of bytes line up: a single row block. */
export function checkByteAligned(spec: TensorSpec, outer: number, op: string): void {
  if (elementBytes(spec) === undefined && outer > 1) {
    throw new TensorOpError(`${op}: ${spec.dtype} elements are smaller than a byte; only the leading axis can be cut`);
  }
}

export function transposeSpec(t: Tensor, perm: readonly number[]): TensorSpec {
  checkData(t, "transpose");
  const rank = t.shape.length;
  const seen = new Set(perm);
  if (perm.length !== rank || seen.size !== rank || perm.some((p) => !Number.isInteger(p) || p < 0 || p >= rank)) {
    throw new TensorOpError(`transpose: [${perm.join(", ")}] is not a permutation of ${rank} axes`);
  }
  if (elementBytes(t) === undefined) throw new TensorOpError(`transpose: ${t.dtype} elements are smaller than a byte`);
  return { dtype: t.dtype, shape: perm.map((p) => t.shape[p]!) };
}
