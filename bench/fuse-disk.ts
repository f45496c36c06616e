// Benchmark (b): `moe-prefuse fuse` of a synthetic per-expert checkpoint on disk (default 8
// layers of E=256, I=512, H=2048 bf16, about 12 GiB) against `cp -r` of the same checkpoint,
// side by side, alternating, `sync` between runs (not timed). Reports the ratio of median wall
// times and the fuse's peak RSS (GNU time). Needs about 2.1x the checkpoint size of free disk
// while it runs (input plus one output at a time); everything is deleted at the end.
//
//   npm run bench:fuse-disk -- --layers 8 --runs 3 [--dir /tmp/x] [--chunk 16]

import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Checkpoint } from "../src/reference/checkpoint.js";
import { type ChildRun, GiB, median, options, runChecked } from "./support/measure.js";
import { writeSyntheticCheckpoint } from "./support/synthetic-checkpoint.js";

const o = options({ layers: "8", runs: "3", E: "256", I: "512", H: "2048", chunk: "16", dir: join(tmpdir(), `moe-prefuse-bench-${process.pid}`) });
const root = resolve(import.meta.dirname, "..");
const shape = { layers: Number(o.layers), E: Number(o.E), I: Number(o.I), H: Number(o.H) };
const dir = o.dir;
const input = join(dir, "in");

const cleanup = () => rmSync(dir, { recursive: true, force: true });
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.once(sig, () => {
    cleanup();
    process.exit(130);
  });

/** Compares expert e's up rows in the fused output with the input tensor. */
async function spotCheck(out: string, layer: number, e: number): Promise<void> {
  const src = await Checkpoint.open(input);
  const dst = await Checkpoint.open(out);
  try {
    const up = await src.read(`model.layers.${layer}.mlp.experts.${e}.up_proj.weight`);
    const fused = dst.get(`model.layers.${layer}.mlp.experts.gate_up_proj`);
    const slice = new Uint8Array(up.data.length);
    await fused.file.readInto(fused.name, slice, 0, (2 * e + 1) * up.data.length, up.data.length);
    if (!Buffer.from(slice).equals(up.data)) throw new Error(`fused output differs from the input at layer ${layer} expert ${e}`);
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}

try {
  execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
  mkdirSync(dir, { recursive: true });
  const expertBytes = shape.layers * shape.E * 3 * shape.I * shape.H * 2;
  const { bavail, bsize } = statfsSync(dir);
  if (bavail * bsize < 2.2 * expertBytes) throw new Error(`needs about ${((2.2 * expertBytes) / GiB).toFixed(1)} GiB free under ${dir}`);

  let t = performance.now();
  const bytes = await writeSyntheticCheckpoint(input, shape);
  console.error(`generated ${(bytes / GiB).toFixed(2)} GiB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  spawnSync("sync");

  const cp: ChildRun[] = [];
  const fuse: ChildRun[] = [];
  for (let r = 0; r < Number(o.runs); r++) {
    const runCp = () => {
      const out = join(dir, "cp");
      cp.push(runChecked("cp", ["-r", input, out]));
      rmSync(out, { recursive: true, force: true });
      spawnSync("sync");
    };
    const runFuse = async () => {
      const out = join(dir, "fused");
      const res = runChecked(process.execPath, [join(root, "bin", "moe-prefuse.js"), "fuse", input, out, "--chunk", o.chunk, "--json"]);
      const report = JSON.parse(res.stdout) as { plan: { summary: { fused: number } } };
      if (report.plan.summary.fused !== shape.layers) throw new Error(`expected ${shape.layers} fused layers: ${res.stdout.slice(0, 500)}`);
      if (r === 0) await spotCheck(out, shape.layers - 1, shape.E - 1);
      fuse.push(res);
      rmSync(out, { recursive: true, force: true });
      spawnSync("sync");
    };
    if (r % 2 === 0) {
      runCp();
      await runFuse();
    } else {
      await runFuse();
      runCp();
    }
    const [c, f] = [cp.at(-1)!, fuse.at(-1)!];
    console.error(
      `run ${r + 1}: cp -r ${(c.wallMs / 1000).toFixed(1)} s (cpu ${(c.cpuMs / 1000).toFixed(1)}), fuse ${(f.wallMs / 1000).toFixed(1)} s (cpu ${(f.cpuMs / 1000).toFixed(1)}, peak RSS ${(f.maxRssKiB / 1024).toFixed(0)} MiB)`,
    );
  }
  t = median(fuse.map((f) => f.wallMs / 1000));
  const cpu = (xs: ChildRun[]) => median(xs.map((x) => x.cpuMs / 1000));
  console.log(
    JSON.stringify(
      {
        shape: { ...shape, dtype: "BF16", chunk: Number(o.chunk) },
        checkpointGiB: bytes / GiB,
        runs: Number(o.runs),
        cpSeconds: { median: median(cp.map((c) => c.wallMs / 1000)), all: cp.map((c) => c.wallMs / 1000), cpuMedian: cpu(cp) },
        fuseSeconds: { median: t, all: fuse.map((f) => f.wallMs / 1000), cpuMedian: cpu(fuse) },
        timeRatioFuseOverCp: t / median(cp.map((c) => c.wallMs / 1000)),
        cpuRatioFuseOverCp: cpu(fuse) / cpu(cp),
        fusePeakRssMiB: { max: Math.max(...fuse.map((f) => f.maxRssKiB)) / 1024, all: fuse.map((f) => f.maxRssKiB / 1024) },
        loadAverage: readFileSync("/proc/loadavg", "utf8").trim(),
      },
      null,
      2,
    ),
  );
} finally {
  cleanup();
}
