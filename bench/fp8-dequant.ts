// FP8 block dequantization speed, side by side with the numpy anchor and a memory-copy ceiling.
//
//   npm run bench:fp8 -- [--experts 256] [--intermediate 512] [--hidden 2048] [--runs 3]
//
// Workload (the anchor's): one MoE layer, E experts x (gate [I, H], up [I, H], down [H, I]) FP8
// E4M3 with 128x128 float32 scales (rand * 0.02), 0x7F/0xFF bytes replaced by 0x3C, one expert at
// a time. Each run, interleaved so all see the same machine load:
//   numpy     python3 numpy_fp8_dequant.py E I H (its own timer: dequant only, data generation
//             excluded); found via $FP8_NUMPY_ANCHOR, ../shared/anchors/ or /work/shared/anchors/
//   kernel    Fp8Dequantizer per tensor (scale decode included) into a reused output buffer, as
//             the streaming view uses it; also with the direct path and a misaligned input (the
//             byte-gather fallback) as the alternatives
//   view      dequantView(memoryWeights(...)).readInto for every expert tensor: the library path
//   copy      the same bytes moved by native copies (n bytes read, 2n written per tensor): the
//             ceiling a kernel that only streams memory could reach
// The anchor's working set (3 input tensors reused by every expert, 6 MiB of output) stays in
// this machine's 32 MiB L3, so a second pair (kernel vs copy) cycles through 16 distinct experts
// (48 MiB in, 96 MiB out) to show how close the kernel gets to DRAM bandwidth.
// Reports medians over runs, elements/s and ratios. Timing on a shared machine is noisy: compare
// ratios from one run of this script, not absolute figures across runs.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { decodeScales } from "../src/reference/fp8/formats.js";
import { Fp8Dequantizer, type KernelStrategy } from "../src/reference/fp8/kernel.js";
import { dequantView } from "../src/reference/fp8/view.js";
import type { Tensor, TensorMap } from "../src/reference/tensor.js";
import { memoryWeights } from "../src/reference/weights.js";
import { Xoshiro128 } from "../src/fixtures-gen/prng.js";

const { values } = parseArgs({
  options: { experts: { type: "string", default: "256" }, intermediate: { type: "string", default: "512" }, hidden: { type: "string", default: "2048" }, runs: { type: "string", default: "3" } },
});
const E = Number(values.experts);
const I = Number(values.intermediate);
const H = Number(values.hidden);
const RUNS = Number(values.runs);
const BLOCK = 128;
const POOL = 16;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ANCHOR = [process.env.FP8_NUMPY_ANCHOR, join(ROOT, "..", "shared", "anchors", "numpy_fp8_dequant.py"), "/work/shared/anchors/numpy_fp8_dequant.py"].find(
  (p): p is string => p !== undefined && existsSync(p),
);

interface Weight {
  readonly shape: readonly [number, number];
  readonly bytes: Uint8Array;
  readonly scale: Tensor;
}

const rng = new Xoshiro128(12345);
const rand = (): number => rng.uniform();

function makeWeight(m: number, n: number): Weight {
  const bytes = new Uint8Array(m * n);
  for (let i = 0; i < bytes.length; i++) {
    const b = Math.floor(rand() * 256);
    bytes[i] = (b & 0x7f) === 0x7f ? 0x3c : b;
  }
  const grid = [Math.ceil(m / BLOCK), Math.ceil(n / BLOCK)];
  const scale = Float32Array.from({ length: grid[0]! * grid[1]! }, () => rand() * 0.02);
  return { shape: [m, n], bytes, scale: { dtype: "F32", shape: grid, data: new Uint8Array(scale.buffer) } };
}

const expert = (): Weight[] => [makeWeight(I, H), makeWeight(I, H), makeWeight(H, I)];
const layer = expert();
const pool = Array.from({ length: POOL }, expert);
const elements = E * layer.reduce((a, w) => a + w.bytes.length, 0);
const outputs = layer.map((w) => new Uint16Array(w.bytes.length));
const poolOutputs = pool.map((ws) => ws.map((w) => new Uint16Array(w.bytes.length)));

function kernelRun(weights: (e: number) => readonly Weight[], outs: (e: number) => readonly Uint16Array[], strategy: KernelStrategy, misalign = false): number {
  const shifted = misalign ? layer.map((w) => Uint8Array.from(w.bytes)) : [];
  const t0 = performance.now();
  for (let e = 0; e < E; e++) {
    const ws = weights(e);
    const os = outs(e);
    for (let t = 0; t < ws.length; t++) {
      const w = ws[t]!;
      const k = new Fp8Dequantizer({ dtype: "F8_E4M3", rows: w.shape[0], cols: w.shape[1], block: [BLOCK, BLOCK], scales: decodeScales(w.scale) }, strategy);
      k.run(misalign ? misaligned(shifted[t]!) : w.bytes, 0, os[t]!);
    }
  }
  return (performance.now() - t0) / 1000;
}

const misalignedCache = new Map<Uint8Array, Uint8Array>();
function misaligned(bytes: Uint8Array): Uint8Array {
  let m = misalignedCache.get(bytes);
  if (m === undefined) {
    m = new Uint8Array(bytes.length + 1).subarray(1);
    m.set(bytes);
    misalignedCache.set(bytes, m);
  }
  return m;
}

function copyRun(weights: (e: number) => readonly Weight[], outs: (e: number) => readonly Uint16Array[]): number {
  const t0 = performance.now();
  for (let e = 0; e < E; e++) {
    const ws = weights(e);
    const os = outs(e);
    for (let t = 0; t < ws.length; t++) {
      const src = ws[t]!.bytes;
      const o = os[t]!;
      const dst = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
      dst.set(src, 0);
      dst.set(src, src.length);
    }
  }
  return (performance.now() - t0) / 1000;
}

// The library path: a lazily dequantizing view over E experts' worth of tensors (sharing the
// three weights' bytes), each read into a reused buffer.
const viewMap: TensorMap = new Map();
for (let e = 0; e < E; e++) {
  ["gate_proj", "up_proj", "down_proj"].forEach((p, t) => {
    const w = layer[t]!;
    viewMap.set(`experts.${e}.${p}.weight`, { dtype: "F8_E4M3", shape: w.shape, data: w.bytes });
    viewMap.set(`experts.${e}.${p}.weight_scale_inv`, w.scale);
  });
}
const view = dequantView(memoryWeights(viewMap), { quantization_config: { quant_method: "fp8", fmt: "e4m3", weight_block_size: [BLOCK, BLOCK] } });
const viewTarget = new Uint8Array(2 * Math.max(...layer.map((w) => w.bytes.length)));

async function viewRun(): Promise<number> {
  const t0 = performance.now();
  for (const name of view.specs.keys()) await view.readInto(name, viewTarget, 0);
  return (performance.now() - t0) / 1000;
}

function numpyRun(): number | undefined {
  if (ANCHOR === undefined) return undefined;
  const out = execFileSync("python3", [ANCHOR, String(E), String(I), String(H)], { encoding: "utf8" });
  const m = /: ([\d.]+) s,/.exec(out);
  if (m === null) throw new Error(`cannot read the anchor's time from: ${out}`);
  return Number(m[1]);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
};

const inLayer = () => layer;
const outLayer = () => outputs;
const inPool = (e: number) => pool[e % POOL]!;
const outPool = (e: number) => poolOutputs[e % POOL]!;

const series: Record<string, number[]> = {};
const record = (name: string, seconds: number | undefined) => {
  if (seconds !== undefined) (series[name] ??= []).push(seconds);
};

// Warm up the JIT on a few experts' worth of work before timing.
for (let i = 0; i < 3; i++) {
  kernelRun(inLayer, outLayer, "auto");
  kernelRun(inLayer, outLayer, "direct");
  copyRun(inLayer, outLayer);
}
console.log(`FP8 dequant bench: ${E} experts x (2 x [${I}, ${H}] + [${H}, ${I}]) F8_E4M3, ${BLOCK}x${BLOCK} F32 scales; ${(elements / 1e6).toFixed(0)} M elements; ${RUNS} run(s), medians`);
console.log(`numpy anchor: ${ANCHOR ?? "NOT FOUND (set FP8_NUMPY_ANCHOR)"}`);
for (let r = 0; r < RUNS; r++) {
  record("numpy (anchor)", numpyRun());
  record("kernel, table path (auto)", kernelRun(inLayer, outLayer, "auto"));
  record("kernel, direct path", kernelRun(inLayer, outLayer, "direct"));
  record("kernel, misaligned input (byte gather)", kernelRun(inLayer, outLayer, "auto", true));
  record("view.readInto (library path)", await viewRun());
  record("copy ceiling (same bytes)", copyRun(inLayer, outLayer));
  record(`kernel, ${POOL} distinct experts (DRAM)`, kernelRun(inPool, outPool, "auto"));
  record(`copy ceiling, ${POOL} distinct experts (DRAM)`, copyRun(inPool, outPool));
  process.stderr.write(`run ${r + 1}/${RUNS} done\n`);
}

const med = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, median(v)]));
const numpy = med["numpy (anchor)"];
const table = med["kernel, table path (auto)"]!;
const width = Math.max(...Object.keys(med).map((k) => k.length));
console.log("");
for (const [name, s] of Object.entries(med)) {
  const rate = elements / s / 1e6;
  const vsNumpy = numpy === undefined ? "" : `  ${(numpy / s).toFixed(1)}x numpy`;
  const gbs = (3 * elements) / s / 1e9;
  console.log(`${name.padEnd(width)}  ${s.toFixed(3)} s  ${rate.toFixed(0).padStart(6)} M el/s  ${gbs.toFixed(2).padStart(5)} GB/s moved${vsNumpy}   [${series[name]!.map((x) => x.toFixed(3)).join(", ")}]`);
}
console.log("");
if (numpy !== undefined) {
  // Each run's numpy and kernel timings ran back to back, so their ratio shares that run's load.
  const perRun = series["numpy (anchor)"]!.map((t, r) => t / series["kernel, table path (auto)"]![r]!);
  console.log(`speed-up over numpy (medians, table path): ${(numpy / table).toFixed(1)}x (target >= 5x); per run ${perRun.map((x) => `${x.toFixed(1)}x`).join(", ")}, median ${median(perRun).toFixed(1)}x`);
}
console.log(`table path vs copy ceiling, in cache: ${((med["copy ceiling (same bytes)"]! / table) * 100).toFixed(0)}% of copy speed`);
console.log(`table path vs copy ceiling, DRAM:     ${((med[`copy ceiling, ${POOL} distinct experts (DRAM)`]! / med[`kernel, ${POOL} distinct experts (DRAM)`]!) * 100).toFixed(0)}% of copy speed`);
console.log("GB/s moved counts 1 byte read + 2 bytes written per element. The machine is shared with other jobs: figures are noisy, ratios within one run are what compare.");
