// The FP8 kernel in WebAssembly SIMD (ci/wasm/fp8-kernel.wat, whose header states its formula):
// about three times the typed-array table kernel on one thread, with the same bits. Per block
// column it is given the block's exact 256-entry bf16 table and, for E4M3, a 16-entry table T from
// which 16 bytes at a time are computed with two byte shuffles and a few integer operations.
// Before a block may take that path, every one of its 256 bytes is checked here against the
// exact table (`simdTable`); a block that fails, an E5M2 block, and the tail of each row
// segment go through the exact table, in WebAssembly too. So the output is the exact table's for
// every byte, by construction, whatever the scale.
//
// Each thread (the main one and every pool worker) has its own instance and memory; the caller's
// bytes are copied in and the results out, CALL_ELEMENTS at a time so that both copies and the
// kernel stay within a core's L2 cache.

import { BF16_NAN } from "../dtypes.js";
import { fillBlockTable } from "./block-table.js";
import type { BlockScaledWeight } from "./kernel.js";
import { KERNEL_WASM_BASE64 } from "./wasm-binary.js";

/** A block column's record in the module's memory: the exact table, T's low and high bytes, the flag. */
const RECORD_BYTES = 560;
const T_LOW = 512;
const T_HIGH = 528;
const FLAG = 544;

/** Elements per call: 64 KiB in, 128 KiB out. */
const CALL_ELEMENTS = 1 << 16;

/** Widest block grid `auto` gives this kernel (8 MiB of records); wider ones take the typed-array kernel. */
export const MAX_WASM_BLOCK_COLUMNS = Math.floor((8 << 20) / RECORD_BYTES);

interface KernelExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  dequant(src: number, dst: number, count: number, col: number, cols: number, bn: number, records: number): void;
}

/** The part of the WebAssembly JS API used here (TypeScript types it only in its DOM library). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: unknown };
}

const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
const bytes = Buffer.from(KERNEL_WASM_BASE64, "base64");

/** Whether this runtime has WebAssembly with SIMD (Node >= 16.4 does; a runtime built without it does not). */
export const WASM_KERNEL_AVAILABLE = api?.validate(bytes) === true;

let instance: KernelExports | undefined;
let mem8 = new Uint8Array(0);
let mem16 = new Uint16Array(0);
/** Which kernel's block row the records hold (the memory is this thread's, `run` is synchronous). */
let recordsOwner: WasmKernel | undefined;
let recordsRow = -1;

function kernelMemory(needed: number): KernelExports {
  instance ??= new api!.Instance(new api!.Module(bytes)).exports as KernelExports;
  const { memory } = instance;
  if (memory.buffer.byteLength < needed) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
  if (mem8.buffer !== memory.buffer) {
    mem8 = new Uint8Array(memory.buffer);
    mem16 = new Uint16Array(memory.buffer);
  }
  return instance;
}

/**
 * The E4M3 SIMD path's 16-entry table T for a block whose exact table is `exact` (256 bf16
 * results), or undefined when the .wat's formula would not give the exact result for every byte.
 */
export function simdTable(exact: Uint16Array): Uint16Array | undefined {
  const t = new Uint16Array(16);
  for (let m = 0; m < 8; m++) {
    t[m] = (exact[8 | m]! - 0x80) & 0xffff;
    t[8 | m] = exact[m]!;
  }
  for (let b = 0; b < 256; b++) {
    const e = b & 0x78;
    const formula = (b & 0x7f) === 0x7f ? BF16_NAN : ((t[e === 0 ? 8 | (b & 7) : b & 7]! + (e << 4)) & 0xffff) ^ ((b & 0x80) << 8);
    if (formula !== exact[b]) return undefined;
  }
  return t;
}

export class WasmKernel {
  private readonly bm: number;
  private readonly bn: number;
  private readonly gridCols: number;
  private readonly recordBytes: number;

  constructor(
    private readonly weight: BlockScaledWeight,
    private readonly decode: Float32Array,
  ) {
    [this.bm, this.bn] = weight.block;
    this.gridCols = Math.ceil(weight.cols / this.bn);
    this.recordBytes = Math.ceil((this.gridCols * RECORD_BYTES) / 64) * 64;
  }

  /** Dequantizes elements [start, start + src.length) into `out`; the caller has checked the range. */
  run(src: Uint8Array, start: number, out: Uint16Array): void {
    const cols = this.weight.cols;
    const srcAt = this.recordBytes;
    const dstAt = srcAt + CALL_ELEMENTS;
    const k = kernelMemory(dstAt + 2 * CALL_ELEMENTS);
    for (let done = 0; done < src.length; ) {
      const flat = start + done;
      const row = Math.floor(flat / cols);
      const br = Math.floor(row / this.bm);
      // One call stays within a block row, whose records are in memory.
      const count = Math.min(src.length - done, CALL_ELEMENTS, Math.min(this.weight.rows, (br + 1) * this.bm) * cols - flat);
      if (recordsOwner !== this || recordsRow !== br) this.fillRecords(br);
      mem8.set(src.subarray(done, done + count), srcAt);
      k.dequant(srcAt, dstAt, count, flat - row * cols, cols, this.bn, 0);
      out.set(mem16.subarray(dstAt >>> 1, (dstAt >>> 1) + count), done);
      done += count;
    }
  }

  private fillRecords(br: number): void {
    const simd = this.weight.dtype === "F8_E4M3";
    for (let c = 0; c < this.gridCols; c++) {
      const record = c * RECORD_BYTES;
      const exact = mem16.subarray(record >>> 1, (record >>> 1) + 256);
      fillBlockTable(this.decode, this.weight.scales[br * this.gridCols + c]!, exact, 0);
      const t = simd ? simdTable(exact) : undefined;
      mem8[record + FLAG] = t === undefined ? 0 : 1;
      for (let i = 0; t !== undefined && i < 16; i++) {
        mem8[record + T_LOW + i] = t[i]! & 0xff;
        mem8[record + T_HIGH + i] = t[i]! >>> 8;
      }
    }
    recordsOwner = this;
    recordsRow = br;
  }
}
