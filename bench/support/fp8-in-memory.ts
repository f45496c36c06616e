// The in-memory series of bench:fp8 (bench/fp8-dequant.ts describes them): the numpy anchor, the
// kernel paths, the pool at each thread count over DRAM, in cache and with the typed-array kernel,
// the machine ceiling and the memory-copy ceiling, on synthetic FP8 experts built here, so that
// `--memory 0` builds none of them.

import { execFileSync, spawn } from "node:child_process";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join } from "node:path";
import type { findPython } from "../../src/bench/torch.js";
import { Xoshiro128 } from "../../src/fixtures-gen/prng.js";
import { kernelArena } from "../../src/reference/fp8/arena.js";
import { decodeScales } from "../../src/reference/fp8/formats.js";
import { Fp8Dequantizer, type KernelStrategy } from "../../src/reference/fp8/kernel.js";
import { DequantPool } from "../../src/reference/fp8/pool.js";
import { dequantView } from "../../src/reference/fp8/view.js";
import type { TensorMap } from "../../src/reference/tensor.js";
import { memoryWeights } from "../../src/reference/weights.js";
import { BLOCK, type Weight, makeExpert } from "./fp8-weights.js";
import { median } from "./measure.js";

export interface InMemorySettings {
  /** Experts, and their intermediate and hidden sizes (the anchor's workload). */
  readonly E: number;
  readonly I: number;
  readonly H: number;
  readonly RUNS: number;
  /** Thread counts of the pool's series, the first the baseline. */
  readonly THREADS: readonly number[];
  /** The repository root (the machine ceiling's child script is found from it). */
  readonly ROOT: string;
  /** The numpy anchor and its python, when found; `numpyOption` is --numpy ("0": not run). */
  readonly ANCHOR: string | undefined;
  readonly PYTHON: ReturnType<typeof findPython> | undefined;
  readonly numpyOption: string;
}

export async function inMemorySeries({ E, I, H, RUNS, THREADS, ROOT, ANCHOR, PYTHON, numpyOption }: InMemorySettings): Promise<void> {
  const POOL = 16;
  const rng = new Xoshiro128(12345);
  const expert = (): Weight[] => makeExpert(rng, I, H);
  const layer = expert();
  const pool = Array.from({ length: POOL }, expert);
  const elements = E * layer.reduce((a, w) => a + w.bytes.length, 0);
  const outputs = layer.map((w) => new Uint16Array(w.bytes.length));
  const poolOutputs = pool.map((ws) => ws.map((w) => new Uint16Array(w.bytes.length)));

  function kernelRun(
    weights: (e: number) => readonly Weight[],
    outs: (e: number) => readonly Uint16Array[],
    strategy: KernelStrategy,
    misalign = false,
  ): number {
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
      `numpy anchor: ${ANCHOR ?? (numpyOption === "0" ? "not run (--numpy 0)" : "NOT FOUND (give --anchor or set FP8_NUMPY_ANCHOR)")}${PYTHON === undefined ? "" : "reason" in PYTHON ? `; ${PYTHON.reason}` : ` with ${PYTHON.python} (numpy ${PYTHON.version})`}`,
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

  try {
    await inMemory();
  } finally {
    await Promise.all([...threadPools.values()].map((p) => p.close()));
  }
}
