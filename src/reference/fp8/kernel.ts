// The FP8 block dequantization kernel: out[i, j] = bf16_rne(f32(decode(W[i, j])) * f32(S[i / bm, j / bn])).
// This is what MLX computes (from_fp8 to bf16, float32 product with the block scale, astype
// bfloat16): the decoded FP8 value has at most 4 significant bits and the scale at most 24, so
// the float32 product is exact and the result is a single round to nearest even. In JS the
// product is exact in float64 and one Float32Array store rounds it to float32, which is the
// same single rounding.
//
// Within one block the output depends only on the byte, so the fast paths build, per block, the
// 256-entry table of bf16 results (block-table.ts). The WebAssembly SIMD kernel (wasm-kernel.ts)
// is the default where it runs; the typed-array path below turns the inner loop into a byte ->
// uint16 gather, four bytes per 32-bit load (two tables, low and high half-words, save a shift
// per element). Blocks too small to pay for a table (groups of 32, per-channel rows of a narrow
// weight) are computed element by element. All paths give identical bits; tests run each one
// against onnxruntime.
//
// The tables live in module-level typed arrays: V8 compiles gathers from a constant array
// markedly faster (about 1.4x here) than from one reached through an object or a parameter.
// They are shared by all kernels, so each slot records which kernel, block column and block row
// it holds; `run` is synchronous, and a kernel that finds another's tables simply rebuilds.

import { endianness } from "node:os";
import { f32BitsToBf16 } from "../dtypes.js";
import { fillBlockTable } from "./block-table.js";
import { type Fp8WeightDType, weightTable } from "./formats.js";
import { MAX_WASM_BLOCK_COLUMNS, type Placement, WASM_KERNEL_AVAILABLE, WasmKernel } from "./wasm-kernel.js";

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

/**
 * `wasm`: the WebAssembly SIMD kernel; `table`: the typed-array table kernel; `direct`: one product
 * per element; `auto`: `direct` for blocks too small for a table, else `wasm` where it runs.
 */
export type KernelStrategy = "auto" | "wasm" | "table" | "direct";

/** Below this many elements per block, building a 256-entry table costs more than it saves. */
const TABLE_MIN_BLOCK_ELEMENTS = 512;

/** Table slots: block column c uses slot c % SLOTS (no rebuilds while a row has <= SLOTS blocks). */
const SLOTS = 256;
/** Per slot, the bf16 result of each byte as the low half-word, and the same shifted up. */
const LO = new Uint32Array(SLOTS * 256);
const HI = new Uint32Array(SLOTS * 256);
const slotCol = new Int32Array(SLOTS).fill(-1);
const slotRow = new Int32Array(SLOTS).fill(-1);
let slotsOwner: Fp8Dequantizer | undefined;

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);
const scratchTable = new Uint16Array(256);

export class Fp8Dequantizer {
  private readonly decode: Float32Array;
  private readonly bm: number;
  private readonly bn: number;
  private readonly gridCols: number;
  private readonly useTables: boolean;
  private readonly wasm: WasmKernel | undefined;

  /** `weight` and `strategy` are public so that a worker thread can rebuild this very kernel (pool.ts). */
  constructor(
    readonly weight: BlockScaledWeight,
    readonly strategy: KernelStrategy = "auto",
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
    if (strategy === "wasm" && !WASM_KERNEL_AVAILABLE) throw new RangeError("this runtime has no WebAssembly SIMD for the wasm kernel");
    const tables = strategy === "table" || strategy === "wasm" || (strategy === "auto" && area >= TABLE_MIN_BLOCK_ELEMENTS);
    const wasm = strategy === "wasm" || (tables && strategy === "auto" && WASM_KERNEL_AVAILABLE && this.gridCols <= MAX_WASM_BLOCK_COLUMNS);
    this.wasm = wasm ? new WasmKernel(weight, this.decode) : undefined;
    this.useTables = tables && !wasm;
  }

  /**
   * Dequantizes elements [start, start + src.length) of the row-major weight into `out` (same
   * length). `placement` is for pool workers (where their buffers sit in the kernel memory).
   */
  run(src: Uint8Array, start: number, out: Uint16Array, placement?: Placement): void {
    const n = this.weight.cols;
    const len = src.length;
    if (out.length !== len) throw new RangeError(`output holds ${out.length} elements, input ${len}`);
    if (start < 0 || start + len > this.weight.rows * n)
      throw new RangeError(`elements [${start}, ${start + len}) are outside the ${this.weight.rows}x${n} weight`);
    if (this.wasm !== undefined) {
      this.wasm.run(src, start, out, placement);
      return;
    }
    if (this.useTables && slotsOwner !== this) {
      slotCol.fill(-1);
      slotsOwner = this;
    }
    const { bm, bn } = this;
    const words = this.useTables ? wordViews(src, out) : undefined;
    // One row segment [j0, j1) of row i per step; within it, one block column at a time.
    for (let k = 0; k < len; ) {
      const flat = start + k;
      const i = Math.floor(flat / n);
      const j0 = flat - i * n;
      const j1 = Math.min(n, j0 + (len - k));
      const br = Math.floor(i / bm);
      for (let j = j0; j < j1; ) {
        const c = Math.floor(j / bn);
        const segEnd = Math.min(j1, (c + 1) * bn);
        if (this.useTables) {
          const slot = c % SLOTS;
          if (slotCol[slot] !== c || slotRow[slot] !== br) this.buildTable(slot, c, br);
          gather(src, out, k, segEnd - j, slot << 8, words);
        } else {
          direct(src, out, k, segEnd - j, this.decode, this.weight.scales[br * this.gridCols + c]!);
        }
        k += segEnd - j;
        j = segEnd;
      }
    }
  }

  private buildTable(slot: number, c: number, br: number): void {
    fillBlockTable(this.decode, this.weight.scales[br * this.gridCols + c]!, scratchTable, 0);
    const base = slot << 8;
    for (let b = 0; b < 256; b++) {
      const v = scratchTable[b]!;
      LO[base + b] = v;
      HI[base + b] = v << 16;
    }
    slotCol[slot] = c;
    slotRow[slot] = br;
  }
}

/**
 * 32-bit views over the input's and output's buffers, when element k can be word-aligned in both
 * at once: src byte srcByte + k and out byte outByte + 2k are both multiples of 4 for the same k
 * only when outByte - 2 * srcByte is. Otherwise every element takes the byte path.
 */
interface WordViews {
  readonly src32: Uint32Array;
  readonly out32: Uint32Array;
  readonly srcByte: number;
  readonly outByte: number;
}

function wordViews(src: Uint8Array, out: Uint16Array): WordViews | undefined {
  if (((out.byteOffset - 2 * src.byteOffset) & 3) !== 0) return undefined;
  return {
    src32: new Uint32Array(src.buffer, 0, src.buffer.byteLength >>> 2),
    out32: new Uint32Array(out.buffer, 0, out.buffer.byteLength >>> 2),
    srcByte: src.byteOffset,
    outByte: out.byteOffset,
  };
}

/** `count` elements from k0 through the table at `base`: bytes up to a word boundary, then words. */
function gather(src: Uint8Array, out: Uint16Array, k0: number, count: number, base: number, v: WordViews | undefined): void {
  let k = k0;
  const end = k0 + count;
  if (v !== undefined) {
    for (; k < end && ((v.srcByte + k) & 3) !== 0; k++) out[k] = LO[base | src[k]!]!;
    const src32 = v.src32;
    const out32 = v.out32;
    const sw0 = (v.srcByte + k) >>> 2;
    const swEnd = sw0 + ((end - k) >>> 2);
    let ow = (v.outByte + 2 * k) >>> 2;
    for (let sw = sw0; sw < swEnd; sw++, ow += 2) {
      const x = src32[sw]!;
      out32[ow] = LO[base | (x & 0xff)]! | HI[base | ((x >>> 8) & 0xff)]!;
      out32[ow + 1] = LO[base | ((x >>> 16) & 0xff)]! | HI[base | (x >>> 24)]!;
    }
    k += (swEnd - sw0) << 2;
  }
  for (; k < end; k++) out[k] = LO[base | src[k]!]!;
}

function direct(src: Uint8Array, out: Uint16Array, k0: number, count: number, dec: Float32Array, s: number): void {
  for (let k = k0, end = k0 + count; k < end; k++) {
    scratchF32[0] = dec[src[k]!]! * s;
    out[k] = f32BitsToBf16(scratchU32[0]!);
  }
}
