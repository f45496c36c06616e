// How fast the fixture generator writes a benchmark-scale checkpoint, side by side with
// writing the same number of bytes from /dev/zero with dd (the speed of the disk path alone).
//
//   npm run bench:gen -- [--layers 8] [--experts 256] [--hidden 2048] [--intermediate 512] [--runs 3] [--dir DIR]
//
// Workload: `moe-prefuse gen qwen3_5_moe` with E=256, I=512, H=2048, 8 layers and no MTP layer:
// 12 GiB of per-expert BF16 weights (plus a few MiB of attention, norms and embeddings), in one
// process of the built CLI, as a benchmark would call it. Baseline: `dd if=/dev/zero bs=16M` of
// exactly as many bytes as the checkpoint's files. Runs alternate (dd, gen, dd, gen, ...) so both
// see the same machine load; each output is deleted as soon as it is timed (the disk is shared)
// and `sync` runs, untimed, before the next. Reports wall times, medians and the ratio gen/dd
// (target: at most 2), with CPU times (less distorted by a busy machine) and the peak RSS.

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type ChildRun, fmtMiB, median, runMeasured } from "./support/measure.js";

const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "8" },
    experts: { type: "string", default: "256" },
    hidden: { type: "string", default: "2048" },
    intermediate: { type: "string", default: "512" },
    runs: { type: "string", default: "3" },
    dir: { type: "string", default: join(tmpdir(), `moe-prefuse-gen-bench-${process.pid}`) },
  },
});
const RUNS = Number(values.runs);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "moe-prefuse.js");
const work = values.dir;
mkdirSync(work, { recursive: true });

function timed(cmd: string, args: readonly string[]): ChildRun {
  const r = runMeasured(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r;
}

function bytesIn(dir: string): number {
  return readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
}

function secs(t: ChildRun): string {
  return (t.wallMs / 1000).toFixed(2);
}

function settle(path: string): void {
  rmSync(path, { recursive: true, force: true });
  spawnSync("sync");
}

const genArgs = [
  "gen",
  "qwen3_5_moe",
  "--experts",
  values.experts,
  "--hidden",
  values.hidden,
  "--intermediate",
  values.intermediate,
  "--layers",
  values.layers,
  "--mtp-layers",
  "0",
];

// One generation first, untimed, to learn the exact byte count dd must write.
const probe = join(work, "probe");
timed(process.execPath, [BIN, ...genArgs, probe]);
const bytes = bytesIn(probe);
settle(probe);
console.log(
  `gen speed bench: ${genArgs.slice(1).join(" ")} -> ${(bytes / 2 ** 30).toFixed(2)} GiB; baseline dd bs=16M of the same ${bytes} bytes; ${RUNS} run(s) alternating, medians`,
);
console.log(`machine: ${hostname()}, shared with other jobs (timings are noisy: compare the ratio)`);

const dd: ChildRun[] = [];
const gen: ChildRun[] = [];
for (let r = 0; r < RUNS; r++) {
  const zero = join(work, "zero.bin");
  dd.push(timed("dd", ["if=/dev/zero", `of=${zero}`, "bs=16M", `count=${bytes}`, "iflag=count_bytes", "status=none"]));
  settle(zero);
  const out = join(work, "ckpt");
  gen.push(timed(process.execPath, [BIN, ...genArgs, out]));
  if (bytesIn(out) !== bytes) throw new Error("the generated checkpoint changed size between runs");
  settle(out);
  process.stderr.write(`run ${r + 1}/${RUNS}: dd ${secs(dd[r]!)} s, gen ${secs(gen[r]!)} s\n`);
}
rmSync(work, { recursive: true, force: true });

const mdd = median(dd.map((t) => t.wallMs / 1000));
const mgen = median(gen.map((t) => t.wallMs / 1000));
const gbs = (s: number) => (bytes / s / 1e9).toFixed(2);
const cpu = (runs: ChildRun[]) => `CPU ${(median(runs.map((t) => t.cpuMs)) / 1000).toFixed(2)} s`;
console.log("");
console.log(`dd /dev/zero      ${mdd.toFixed(2)} s  ${gbs(mdd)} GB/s  ${cpu(dd)}   [${dd.map(secs).join(", ")}]`);
console.log(
  `moe-prefuse gen   ${mgen.toFixed(2)} s  ${gbs(mgen)} GB/s  ${cpu(gen)}   [${gen.map(secs).join(", ")}]  peak RSS ${fmtMiB(Math.max(...gen.map((t) => t.maxRssKiB)))}`,
);
const perRun = gen.map((g, r) => g.wallMs / dd[r]!.wallMs);
console.log(
  `gen / dd: ${(mgen / mdd).toFixed(2)}x of medians (target <= 2x); per run ${perRun.map((x) => `${x.toFixed(2)}x`).join(", ")}, median ${median(perRun).toFixed(2)}x`,
);
