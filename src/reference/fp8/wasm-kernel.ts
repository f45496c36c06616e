// The FP8 kernel in WebAssembly SIMD (ci/wasm/fp8-kernel.wat, whose header states its formula):
// about three times the typed-array table kernel on one thread, with the same bits. Per block
// column it builds the block's exact 256-entry bf16 table (the .wat's `table`, block-table.ts's
// arithmetic) and, for E4M3, a 16-entry table T from which 16 bytes at a time are computed with
// two byte shuffles and a few integer operations. A block takes that path only when its scale
// lies in the range where the formula is exact for every byte (SIMD_SCALE_MIN..MAX, proved
// below), or else when every one of its 256 bytes checks against the exact table (`simdTable`);
// a block that fails, an E5M2 block, and the tail of each row segment go through the exact
// table, in WebAssembly too. So the output is the exact table's for every byte, whatever the scale.
//
// Every thread's instance works in the one kernel memory (arena.ts): buffers that live there are
// read and written in place; any other buffer is staged through the thread's scratch,
// CALL_ELEMENTS at a time, so that the copies and the kernel stay within a core's L2 cache.

import { BF16_NAN } from "../dtypes.js";
import { kernelArena } from "./arena.js";
import type { BlockScaledWeight } from "./kernel.js";
import { type SharedMemory, WEBASSEMBLY } from "./wasm-api.js";
import { KERNEL_WASM_BASE64 } from "./wasm-binary.js";

/** A block column's record: the exact table, T's low and high bytes, the SIMD flag (see the .wat). */
const RECORD_BYTES = 560;
const T_LOW = 512;
const T_HIGH = 528;
const FLAG = 544;

/** Elements per call for buffers staged through the scratch: 64 KiB in, 128 KiB out. */
const CALL_ELEMENTS = 1 << 16;

/** Widest block grid the kernel takes (1.1 MiB of records); `auto` gives wider ones to the typed-array kernel. */
export const MAX_WASM_BLOCK_COLUMNS = 2048;
const RECORDS_BYTES = MAX_WASM_BLOCK_COLUMNS * RECORD_BYTES;

/** Where in a thread's scratch the 128 positive bytes' decoded values (float32) sit for `table`. */
const DECODE_AT = RECORDS_BYTES + 3 * CALL_ELEMENTS;

/** A thread's scratch in the kernel memory: its block records, the staging area (one call's input and output), the decode values. */
export const SCRATCH_BYTES = DECODE_AT + 4 * 128;

const bytes = Buffer.from(KERNEL_WASM_BASE64, "base64");

/** Whether this runtime runs the module (WebAssembly with SIMD and shared memories: Node >= 16.4). */
export const WASM_KERNEL_AVAILABLE = WEBASSEMBLY?.validate(bytes) === true;

/** Where a task's buffers sit: a pool worker is told (pool.ts); the main thread works it out. */
export interface Placement {
  /** Offset of this thread's scratch (SCRATCH_BYTES, used by no other thread) in the kernel memory. */
  readonly scratch: number;
  /** Whether the input, and the output, are views of the kernel memory (computed in place). */
  readonly srcInMemory: boolean;
  readonly outInMemory: boolean;
}

interface KernelExports {
  dequant(src: number, dst: number, count: number, col: number, cols: number, bn: number, records: number): void;
  /** fillBlockTable's 256 results for the 128 decoded values at `decode` and `scale`, written at `out`. */
  table(decode: number, scale: number, out: number): void;
}

/** This thread's instance and views over the kernel memory's current extent. */
interface ThreadKernel {
  readonly exports: KernelExports;
  readonly memory: SharedMemory;
  mem8: Uint8Array;
  mem16: Uint16Array;
  memF32: Float32Array;
}

let adopted: SharedMemory | undefined;
let thread: ThreadKernel | undefined;
let mainScratch: number | undefined;
/** Which kernel's block row the records at which scratch hold (`run` is synchronous within a thread). */
let recordsOwner: WasmKernel | undefined;
let recordsRow = -1;
let recordsAt = -1;

/** A pool worker's kernel works in the memory of the thread that started it (pool-worker.ts). */
export function adoptKernelMemory(memory: SharedMemory): void {
  adopted = memory;
}

function threadKernel(): ThreadKernel {
  if (thread === undefined) {
    const memory = adopted ?? kernelArena().memory!;
    const instance = new WEBASSEMBLY!.Instance(new WEBASSEMBLY!.Module(bytes), { env: { memory } });
    thread = { exports: instance.exports as KernelExports, memory, mem8: new Uint8Array(0), mem16: new Uint16Array(0), memF32: new Float32Array(0) };
  }
  // Another thread may have grown the memory since the last call.
  const buffer = thread.memory.buffer;
  if (thread.mem8.length !== buffer.byteLength) {
    thread.mem8 = new Uint8Array(buffer);
    thread.mem16 = new Uint16Array(buffer);
    thread.memF32 = new Float32Array(buffer);
  }
  return thread;
}

/** The main thread's scratch in the kernel memory, taken on first use. */
export function mainThreadScratch(): number {
  mainScratch ??= kernelArena().takeScratch(SCRATCH_BYTES, true).byteOffset;
  return mainScratch;
}

/** The main thread's placement of its own call. */
function mainPlacement(src: Uint8Array, out: Uint16Array): Placement {
  const arena = kernelArena();
  return { scratch: mainThreadScratch(), srcInMemory: arena.offsetOf(src) !== undefined, outInMemory: arena.offsetOf(out) !== undefined };
}

/**
 * Block scales for which the formula is exact for every byte, without looking at the bytes. Every
 * normal E4M3 byte's product lies between 2^-6 |s| and 448 |s|; with |s| >= 2^-120 the smallest
 * is a normal float32, and with 448 |s| <= 2^127 the largest stays a factor of two inside float32's
 * range (a product that rounds to bf16 infinity would still be exact: the formula carries into
 * 0x7F80; what must not happen is float32 overflow, at 448 |s| >= 2^128). Within
 * that range rounding to float32 and then to bf16 (to nearest even, on the significand's bits)
 * commutes with multiplying by a power of two, which only adds to the exponent field, so
 * byte (e, m)'s result is byte (1, m)'s plus (e - 1) << 7: T's rows, by construction. Subnormal
 * bytes read their exact results from T, and NaN bytes are selected apart. 2^121 / 7 is
 * 2^127 / 448. The test checks the bounds against the 256-byte check on 40,000 scales, near them
 * and anywhere; the lower one is tight (the check fails just below 2^-120).
 */
export const SIMD_SCALE_MIN = 2 ** -120;
export const SIMD_SCALE_MAX = 2 ** 121 / 7;

/**
 * The E4M3 SIMD path's 16-entry table T for a block whose exact table is `exact` (256 bf16
 * results), or undefined when the .wat's formula would not give the exact result for every byte:
 * known from the block's `scale` when it lies in [SIMD_SCALE_MIN, SIMD_SCALE_MAX] in magnitude,
 * else checked byte by byte.
 */
export function simdTable(exact: Uint16Array, t: Uint16Array = new Uint16Array(16), scale = Number.NaN): Uint16Array | undefined {
  for (let m = 0; m < 8; m++) {
    t[m] = (exact[8 | m]! - 0x80) & 0xffff;
    t[8 | m] = exact[m]!;
  }
  const magnitude = Math.abs(scale);
  if (magnitude >= SIMD_SCALE_MIN && magnitude <= SIMD_SCALE_MAX) return t;
  for (let b = 0; b < 256; b++) {
    const formula = (b & 0x7f) === 0x7f ? BF16_NAN : ((t[T_INDEX[b]!]! + EXPONENT_ADD[b]!) & 0xffff) ^ ((b & 0x80) << 8);
    if (formula !== exact[b]) return undefined;
  }
  return t;
}

/**
 * The WebAssembly `table` export's 256 results for `decode` (a format's 256 decoded values) and
 * `scale`, for the test that holds it equal to fillBlockTable. Uses the main thread's scratch.
 */
export function wasmBlockTable(decode: Float32Array, scale: number): Uint16Array {
  const at = mainThreadScratch();
  const k = threadKernel();
  k.memF32.set(decode.subarray(0, 128), (at + DECODE_AT) >>> 2);
  k.exports.table(at + DECODE_AT, scale, at);
  // The records at this scratch no longer hold any kernel's block row.
  recordsOwner = undefined;
  return k.mem16.slice(at >>> 1, (at >>> 1) + 256);
}

/** Per byte, the formula's index into T and the addend of its exponent field, (e << 7). */
const T_INDEX = Uint8Array.from({ length: 256 }, (_, b) => ((b & 0x78) === 0 ? 8 | (b & 7) : b & 7));
const EXPONENT_ADD = Uint16Array.from({ length: 256 }, (_, b) => (b & 0x78) << 4);
/** The T of the block being recorded (`fillRecords` copies it into the record). */
const recordT = new Uint16Array(16);

export class WasmKernel {
  private readonly bm: number;
  private readonly bn: number;
  private readonly gridCols: number;

  constructor(
    private readonly weight: BlockScaledWeight,
    private readonly decode: Float32Array,
  ) {
    [this.bm, this.bn] = weight.block;
    this.gridCols = Math.ceil(weight.cols / this.bn);
    if (this.gridCols > MAX_WASM_BLOCK_COLUMNS)
      throw new RangeError(`the wasm kernel takes at most ${MAX_WASM_BLOCK_COLUMNS} block columns, not ${this.gridCols}`);
  }

  /** Dequantizes elements [start, start + src.length) into `out`; the caller has checked the range. */
  run(src: Uint8Array, start: number, out: Uint16Array, placement: Placement = mainPlacement(src, out)): void {
    const k = threadKernel();
    const { cols, rows } = this.weight;
    const { scratch, srcInMemory, outInMemory } = placement;
    const stageIn = scratch + RECORDS_BYTES;
    const stageOut = stageIn + CALL_ELEMENTS;
    const perCall = srcInMemory && outInMemory ? Number.MAX_SAFE_INTEGER : CALL_ELEMENTS;
    for (let done = 0; done < src.length; ) {
      const flat = start + done;
      const row = Math.floor(flat / cols);
      const br = Math.floor(row / this.bm);
      // One call stays within a block row, whose records are in the scratch.
      const count = Math.min(src.length - done, perCall, Math.min(rows, (br + 1) * this.bm) * cols - flat);
      if (recordsOwner !== this || recordsRow !== br || recordsAt !== scratch) this.fillRecords(k, br, scratch);
      const srcAt = srcInMemory ? src.byteOffset + done : stageIn;
      const outAt = outInMemory ? out.byteOffset + 2 * done : stageOut;
      if (!srcInMemory) k.mem8.set(src.subarray(done, done + count), stageIn);
      k.exports.dequant(srcAt, outAt, count, flat - row * cols, cols, this.bn, scratch);
      if (!outInMemory) out.set(k.mem16.subarray(stageOut >>> 1, (stageOut >>> 1) + count), done);
      done += count;
    }
  }

  private fillRecords(k: ThreadKernel, br: number, at: number): void {
    const simd = this.weight.dtype === "F8_E4M3";
    k.memF32.set(this.decode.subarray(0, 128), (at + DECODE_AT) >>> 2);
    for (let c = 0; c < this.gridCols; c++) {
      const record = at + c * RECORD_BYTES;
      const scale = this.weight.scales[br * this.gridCols + c]!;
      k.exports.table(at + DECODE_AT, scale, record);
      const exact = k.mem16.subarray(record >>> 1, (record >>> 1) + 256);
      const t = simd ? simdTable(exact, recordT, scale) : undefined;
      k.mem8[record + FLAG] = t === undefined ? 0 : 1;
      for (let i = 0; t !== undefined && i < 16; i++) {
        k.mem8[record + T_LOW + i] = t[i]! & 0xff;
        k.mem8[record + T_HIGH + i] = t[i]! >>> 8;
      }
    }
    recordsOwner = this;
    recordsRow = br;
    recordsAt = at;
  }
}
