// How generated weights get their values. Every tensor "kind" (a tensor name; for experts the
// name with the expert id replaced by `*`) has one base array drawn from its own seeded stream:
// each element is the sum of the four bytes of one xoshiro128** output (an Irwin-Hall
// approximation of a normal, bounded at +-3.45 standard deviations, so always finite), mapped
// through a 1021-entry table to the dtype's bits. Expert e of a kind is the base, multiplied by
// 2 when the expert's stream says so, with the sign of element i flipped when bit (i mod 4096)
// of the expert's sign pattern is set. Both operations are exact and commute with block FP8
// quantization (same amax up to the power of two, symmetric rounding), which is what lets the
// FP8 family quantize each base once and derive every expert's codes and scales from it, and
// makes GiB-scale generation cost one XOR per byte. Experts differ in about half their signs and
// in their scales, so a permuted or duplicated expert never goes unnoticed. (Experts smaller than
// one sign pattern are drawn independently instead, see plan.ts: a few sign bits could not keep
// hundreds of them distinct.)

import { type FloatDType, decodeFloat, elementSize, elementView, encodeFloat } from "./float-codec.js";
import { Xoshiro128, deriveSeed, hashString } from "./prng.js";
import { xorSimd } from "./simd-xor.js";

export interface Distribution {
  readonly mean: number;
  readonly std: number;
}

/** Standard deviation of the sum of four uniform bytes: sqrt(4 * (256^2 - 1) / 12). */
const IRWIN_HALL_STD = Math.sqrt(21845);
const IRWIN_HALL_MEAN = 510;

/** Longest sign pattern, in elements (a multiple of 32 and of every element size). */
export const SIGN_PERIOD = 4096;

const EXPERT_STREAM = 0x45585054; // "EXPT": separates expert streams from base streams

export function kindSeed(seed: number, kind: string): number {
  return deriveSeed(seed, hashString(kind));
}

const tables = new Map<string, Uint32Array>();

/** Element bits for each 4-byte sum 0..1020 (memoized: a pure function of its arguments). */
function valueTable(dtype: FloatDType, dist: Distribution): Uint32Array {
  const key = `${dtype}\0${dist.mean}\0${dist.std}`;
  let table = tables.get(key);
  if (table === undefined) {
    table = new Uint32Array(4 * 255 + 1);
    const unit = dist.std / IRWIN_HALL_STD;
    for (let k = 0; k < table.length; k++) table[k] = encodeFloat(dtype, dist.mean + (k - IRWIN_HALL_MEAN) * unit);
    tables.set(key, table);
  }
  return table;
}

const BATCH = 4096;

/** The base array of a kind: `n` elements of `dtype`, as little-endian bytes. */
export function baseValues(dtype: FloatDType, n: number, dist: Distribution, seed: number): Uint8Array {
  const table = valueTable(dtype, dist);
  const out = new Uint8Array(n * elementSize(dtype));
  const bits = elementView(dtype, out);
  const rng = new Xoshiro128(seed);
  const words = new Uint32Array(Math.min(BATCH, n));
  for (let start = 0; start < n; start += words.length) {
    const len = Math.min(words.length, n - start);
    rng.fill(words);
    for (let i = 0; i < len; i++) {
      const r = words[i]!;
      bits[start + i] = table[(r & 255) + ((r >>> 8) & 255) + ((r >>> 16) & 255) + (r >>> 24)]!;
    }
  }
  return out;
}

/** The same elements multiplied by 2 (exact: generated values are far from overflow). */
export function doubled(dtype: FloatDType, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  const src = elementView(dtype, bytes);
  const dst = elementView(dtype, out);
  for (let i = 0; i < src.length; i++) dst[i] = encodeFloat(dtype, 2 * decodeFloat(dtype, src[i]!));
  return out;
}

/** What makes expert `e` of a kind differ from the kind's base. */
export interface ExpertVariation {
  /** Multiply the base by 2. */
  readonly doubled: boolean;
  /** Sign pattern: bit i (LSB first within each word) flips element i, repeating every `period`. */
  readonly signBits: Uint32Array;
  readonly period: number;
}

function signPeriod(n: number): number {
  return Math.min(SIGN_PERIOD, Math.max(32, Math.ceil(n / 32) * 32));
}

export function expertVariation(seed: number, kind: string, expert: number, n: number): ExpertVariation {
  const rng = new Xoshiro128(deriveSeed(kindSeed(seed, kind), EXPERT_STREAM, expert));
  const isDoubled = (rng.next() & 1) === 1;
  const period = signPeriod(n);
  const signBits = new Uint32Array(period / 32);
  rng.fill(signBits);
  return { doubled: isDoubled, signBits, period };
}

/**
 * The sign pattern as bytes to XOR onto elements of `size` bytes: 0x80 on the high (sign) byte
 * of every flipped element, repeating every period * size bytes.
 */
export function signMask(v: ExpertVariation, size: 1 | 2 | 4): Uint8Array {
  const mask = new Uint8Array(v.period * size);
  for (let i = 0; i < v.period; i++) {
    if ((v.signBits[i >>> 5]! >>> (i & 31)) & 1) mask[i * size + size - 1] = 0x80;
  }
  return mask;
}

/**
 * dst[i] = src[i] ^ mask[(offset + i) mod mask.length] for i < dst.length, `offset` being the
 * position of src[0] within the tensor. WebAssembly SIMD for large aligned runs, else word-wise.
 */
export function xorPeriodic(dst: Uint8Array, src: Uint8Array, mask: Uint8Array, offset = 0): void {
  const done = xorSimd(dst, src, mask, offset % mask.length);
  if (done > 0) {
    if (done < dst.length) xorPeriodic(dst.subarray(done), src.subarray(done), mask, offset + done);
    return;
  }
  const len = dst.length;
  const m = mask.length;
  let j = offset % m;
  let i = 0;
  if (((dst.byteOffset | src.byteOffset | mask.byteOffset | j | m) & 3) === 0) {
    const words = len >>> 2;
    const d32 = new Uint32Array(dst.buffer, dst.byteOffset, words);
    const s32 = new Uint32Array(src.buffer, src.byteOffset, words);
    const m32 = new Uint32Array(mask.buffer, mask.byteOffset, m >>> 2);
    const mw = m32.length;
    let w = 0;
    let k = j >>> 2;
    while (w < words) {
      // Runs up to the end of the mask or of the data, unrolled by four.
      const run = Math.min(words - w, mw - k);
      const end = w + run;
      const end4 = w + (run & ~3);
      while (w < end4) {
        d32[w] = s32[w]! ^ m32[k]!;
        d32[w + 1] = s32[w + 1]! ^ m32[k + 1]!;
        d32[w + 2] = s32[w + 2]! ^ m32[k + 2]!;
        d32[w + 3] = s32[w + 3]! ^ m32[k + 3]!;
        w += 4;
        k += 4;
      }
      while (w < end) {
        d32[w] = s32[w]! ^ m32[k]!;
        w++;
        k++;
      }
      if (k === mw) k = 0;
    }
    i = words << 2;
    j = (j + i) % m;
  }
  for (; i < len; i++) {
    dst[i] = src[i]! ^ mask[j]!;
    if (++j === m) j = 0;
  }
}
