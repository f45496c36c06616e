// Serve mode against the per-case protocol (issue 17), side by side, medians:
//
//   npm run bench:gate-serve -- [--reps 3] [--runs 200] [--jobs N]
//
// 1. The golden corpus's prefuse cases plus --runs generated cases (seed 0) with the numpy
//    adapter: per case (a Python + numpy start per case) against --serve (one start per worker).
//    Target: serve at most 0.25x the per-case time.
// 2. The same cases in serve mode with the numpy adapter behind a 2 s start cost
//    (ci/candidates/slow_start.py: a sleep before it reads its first request, as a candidate
//    importing MLX, mlx-lm and oMLX pays) against a zero-cost start. Target: at most 1.5x.
// Runs alternate (A, B, A, B, ...) so both see the same machine load; every run must pass every
// case, or the benchmark stops. Wall times of the whole runGate call (the library, in this process).

import { execFileSync } from "node:child_process";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type GateOptions, runGate } from "../src/gate/gate.js";
import { median } from "./support/measure.js";

const { values } = parseArgs({ options: { reps: { type: "string", default: "3" }, runs: { type: "string", default: "200" }, jobs: { type: "string" } } });
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPS = Number(values.reps);
const jobs = values.jobs === undefined ? availableParallelism() : Number(values.jobs);
// The interpreter itself, not a version manager's shim (which would add a shell per start).
const PY = `'${execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim()}'`;

const base: Omit<GateOptions, "candidate"> = {
  corpus: { dir: join(ROOT, "corpus", "golden"), optional: false },
  runs: Number(values.runs),
  seed: 0,
  jobs,
  shrink: 0,
  cwd: ROOT,
};

async function timed(label: string, o: Partial<GateOptions> & { candidate: string }): Promise<number> {
  const t = performance.now();
  const r = await runGate({ ...base, ...o });
  const s = (performance.now() - t) / 1000;
  if (r.totals.failed > 0) throw new Error(`${label}: ${r.totals.failed} case(s) failed: ${r.cases.find((c) => c.verdict === "fail")!.reason}`);
  console.log(`  ${label}: ${s.toFixed(2)} s (${r.cases.length} cases${r.restarts !== undefined ? `, ${r.restarts} restarts` : ""})`);
  return s;
}

async function pair(
  title: string,
  a: [string, Partial<GateOptions> & { candidate: string }],
  b: [string, Partial<GateOptions> & { candidate: string }],
  target: number,
): Promise<void> {
  console.log(`${title}`);
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < REPS; i++) {
    ta.push(await timed(a[0], a[1]));
    tb.push(await timed(b[0], b[1]));
  }
  const ma = median(ta);
  const mb = median(tb);
  console.log(
    `  median of ${REPS}: ${a[0]} ${ma.toFixed(2)} s, ${b[0]} ${mb.toFixed(2)} s; ratio ${(mb / ma).toFixed(3)}x (target <= ${target}x) ${mb / ma <= target ? "MET" : "NOT MET"}`,
  );
}

console.log(
  `gate serve benchmark: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), --jobs ${jobs}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
const numpy = `${PY} ci/adapters/numpy_prefuse.py`;
await pair(
  "1. numpy adapter, golden corpus + generated cases",
  ["per-case", { candidate: `${numpy} {input} {output}` }],
  ["serve", { candidate: `${numpy} --serve`, serve: true }],
  0.25,
);
await pair(
  "2. serve mode, numpy adapter with a 2 s start against a zero-cost start",
  ["zero-cost start", { candidate: `${PY} ci/candidates/slow_start.py 0 --serve`, serve: true }],
  ["2 s start", { candidate: `${PY} ci/candidates/slow_start.py 2 --serve`, serve: true }],
  1.5,
);
console.log(
  `load average at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
