// The FP8 block dequantization kernel: out[i, j] = bf16_rne(f32(decode(W[i, j])) * f32(S[i / bm, j / bn])).
// This is what MLX computes (from_fp8 to bf16, float32 product with the block scale, astype
// bfloat16): the decoded FP8 value has at most 4 significant bits and the scale at most 24, so
// the float32 product is exact and the result is a single round to nearest even. In JS the
// product is exact in float64 and one Float32Array store rounds it to float32, which is the
// same single rounding.
//
// Within one block the output depends only on the byte, so the fast path builds, per block, a
// 256-entry table of bf16 results and the inner loop becomes a byte -> uint16 gather, four
// bytes per 32-bit load (two tables, low and high half-words, save a shift per element). Blocks
// too small to pay for a table (groups of 32, per-channel rows of a narrow weight) are computed
// element by element. Both paths give identical bits; tests run both.

import { endianness } from "node:os";
import { BF16_NAN } from "../dtypes.js";
import { type Fp8WeightDType, weightTable } from "./formats.js";

if (endianness() !== "LE") throw new Error("moe-prefuse's FP8 kernel assumes a little-endian machine (safetensors data is little-endian)");

export interface BlockScaledWeight {
  readonly dtype: Fp8WeightDType;
  /** The weight's shape [m, n]. */
  readonly rows: number;
  readonly cols: number;
  /** Block [bm, bn], each at least 1. */
  readonly block: readonly [number, number];
  /** The decoded scale grid, row-major [ceil(m / bm), ceil(n / bn)]. */
  readonly scales: Float32Array;
}

/** `table`: one bf16 table per block; `direct`: one product per element; `auto` picks by block area. */
export type KernelStrategy = "auto" | "table" | "direct";

/** Below this many elements per block, building a 256-entry table costs more than it saves. */
const TABLE_MIN_BLOCK_ELEMENTS = 512;

const scratchF32 = new Float32Array(256);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function bf16Bits(f32Bits: number): number {
  return (f32Bits & 0x7fffffff) > 0x7f800000 ? BF16_NAN : (f32Bits + 0x7fff + ((f32Bits >>> 16) & 1)) >>> 16;
}

export class Fp8Dequantizer {
  private readonly decode: Float32Array;
  private readonly bm: number;
  private readonly bn: number;
  private readonly gridCols: number;
  private readonly useTables: boolean;
  /** Per block column: the bf16 result of each byte (low half-word) and the same shifted up. */
  private readonly lo: Uint32Array;
  private readonly hi: Uint32Array;
  /** Per block column: the block row its table was built for (-1: none yet). */
  private readonly tableRow: Int32Array;

  constructor(
    private readonly weight: BlockScaledWeight,
    strategy: KernelStrategy = "auto",
  ) {
    const [bm, bn] = weight.block;
    if (!(Number.isSafeInteger(bm) && bm >= 1 && Number.isSafeInteger(bn) && bn >= 1)) throw new RangeError(`block [${bm}, ${bn}] must be positive integers`);
    this.decode = weightTable(weight.dtype);
    this.bm = bm;
    this.bn = bn;
    this.gridCols = Math.ceil(weight.cols / bn);
    const expected = Math.ceil(weight.rows / bm) * this.gridCols;
    if (weight.scales.length !== expected) throw new RangeError(`scale grid has ${weight.scales.length} values, the block grid needs ${expected}`);
    const area = Math.min(bm, weight.rows) * Math.min(bn, weight.cols);
    this.useTables = strategy === "table" || (strategy === "auto" && area >= TABLE_MIN_BLOCK_ELEMENTS);
    const tables = this.useTables ? this.gridCols * 256 : 0;
    this.lo = new Uint32Array(tables);
    this.hi = new Uint32Array(tables);
    this.tableRow = new Int32Array(this.useTables ? this.gridCols : 0).fill(-1);
  }

  /** Dequantizes elements [start, start + src.length) of the row-major weight into `out` (same length). */
  run(src: Uint8Array, start: number, out: Uint16Array): void {
    const n = this.weight.cols;
    const len = src.length;
    if (out.length !== len) throw new RangeError(`output holds ${out.length} elements, input ${len}`);
    if (start < 0 || start + len > this.weight.rows * n) throw new RangeError(`elements [${start}, ${start + len}) are outside the ${this.weight.rows}x${n} weight`);
    const words = this.useTables ? new WordViews(src, out) : undefined;
    let k = 0;
    while (k < len) {
      const flat = start + k;
      const i = Math.floor(flat / n);
      const j0 = flat - i * n;
      const j1 = Math.min(n, j0 + (len - k));
      const br = Math.floor(i / this.bm);
      let j = j0;
      while (j < j1) {
        const c = Math.floor(j / this.bn);
        const segEnd = Math.min(j1, (c + 1) * this.bn);
        const count = segEnd - j;
        if (words !== undefined) {
          if (this.tableRow[c] !== br) this.buildTable(c, br);
          gather(src, out, k, count, c << 8, this.lo, this.hi, words);
        } else {
          direct(src, out, k, count, this.decode, this.weight.scales[br * this.gridCols + c]!);
        }
        k += count;
        j = segEnd;
      }
    }
  }

  private buildTable(c: number, br: number): void {
    const s = this.weight.scales[br * this.gridCols + c]!;
    const dec = this.decode;
    for (let b = 0; b < 256; b++) scratchF32[b] = dec[b]! * s;
    const base = c << 8;
    for (let b = 0; b < 256; b++) {
      const v = bf16Bits(scratchU32[b]!);
      this.lo[base + b] = v;
      this.hi[base + b] = v << 16;
    }
    this.tableRow[c] = br;
  }
}

/** 32-bit views of the input and output buffers, when their alignments allow word access. */
class WordViews {
  readonly src32: Uint32Array | undefined;
  readonly out32: Uint32Array | undefined;
  /** Byte offsets of element 0 in src and out. */
  readonly srcByte: number;
  readonly outByte: number;

  constructor(src: Uint8Array, out: Uint16Array) {
    this.srcByte = src.byteOffset;
    this.outByte = out.byteOffset;
    // Element k sits at srcByte + k and outByte + 2k: both are multiples of 4 for the same k only
    // when outByte - 2 * srcByte is. Otherwise every element goes through the byte path.
    const ok = ((this.outByte - 2 * this.srcByte) & 3) === 0;
    this.src32 = ok ? new Uint32Array(src.buffer, 0, src.buffer.byteLength >>> 2) : undefined;
    this.out32 = ok ? new Uint32Array(out.buffer, 0, out.buffer.byteLength >>> 2) : undefined;
  }
}

function gather(src: Uint8Array, out: Uint16Array, k0: number, count: number, base: number, lo: Uint32Array, hi: Uint32Array, v: WordViews): void {
  let k = k0;
  const end = k0 + count;
  const src32 = v.src32;
  const out32 = v.out32;
  if (src32 !== undefined && out32 !== undefined) {
    const head = Math.min(count, (4 - ((v.srcByte + k) & 3)) & 3);
    for (const h = k + head; k < h; k++) out[k] = lo[base | src[k]!]!;
    let sw = (v.srcByte + k) >>> 2;
    let ow = (v.outByte + 2 * k) >>> 2;
    const swEnd = sw + ((end - k) >>> 2);
    for (; sw < swEnd; sw++, ow += 2) {
      const x = src32[sw]!;
      out32[ow] = lo[base | (x & 0xff)]! | hi[base | ((x >>> 8) & 0xff)]!;
      out32[ow + 1] = lo[base | ((x >>> 16) & 0xff)]! | hi[base | (x >>> 24)]!;
    }
    k = end - ((end - k) & 3);
  }
  for (; k < end; k++) out[k] = lo[base | src[k]!]!;
}

function direct(src: Uint8Array, out: Uint16Array, k0: number, count: number, dec: Float32Array, s: number): void {
  for (let k = k0, end = k0 + count; k < end; k++) {
    scratchF32[0] = dec[src[k]!]! * s;
    out[k] = bf16Bits(scratchU32[0]!);
  }
}
