// FP8 block dequantization speed, side by side: the numpy anchor, the kernel on 1..N worker
// threads, a memory-copy ceiling, and the disk-to-disk `dequant` command against `cp -r`.
//
//   npm run bench:fp8 -- [--experts 256] [--intermediate 512] [--hidden 2048] [--runs 3]
//     [--threads 1,2] [--numpy 1] [--memory 1] [--disk 1] [--disk-experts 40] [--dir DIR] [--python PY] [--anchor numpy_fp8_dequant.py]
//
// In memory (the anchor's workload): one MoE layer, E experts x (gate [I, H], up [I, H], down
// [H, I]) FP8 E4M3 with 128x128 float32 scales (rand * 0.02), 0x7F/0xFF bytes replaced by 0x3C,
// one expert at a time. Each run, interleaved so all see the same machine load:
//   numpy     python numpy_fp8_dequant.py E I H (its own timer: dequant only, data generation
//             excluded); the anchor is --anchor, $FP8_NUMPY_ANCHOR, or shared/anchors/ beside an
//             ancestor of the package or the working directory; python is --python,
//             $MOE_PREFUSE_PYTHON, .venv/bin/python, python3 (the first with numpy)
//   kernel    Fp8Dequantizer per tensor (scale decode included) into a reused output buffer, as
//             the streaming view uses it: the default (`auto`, the WebAssembly SIMD kernel), and
//             side by side the typed-array table kernel, the direct path and the table kernel on
//             a misaligned input (its byte-gather fallback)
//   threads   DequantPool with 1..N threads over the same tensors in the kernel memory (an expert's
//             three tensors and the next experts' in flight, as the streaming paths keep them),
//             16 distinct experts cycled (DRAM), one expert (in cache), and 16 with the
//             typed-array kernel (3x slower per element, so the pool's own scaling shows before
//             memory bandwidth does); after untimed passes (a second of them for several
//             threads), POOL_PASSES timed passes per thread count, interleaved; the ratio to
//             one thread is the scaling curve
//   view      dequantView(memoryWeights(...)).readInto for every expert tensor: the library path
//   copy      the same bytes moved by native copies (n bytes read, 2n written per tensor): the
//             ceiling a kernel that only streams memory could reach
// The anchor's working set (3 input tensors reused by every expert, 6 MiB of output) stays in
// this machine's 32 MiB L3, so a second pair (kernel vs copy) cycles through 16 distinct experts
// (48 MiB in, 96 MiB out) to show how close the kernel gets to DRAM bandwidth.
//
// Disk to disk: `moe-prefuse gen qwen3_5_moe_fp8 --experts 40 --layers 2 --hidden 2048
// --intermediate 512` (about 400 MB of FP8, 800 MB dequantized) is written once; each run then
// times `cp -r` of its dequantized output and `node bin/moe-prefuse.js dequant --threads T` for
// each T (the built CLI, a fresh process: its start-up counts, as a user's would), with peak RSS
// from /usr/bin/time -v, and an I/O floor: a Node program that reads the input and writes as many
// bytes as the output, computing nothing. The dequant's copy-bandwidth fraction is cp's time over its time (both
// write the same 800 MB). The page cache holds the input, as it would after a download.
//
// Reports medians over runs and ratios. Timing on a shared machine is noisy: compare ratios from
// one run of this script, not absolute figures across runs.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { findAnchorScript, findPython } from "../src/bench/torch.js";
import { kernelArena } from "../src/reference/fp8/arena.js";
import { decodeScales } from "../src/reference/fp8/formats.js";
import { Fp8Dequantizer, type KernelStrategy } from "../src/reference/fp8/kernel.js";
import { DequantPool } from "../src/reference/fp8/pool.js";
import { dequantView } from "../src/reference/fp8/view.js";
import type { TensorMap } from "../src/reference/tensor.js";
import { memoryWeights } from "../src/reference/weights.js";
import { fmtMiB, median, options, runChecked } from "./support/measure.js";
import { Xoshiro128 } from "../src/fixtures-gen/prng.js";
import { BLOCK, type Weight, makeExpert } from "./support/fp8-weights.js";

const everyCore = Array.from({ length: availableParallelism() }, (_, k) => k + 1).join(",");
const o = options({
  experts: "256",
  intermediate: "512",
  hidden: "2048",
  runs: "3",
  threads: everyCore,
  numpy: "1",
  memory: "1",
  disk: "1",
  "disk-experts": "40",
  dir: join(tmpdir(), `moe-prefuse-fp8-bench-${process.pid}`),
  python: "",
  anchor: "",
});
const E = Number(o.experts);
const I = Number(o.intermediate);
const H = Number(o.hidden);
const RUNS = Number(o.runs);
const THREADS = o.threads.split(",").map(Number);
const POOL = 16;

const ROOT = resolve(import.meta.dirname, "..");
const searchRoots = [ROOT, process.cwd()];
const ANCHOR = o.numpy === "0" ? undefined : findAnchorScript("numpy_fp8_dequant.py", o.anchor || process.env.FP8_NUMPY_ANCHOR, searchRoots);
const PYTHON = ANCHOR === undefined ? undefined : findPython("numpy", o.python || undefined, searchRoots);

const rng = new Xoshiro128(12345);
const expert = (): Weight[] => makeExpert(rng, I, H);
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
  if (ANCHOR === undefined || PYTHON === undefined || "reason" in PYTHON) return undefined;
  const out = execFileSync(PYTHON.python, [ANCHOR, String(E), String(I), String(H)], { encoding: "utf8" });
  const m = /: ([\d.]+) s,/.exec(out);
  if (m === null) throw new Error(`cannot read the anchor's time from: ${out}`);
  return Number(m[1]);
}

// The pool's workers see shared memory only: the 16 distinct experts again, in buffers of the
// kernel memory, where the streaming view keeps its pieces (computed in place by every thread).
const inKernelMemory = (bytes: number): Uint8Array => kernelArena().take(bytes).subarray(0, bytes);
const sharedCopy = (b: Uint8Array): Uint8Array => {
  const c = inKernelMemory(b.length);
  c.set(b);
  return c;
};
const sharedPool = pool.map((ws) => ws.map((w) => ({ ...w, bytes: sharedCopy(w.bytes) })));
const sharedOutputs = pool.map((ws) =>
  ws.map((w) => {
    const b = inKernelMemory(2 * w.bytes.length);
    return new Uint16Array(b.buffer, b.byteOffset, w.bytes.length);
  }),
);
const threadPools = new Map(THREADS.map((t) => [t, new DequantPool(t)] as const));
/** Experts in flight at once: an expert's three tensors and the next ones', as the streaming paths keep the pool fed. */
const EXPERTS_IN_FLIGHT = 4;

/** The pool over `experts` of the distinct experts (16: DRAM; 1: its 9 MiB stay in L3), with the kernel of `strategy`. */
async function threadedRun(p: DequantPool, experts = POOL, strategy: KernelStrategy = "auto"): Promise<number> {
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let e = 0; e < E; e++) {
    const ws = sharedPool[e % experts]!;
    const os = sharedOutputs[e % experts]!;
    pending.push(
      Promise.all(
        ws.map((w, t) =>
          p.run(
            new Fp8Dequantizer({ dtype: "F8_E4M3", rows: w.shape[0], cols: w.shape[1], block: [BLOCK, BLOCK], scales: decodeScales(w.scale) }, strategy),
            w.bytes,
            0,
            os[t]!,
          ),
        ),
      ),
    );
    if (pending.length >= EXPERTS_IN_FLIGHT) await pending.shift();
  }
  await Promise.all(pending);
  return (performance.now() - t0) / 1000;
}

/** Timed passes of each thread count per run of this script, interleaved (1, 2, .., 1, 2, ..). */
const POOL_PASSES = 3;
/** Untimed work of each pool of several threads before its timed passes, ms. */
const POOL_WARMUP_MS = 1000;

/**
 * One series of the pool's scaling: untimed passes of each pool (one for one thread, at least
 * POOL_WARMUP_MS of them for more), then POOL_PASSES timed passes of each, interleaved so that
 * each pass of T threads is compared with the one-thread pass just before it (the same moment of
 * a shared machine). The other cores sat idle through the seconds of single-thread series
 * before (19 s of numpy alone), and the passes right after such a pause are the slowest: the
 * first two-thread passes after the kernel series took 0.108-0.121 s where later ones took
 * 0.099-0.105 s, and one untimed pass did not absorb it. The curve is that of a pool at work, as
 * through a long dequantization.
 */
async function poolSeriesRun(kind: keyof typeof POOL_SERIES, experts = POOL, strategy: KernelStrategy = "auto"): Promise<void> {
  for (const [t, p] of threadPools) {
    const until = performance.now() + (t > 1 ? POOL_WARMUP_MS : 0);
    do await threadedRun(p, experts, strategy);
    while (performance.now() < until);
  }
  for (let pass = 0; pass < POOL_PASSES; pass++) {
    for (const [t, p] of threadPools) record(poolSeries(t, kind), await threadedRun(p, experts, strategy));
  }
}

const KERNEL_CHILD = join(ROOT, "bench", "support", "fp8-kernel-child.ts");

/**
 * `n` one-thread kernel processes side by side (fp8-kernel-child.ts), told to start together
 * once all have built their weights: each one's POOL_PASSES pass times, seconds.
 */
async function sideBySide(n: number, seed: number): Promise<number[][]> {
  const children = Array.from({ length: n }, (_, k) =>
    spawn(process.execPath, ["--import", "tsx", KERNEL_CHILD, String(E), String(I), String(H), String(POOL_PASSES), String(seed + k)], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
    }),
  );
  const outputs = children.map((c) => {
    let text = "";
    c.stdout.setEncoding("utf8");
    const ready = new Promise<void>((resolve) =>
      c.stdout.on("data", (d: string) => {
        text += d;
        if (text.includes("ready\n")) resolve();
      }),
    );
    const exited = new Promise<string>((resolve, reject) =>
      c.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`kernel child exited with ${code}`)))),
    );
    return { ready, exited };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const c of children) c.stdin.end("go\n");
  const texts = await Promise.all(outputs.map((o) => o.exited));
  return texts.map((t) => (JSON.parse(t.trim().split("\n").at(-1)!) as { seconds: number[] }).seconds);
}

/**
 * Per run: one kernel process alone and two side by side, in turn first (so neither always runs
 * on a warmer machine); each pass's ratio 2 x alone / the pair's mean.
 */
async function machineCeiling(run: number): Promise<void> {
  const aloneFirst = run % 2 === 0;
  const first = await sideBySide(aloneFirst ? 1 : 2, 1000 * run);
  const second = await sideBySide(aloneFirst ? 2 : 1, 1000 * run + 100);
  const [alone] = aloneFirst ? first : second;
  const pair = aloneFirst ? second : first;
  for (let pass = 0; pass < POOL_PASSES; pass++) {
    ceiling.push((2 * alone![pass]!) / ((pair[0]![pass]! + pair[1]![pass]!) / 2));
  }
}
const ceiling: number[] = [];

const inLayer = () => layer;
const outLayer = () => outputs;
const inPool = (e: number) => pool[e % POOL]!;
const outPool = (e: number) => poolOutputs[e % POOL]!;

const POOL_SERIES = {
  DRAM: `${POOL} distinct experts (DRAM)`,
  cache: "one expert (in cache)",
  table: `typed-array table kernel, ${POOL} distinct experts`,
} as const;
const poolSeries = (threads: number, kind: keyof typeof POOL_SERIES): string => `pool, ${threads} thread(s), ${POOL_SERIES[kind]}`;
const AUTO = "kernel, WebAssembly SIMD (auto)";
const TABLE = "kernel, typed-array table";
const series: Record<string, number[]> = {};
const record = (name: string, seconds: number | undefined) => {
  if (seconds !== undefined) series[name] = [...(series[name] ?? []), seconds];
};

/** The in-memory series (`--memory 0` skips them): kernels, pools, machine ceiling; medians and ratios. */
async function inMemory(): Promise<void> {
  // Warm up the JIT on a few experts' worth of work before timing.
  for (let i = 0; i < 3; i++) {
    for (const strategy of ["auto", "table", "direct"] as const) kernelRun(inLayer, outLayer, strategy);
    copyRun(inLayer, outLayer);
  }
  for (const p of threadPools.values()) await threadedRun(p);
  console.log(
    `machine: ${cpus()[0]?.model ?? "?"}, ${availableParallelism()} cores available, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")} (shared machines give noisy figures)`,
  );
  console.log(
    `FP8 dequant bench: ${E} experts x (2 x [${I}, ${H}] + [${H}, ${I}]) F8_E4M3, ${BLOCK}x${BLOCK} F32 scales; ${(elements / 1e6).toFixed(0)} M elements; ${RUNS} run(s), medians`,
  );
  console.log(
    `numpy anchor: ${ANCHOR ?? (o.numpy === "0" ? "not run (--numpy 0)" : "NOT FOUND (give --anchor or set FP8_NUMPY_ANCHOR)")}${PYTHON === undefined ? "" : "reason" in PYTHON ? `; ${PYTHON.reason}` : ` with ${PYTHON.python} (numpy ${PYTHON.version})`}`,
  );
  for (let r = 0; r < RUNS; r++) {
    record("numpy (anchor)", numpyRun());
    record(AUTO, kernelRun(inLayer, outLayer, "auto"));
    record(TABLE, kernelRun(inLayer, outLayer, "table"));
    record("kernel, direct path", kernelRun(inLayer, outLayer, "direct"));
    record("kernel, typed-array table, misaligned input (byte gather)", kernelRun(inLayer, outLayer, "table", true));
    record("view.readInto (library path)", await viewRun());
    record("copy ceiling (same bytes)", copyRun(inLayer, outLayer));
    record(`kernel, ${POOL} distinct experts (DRAM)`, kernelRun(inPool, outPool, "auto"));
    record(`kernel, typed-array table, ${POOL} distinct experts (DRAM)`, kernelRun(inPool, outPool, "table"));
    record(`copy ceiling, ${POOL} distinct experts (DRAM)`, copyRun(inPool, outPool));
    await poolSeriesRun("DRAM");
    await poolSeriesRun("cache", 1);
    await poolSeriesRun("table", POOL, "table");
    if (availableParallelism() >= 2) await machineCeiling(r);
    process.stderr.write(`run ${r + 1}/${RUNS} done\n`);
  }

  const med = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, median(v)]));
  const numpy = med["numpy (anchor)"];
  const auto = med[AUTO]!;
  const width = Math.max(...Object.keys(med).map((k) => k.length));
  console.log("");
  for (const [name, s] of Object.entries(med)) {
    const rate = elements / s / 1e6;
    const vsNumpy = numpy === undefined ? "" : `  ${(numpy / s).toFixed(1)}x numpy`;
    const gbs = (3 * elements) / s / 1e9;
    console.log(
      `${name.padEnd(width)}  ${s.toFixed(3)} s  ${rate.toFixed(0).padStart(6)} M el/s  ${gbs.toFixed(2).padStart(5)} GB/s moved${vsNumpy}   [${series[name]!.map((x) => x.toFixed(3)).join(", ")}]`,
    );
  }
  console.log("");
  if (numpy !== undefined) {
    // Each run's numpy and kernel timings ran back to back, so their ratio shares that run's load.
    const perRun = series["numpy (anchor)"]!.map((t, r) => t / series[AUTO]![r]!);
    console.log(
      `speed-up over numpy (medians, default kernel): ${(numpy / auto).toFixed(1)}x (target >= 5x); per run ${perRun.map((x) => `${x.toFixed(1)}x`).join(", ")}, median ${median(perRun).toFixed(1)}x`,
    );
  }
  const wasmPerRun = series[TABLE]!.map((t, r) => t / series[AUTO]![r]!);
  console.log(
    `WebAssembly SIMD vs typed-array table kernel, one thread: ${(med[TABLE]! / auto).toFixed(2)}x in cache, ${(med[`kernel, typed-array table, ${POOL} distinct experts (DRAM)`]! / med[`kernel, ${POOL} distinct experts (DRAM)`]!).toFixed(2)}x DRAM; per run (in cache) ${wasmPerRun.map((x) => `${x.toFixed(2)}x`).join(", ")}`,
  );
  console.log(`default kernel vs copy ceiling, in cache: ${((med["copy ceiling (same bytes)"]! / auto) * 100).toFixed(0)}% of copy speed`);
  console.log(
    `default kernel vs copy ceiling, DRAM:     ${((med[`copy ceiling, ${POOL} distinct experts (DRAM)`]! / med[`kernel, ${POOL} distinct experts (DRAM)`]!) * 100).toFixed(0)}% of copy speed`,
  );
  for (const kind of ["DRAM", "cache", "table"] as const) {
    const one = series[poolSeries(THREADS[0]!, kind)]!;
    for (const t of THREADS) {
      const runs = series[poolSeries(t, kind)]!;
      // Each pass against the one-thread pass just before it.
      const perPass = runs.map((x, r) => one[r]! / x);
      const target = t === 2 && THREADS[0] === 1 ? " (target >= 1.8x)" : "";
      console.log(
        `${poolSeries(t, kind)}: ${(elements / median(runs) / 1e6).toFixed(0)} M el/s, ${(median(one) / median(runs)).toFixed(2)}x ${THREADS[0]} thread(s)${target}; per pass ${perPass.map((x) => `${x.toFixed(2)}x`).join(", ")} (median ${median(perPass).toFixed(2)}x)`,
      );
    }
  }
  if (ceiling.length > 0) {
    console.log(
      `machine ceiling, two one-thread kernel processes side by side (16 distinct experts, DRAM): ${median(ceiling).toFixed(2)}x one alone (median); per pass ${ceiling.map((x) => `${x.toFixed(2)}x`).join(", ")}`,
    );
  }
  console.log(
    "GB/s moved counts 1 byte read + 2 bytes written per element. The machine is shared with other jobs: figures are noisy, ratios within one run are what compare.",
  );
}

if (o.memory !== "0") await inMemory();
await Promise.all([...threadPools.values()].map((p) => p.close()));

const IO_FLOOR = "I/O floor (node: read the FP8 file, write as many bytes as the BF16 one, no compute)";
/**
 * What any Node program pays to turn the FP8 file into a file of the BF16 size: start-up, the
 * input read in 1 MiB pieces and the output written in 2 MiB pieces, each read overlapping the
 * previous write, nothing computed. The distance from it to `dequant` is the computation's share.
 */
const IO_FLOOR_PROGRAM = `
import { open } from "node:fs/promises";
const [input, output] = process.argv.slice(1);
const src = await open(input);
const dst = await open(output, "wx");
const { size } = await src.stat();
const N = 1 << 20;
const ins = [Buffer.alloc(N), Buffer.alloc(N)];
const outs = [Buffer.alloc(2 * N), Buffer.alloc(2 * N)];
let read = src.read(ins[0], 0, N, 0);
let write = Promise.resolve();
for (let at = 0, k = 0; at < size; at += N, k++) {
  const { bytesRead } = await read;
  if (at + N < size) read = src.read(ins[(k + 1) % 2], 0, N, at + N);
  await write;
  write = dst.write(outs[k % 2], 0, 2 * bytesRead, 2 * at);
}
await write;
await Promise.all([src.close(), dst.close()]);
`;

if (o.disk !== "0") diskToDisk();

/** `moe-prefuse dequant` of a ~400 MB FP8 checkpoint against `cp -r` of its 800 MB output. */
function diskToDisk(): void {
  const node = process.execPath;
  const bin = join(ROOT, "bin", "moe-prefuse.js");
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true });
  const input = join(o.dir, "fp8");
  const reference = join(o.dir, "bf16");
  const copy = join(o.dir, "copy");
  const out = join(o.dir, "out");
  try {
    runChecked(node, [bin, "gen", "qwen3_5_moe_fp8", input, "--experts", o["disk-experts"], "--layers", "2", "--hidden", "2048", "--intermediate", "512"]);
    runChecked(node, [bin, "dequant", input, reference, "--threads", "1"]);
    const size = (dir: string) => Number(spawnSync("du", ["-sb", dir], { encoding: "utf8" }).stdout.split("\t")[0]);
    const [inBytes, outBytes] = [size(input), size(reference)];
    console.log("");
    console.log(
      `disk to disk: dequant of ${(inBytes / 1e6).toFixed(0)} MB FP8 (qwen3_5_moe_fp8, ${o["disk-experts"]} experts x 2 layers, H 2048, I 512) into ${(outBytes / 1e6).toFixed(0)} MB BF16, vs cp -r of that output; ${RUNS} run(s), medians`,
    );
    const wall: Record<string, number[]> = {};
    const rss: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    const note = (name: string, run: { wallMs: number; maxRssKiB: number; cpuMs: number }) => {
      wall[name] = [...(wall[name] ?? []), run.wallMs];
      rss[name] = [...(rss[name] ?? []), run.maxRssKiB];
      cpu[name] = [...(cpu[name] ?? []), run.cpuMs];
    };
    for (let r = 0; r < RUNS; r++) {
      rmSync(copy, { recursive: true, force: true });
      const c = runChecked("cp", ["-r", reference, copy]);
      note("cp -r", c);
      rmSync(copy, { recursive: true, force: true });
      mkdirSync(copy);
      note(IO_FLOOR, runChecked(node, ["--input-type=module", "-e", IO_FLOOR_PROGRAM, join(input, "model.safetensors"), join(copy, "model.safetensors")]));
      for (const t of THREADS) {
        rmSync(out, { recursive: true, force: true });
        const d = runChecked(node, [bin, "dequant", input, out, "--threads", String(t)]);
        note(`dequant --threads ${t}`, d);
        if (r === 0 && spawnSync("cmp", [join(out, "model.safetensors"), join(reference, "model.safetensors")]).status !== 0)
          throw new Error(`dequant --threads ${t} wrote other bytes than --threads 1`);
      }
      process.stderr.write(`disk run ${r + 1}/${RUNS} done\n`);
    }
    console.log(
      `load average at the end: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}`,
    );
    const cp = median(wall["cp -r"]!);
    const floor = median(wall[IO_FLOOR]!);
    const secs = (xs: readonly number[]) => `[${xs.map((x) => (x / 1000).toFixed(2)).join(", ")}]`;
    console.log(
      `cp -r: ${(cp / 1000).toFixed(2)} s, ${(outBytes / cp / 1e6).toFixed(2)} GB/s, cpu ${(median(cpu["cp -r"]!) / 1000).toFixed(2)} s   ${secs(wall["cp -r"]!)}`,
    );
    console.log(
      `${IO_FLOOR}: ${(floor / 1000).toFixed(2)} s, ${(floor / cp).toFixed(2)}x cp -r, cpu ${(median(cpu[IO_FLOOR]!) / 1000).toFixed(2)} s   ${secs(wall[IO_FLOOR]!)}`,
    );
    for (const t of THREADS) {
      const name = `dequant --threads ${t}`;
      const ms = median(wall[name]!);
      // Each run's dequant and cp ran back to back, so their ratio shares that run's load; on a VM
      // whose new pages cost the host's faults some minutes and not others, `cp -r` alone swings
      // several-fold, and the median of these ratios is steadier than the ratio of the medians.
      const ratios = wall[name]!.map((x, r) => x / wall["cp -r"]![r]!);
      const perRun = `${ratios.map((x) => `${x.toFixed(2)}x`).join(", ")} (median ${median(ratios).toFixed(2)}x)`;
      console.log(
        `${name}: ${(ms / 1000).toFixed(2)} s, ${(ms / cp).toFixed(2)}x cp -r (target <= 2.5x), ${(ms / floor).toFixed(2)}x the I/O floor, ${((cp / ms) * 100).toFixed(0)}% of the copy bandwidth, cpu ${(median(cpu[name]!) / 1000).toFixed(2)} s, peak RSS ${fmtMiB(Math.max(...rss[name]!))} (target <= 400 MiB); per run ${perRun}   ${secs(wall[name]!)}`,
      );
    }
  } finally {
    rmSync(o.dir, { recursive: true, force: true });
  }
}
