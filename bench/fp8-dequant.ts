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
// The in-memory series are in support/fp8-in-memory.ts, imported only when they run, so that
// `--memory 0` builds none of their data (about 150 MB of synthetic experts).
//
// Reports medians over runs and ratios. Timing on a shared machine is noisy: compare ratios from
// one run of this script, not absolute figures across runs.

import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { findAnchorScript, findPython } from "../src/bench/torch.js";
import { fmtMiB, median, options, runChecked } from "./support/measure.js";

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

const ROOT = resolve(import.meta.dirname, "..");
const searchRoots = [ROOT, process.cwd()];
const ANCHOR = o.numpy === "0" ? undefined : findAnchorScript("numpy_fp8_dequant.py", o.anchor || process.env.FP8_NUMPY_ANCHOR, searchRoots);
const PYTHON = ANCHOR === undefined ? undefined : findPython("numpy", o.python || undefined, searchRoots);

if (o.memory !== "0") await (await import("./support/fp8-in-memory.js")).inMemorySeries({ E, I, H, RUNS, THREADS, ROOT, ANCHOR, PYTHON, numpyOption: o.numpy });

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
