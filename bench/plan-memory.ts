// Validates `moe-prefuse plan`'s memory figures: for synthetic per-expert checkpoints of
// different shapes, the predicted peak of each way of prefusing (planCheckpoint, from headers)
// against the measured one: the peak RSS of a fresh child doing it (bench/support/
// plan-memory-child.ts) minus the peak RSS of an idle child (same modules, checkpoint opened).
// Medians over --runs runs; prints a Markdown table and the raw figures as JSON.
//
//   npm run bench:plan-memory -- [--runs 3] [--chunk 16] [--shapes wide-2L,...] [--dir /tmp/...] [--keep no]

import { mkdtempSync, rmSync } from "node:fs";
import { cpus, hostname, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { localHeaders, planCheckpoint } from "../src/plan/plan.js";
import { MEMORY_STRATEGIES } from "../src/plan/memory.js";
import { formatBytes } from "../src/reference/size.js";
import { median, options, runChecked } from "./support/measure.js";
import { type SyntheticMoe, writeSyntheticCheckpoint } from "./support/synthetic-checkpoint.js";

const o = options({ runs: "3", chunk: "16", shapes: "", dir: "", keep: "no" });
const runs = Number(o.runs);
const chunk = Number(o.chunk);
const root = resolve(import.meta.dirname, "..");
const child = join(root, "bench", "support", "plan-memory-child.ts");
const work = o.dir || mkdtempSync(join(tmpdir(), "plan-memory-"));

/**
 * Wide experts over two layers; few tall experts; eight large experts; many small experts. The
 * first three have streaming peaks of 130-165 MiB, so 5% of them (6.5-8 MiB) is above the spread
 * of an idle child's peak RSS on a busy machine (3-7.5 MiB measured here); wide-2L and eight-1L
 * stream their embedding through the copy buffer, tall-1L reads it whole into a step buffer. The
 * many-1L's streaming peak (24 MiB) is within that spread, so it shows the measurement's
 * resolution rather than the model's accuracy. The FP8 shapes (experts and attention F8_E4M3
 * with block scales) are fused through the dequantizing view on one thread, which adds the
 * view's pieces (the plan's FP8 terms) to the stream: wide-2L-fp8 and tall-1L-fp8 read their
 * attention into a step buffer, attn-1L-fp8's attention (72 MiB in BF16) is larger than its
 * step buffers and streams in the view's own BF16 pieces. The eager strategies of the child read
 * raw tensors and are not run on them.
 */
const SHAPES: readonly (SyntheticMoe & { name: string })[] = [
  { name: "wide-2L", layers: 2, E: 4, I: 3584, H: 5120 },
  { name: "tall-1L", layers: 1, E: 6, I: 10240, H: 2048 },
  { name: "eight-1L", layers: 1, E: 8, I: 3072, H: 5120 },
  { name: "many-1L", layers: 1, E: 32, I: 1024, H: 2048 },
  { name: "wide-2L-fp8", layers: 2, E: 4, I: 3584, H: 5120, fp8: true },
  { name: "tall-1L-fp8", layers: 1, E: 6, I: 10240, H: 2048, fp8: true },
  { name: "attn-1L-fp8", layers: 1, E: 8, I: 1024, H: 6144, fp8: true },
];

/** The ways of prefusing measured on a shape: the streaming fuse alone on FP8 ones. */
const strategiesOf = (s: SyntheticMoe) => (s.fp8 === true ? (["stream"] as const) : MEMORY_STRATEGIES);

function maxRss(mode: string, dir: string): number {
  const out = join(work, `out-${mode}`);
  rmSync(out, { recursive: true, force: true });
  const r = runChecked(process.execPath, ["--expose-gc", "--import", "tsx", child, mode, dir, String(chunk), out]);
  rmSync(out, { recursive: true, force: true });
  return r.maxRssKiB * 1024;
}

interface Row {
  shape: string;
  /** Experts in FP8, fused through the dequantizing view (one thread). */
  fp8: boolean;
  layers: number;
  E: number;
  I: number;
  H: number;
  checkpointBytes: number;
  strategy: string;
  chunk: number;
  predicted: number;
  measured: number;
  measuredRuns: number[];
  relative: number;
  /** max - min of the idle child's peak RSS over the runs: differences below it are noise. */
  idleSpread: number;
}

const wanted = o.shapes === "" ? SHAPES : o.shapes.split(",").map((name) => SHAPES.find((s) => s.name === name) ?? unknownShape(name));
function unknownShape(name: string): never {
  throw new Error(`unknown shape ${name} (known: ${SHAPES.map((s) => s.name).join(", ")})`);
}

const rows: Row[] = [];
try {
  for (const s of wanted) {
    const dir = join(work, s.name);
    const checkpointBytes = await writeSyntheticCheckpoint(dir, s);
    const plan = planCheckpoint(await localHeaders(dir), { chunks: [chunk], budget: totalmem(), threads: 1 });
    const strategies = strategiesOf(s);
    const idle: number[] = [];
    const measured = new Map<string, number[]>(strategies.map((m) => [m, []]));
    for (let r = 0; r < runs; r++) {
      idle.push(maxRss("idle", dir));
      for (const m of strategies) measured.get(m)!.push(maxRss(m, dir));
    }
    const base = median(idle);
    const idleSpread = Math.max(...idle) - Math.min(...idle);
    for (const m of strategies) {
      const predicted = plan.memory.find((x) => x.strategy === m && x.chunk === chunk)!.peakBytes;
      const extra = measured.get(m)!.map((x) => x - base);
      const value = median(extra);
      rows.push({
        shape: s.name,
        fp8: s.fp8 === true,
        layers: s.layers,
        E: s.E,
        I: s.I,
        H: s.H,
        checkpointBytes,
        strategy: m,
        chunk,
        predicted,
        measured: value,
        measuredRuns: extra,
        relative: value / predicted - 1,
        idleSpread,
      });
      console.error(`${s.name} ${m}: predicted ${formatBytes(predicted)}, measured ${formatBytes(value)} (${((value / predicted - 1) * 100).toFixed(1)}%)`);
    }
    console.error(`${s.name}: idle child ${formatBytes(base)} (runs ${idle.map(formatBytes).join(", ")})`);
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  if (o.keep !== "yes" && !o.dir) rmSync(work, { recursive: true, force: true });
}

const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
/**
 * A point resolves 5% only when 5% of the prediction is more than the idle child's own spread;
 * below that it is reported as such, whatever the difference, and counts neither way.
 */
const verdict = (r: Row) =>
  0.05 * r.predicted <= r.idleSpread ? `below the resolution (${formatBytes(r.idleSpread)})` : Math.abs(r.relative) <= 0.05 ? "within 5%" : "OUTSIDE 5%";
const table = [
  "| checkpoint | layers x E, I x H (experts) | size | strategy | chunk | predicted | measured (median) | difference | verdict |",
  "|---|---|---|---|---|---|---|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.shape} | ${r.layers} x ${r.E}, ${r.I} x ${r.H} (${r.fp8 ? "FP8, dequantized on 1 thread" : "BF16"}) | ${formatBytes(r.checkpointBytes)} | ${r.strategy} | ${r.chunk} | ${formatBytes(r.predicted)} | ${formatBytes(r.measured)} | ${pct(r.relative)} | ${verdict(r)} |`,
  ),
];
console.log(table.join("\n"));
const worst = Math.max(...rows.map((r) => Math.abs(r.relative)));
const validated = wanted.filter((s) => rows.filter((r) => r.shape === s.name).every((r) => verdict(r) === "within 5%")).map((s) => s.name);
console.log(
  `\nworst difference ${pct(worst)} over ${rows.length} points; every strategy resolved and within 5% on ${validated.length} shape(s) (${validated.join(", ")}); ${runs} run(s) each; ${new Date().toISOString()} on ${hostname()} (${cpus().length} cores, ${formatBytes(totalmem())})`,
);
console.log(JSON.stringify({ date: new Date().toISOString(), runs, chunk, cores: cpus().length, memory: totalmem(), node: process.version, rows }, null, 2));
if (rows.some((r) => verdict(r) === "OUTSIDE 5%")) process.exitCode = 1;
