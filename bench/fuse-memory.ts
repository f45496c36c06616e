// Benchmark (a): in-memory fuse of one MoE layer (default E=256, I=512, H=2048 bf16, 1.5 GiB
// out) against torch writing the same experts into a preallocated tensor
// (anchors/torch_prefuse.py prealloc), run side by side, alternating, each run in a fresh
// process. Reports the ratio of median fuse times and the extra peak RSS of our fuse (maxRSS
// after minus maxRSS before, in the same child) against the output size.
//
//   npm run bench:fuse-memory -- [--runs 5] [--python PY] [--anchor torch_prefuse.py]
//     [--E 256 --I 512 --H 2048 --chunk 16]
// Python and anchor are found as `moe-prefuse bench` finds them (src/bench/torch.ts).

import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { discoverTorch } from "../src/bench/torch.js";
import { GiB, median, options, runChecked } from "./support/measure.js";

const o = options({
  runs: "5",
  E: "256",
  I: "512",
  H: "2048",
  chunk: "16",
  python: "",
  anchor: "",
});
const root = resolve(import.meta.dirname, "..");
const found = discoverTorch({ python: o.python || undefined, anchor: o.anchor || undefined, searchRoots: [root, process.cwd()] });
if ("unavailable" in found) throw new Error(`this benchmark compares against torch: ${found.unavailable.reason}`);
const { python, anchor } = found.setup;
const child = join(root, "bench", "support", "fuse-memory-child.ts");
const tsx = join(root, "node_modules", ".bin", "tsx");

interface Ours {
  fuseSeconds: number;
  baseKiB: number;
  peakKiB: number;
  outBytes: number;
  ok: boolean;
}

const ours: Ours[] = [];
const torch: { seconds: number; maxRssKiB: number }[] = [];
for (let r = 0; r < Number(o.runs); r++) {
  const runOurs = () => {
    const p = spawnSync(tsx, [child, o.E, o.I, o.H, o.chunk], { encoding: "utf8", maxBuffer: 1 << 20 });
    if (p.status !== 0) throw new Error(`our fuse failed: ${p.stderr}`);
    const res = JSON.parse(p.stdout.trim().split("\n").at(-1)!) as Ours;
    if (!res.ok) throw new Error("our fuse wrote wrong bytes");
    ours.push(res);
  };
  const runTorch = () => {
    const t = runChecked(python, [anchor, "prealloc", o.E, o.I, o.H]);
    const m = /fuse_s=([\d.]+)/.exec(t.stdout);
    if (m === null) throw new Error(`unexpected anchor output: ${t.stdout}`);
    torch.push({ seconds: Number(m[1]), maxRssKiB: t.maxRssKiB });
  };
  // Alternate the order so neither side always runs on a warmer machine.
  for (const run of r % 2 === 0 ? [runOurs, runTorch] : [runTorch, runOurs]) run();
  const a = ours.at(-1)!;
  const b = torch.at(-1)!;
  console.error(
    `run ${r + 1}: ours ${a.fuseSeconds.toFixed(3)} s (+${((a.peakKiB - a.baseKiB) / 1024).toFixed(0)} MiB peak), torch prealloc ${b.seconds.toFixed(3)} s`,
  );
}

const outBytes = ours[0]!.outBytes;
const extra = ours.map((x) => (x.peakKiB - x.baseKiB) * 1024);
const report = {
  shape: { E: Number(o.E), I: Number(o.I), H: Number(o.H), dtype: "BF16", chunk: Number(o.chunk) },
  runs: Number(o.runs),
  outputGiB: outBytes / GiB,
  oursSeconds: { median: median(ours.map((x) => x.fuseSeconds)), all: ours.map((x) => x.fuseSeconds) },
  torchPreallocSeconds: { median: median(torch.map((x) => x.seconds)), all: torch.map((x) => x.seconds) },
  timeRatioOursOverTorch: median(ours.map((x) => x.fuseSeconds)) / median(torch.map((x) => x.seconds)),
  extraPeakOverOutput: { median: median(extra) / outBytes, max: Math.max(...extra) / outBytes },
  torchProcessPeakGiB: median(torch.map((x) => x.maxRssKiB)) / (1 << 20),
  torch: { python, version: found.setup.version, anchor },
};
console.log(JSON.stringify(report, null, 2));
