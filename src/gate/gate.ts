// The release gate: checks a prefuse implementation it cannot import, in any language, through
// files (the candidate protocol, README "Release gate"). It runs the golden corpus cases of the
// chosen stage that lie inside the stage's contract, then `runs` freshly generated cases, on a
// pool of candidate processes; compares each output with the reference's; diagnoses mismatches;
// shrinks failing generated cases to the smallest failing checkpoint and saves them as golden
// cases; and returns the report. Output goes through `log` line by line, ending with
// `N passed, M failed`. Candidates are hostile by default (docs/gate-protocols.md): they get an
// environment without secrets, their outputs are read as hostile files, the corpus is checked
// when it is read, and they run in process groups the gate kills on a timeout or its own exit.

import { realpath, rm, stat } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { registerTemp, releaseTemp } from "../reference/cleanup.js";
import { UsageError } from "../reference/errors.js";
import { secretValues } from "../reference/safe-text.js";
import type { Stage } from "../reference/stages.js";
import { MAX_TIMER_SECONDS } from "../reference/timer-limit.js";
import { markRun, markedEnv, sweepRun } from "./escapees.js";
import { candidateEnv } from "./candidate-env.js";
import { type GateCase, type SkippedCase, generatedCase, generatedCases, goldenCases } from "./cases.js";
import type { Tolerance } from "./compare.js";
import { STAGE_CONTRACTS } from "../reference/contracts.js";
import { failureSignature } from "./judge.js";
import { caseLine, detailLines } from "./lines.js";
import { runPool } from "./pool.js";
import { type GateReport, REPORT_FORMAT, type ShrunkCase, summaryLine, totalsOf } from "./report.js";
import { type CaseResult, type CaseRunSettings, type CaseRunner, perCaseRunner } from "./run-case.js";
import { ServeRunner } from "./serve.js";
import { type Shard, inShard } from "./shard.js";
import { shrinkAndSave } from "./shrink.js";
import { settleReadings } from "./fingerprint.js";
import { readingLines } from "./reading-lines.js";
import { type ReadingChoice, readingPoints } from "../reference/reading-points.js";
import { type Protocol, splitTemplate } from "./template.js";
import { makeWorkDir, removeStaleWorkDirs } from "./workdir.js";

export interface CorpusChoice {
  readonly dir: string;
  /** A missing optional corpus (the package's own, before it exists) is a note, not an error. */
  readonly optional: boolean;
}

export interface GateOptions {
  /** The command template (`python3 impl.py {input} {output}`; with `serve`, without {input} and {output}). */
  readonly candidate: string;
  /** Serve mode: long-lived workers speaking the serve/1 protocol instead of one process per case. */
  readonly serve?: boolean;
  /** Variables of the gate's environment passed to candidates besides the harmless ones (candidate-env.ts). */
  readonly passEnv?: readonly string[];
  /** Largest candidate output read, in bytes (default: a multiple of the case's expected size). */
  readonly maxOutputSize?: number;
  /** The implementation's name in reports (default: the template's script or program). */
  readonly name?: string;
  readonly stage?: Stage;
  /** null: generated cases only. */
  readonly corpus: CorpusChoice | null;
  readonly runs?: number;
  readonly seed?: number;
  readonly timeoutSec?: number;
  readonly jobs?: number;
  readonly shard?: Shard;
  /** ulps accepted in BF16/F16/F32 elements (floating stages only); bit-exact when absent. */
  readonly tolerance?: Tolerance;
  /** How many failing generated cases to shrink (one per distinct failure), 0 for none. */
  readonly shrink?: number;
  /** Candidate runs one shrink may spend. */
  readonly shrinkBudget?: number;
  /** Where shrunk cases are saved. */
  readonly saveFailures?: string;
  /** Keep each case's files (under the system's temp directory) for inspection. */
  readonly keepTemp?: boolean;
  /** Working directory of the candidate (relative paths in the template resolve from it). */
  readonly cwd?: string;
  readonly tool?: string;
  /** Pinned readings (point -> alternative, e.g. from --readings FILE); unpinned points are inferred. */
  readonly readings?: ReadingChoice;
}

export const GATE_DEFAULTS = { stage: "prefuse", runs: 200, seed: 0, timeoutSec: 60, shrink: 3, shrinkBudget: 60, saveFailures: "gate-failures" } as const;

/**
 * Most generated cases in one run. The draws are made before the first case runs and the report
 * holds one record per case, so memory grows with --runs (100 000 draws: about 4 s and 200 MiB);
 * a larger run is better split with --shard and merged.
 */
export const MAX_RUNS = 100_000;

/** Floating stages compute values (FP8 dequant); the others move bytes and are always bit-exact. */
export const FLOATING_STAGES: readonly Stage[] = ["dequant", "dequant+prefuse"];

/** A short name for a command template: its script, else its program. */
export function candidateName(argv: readonly string[]): string {
  const script = argv.find((a) => /\.(py|js|mjs|ts|sh|rb|jl)$/.test(a));
  const base = (p: string) => p.split(/[\\/]/).pop()!;
  return base(script ?? argv[0]!);
}

async function exists(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

interface CaseSet {
  readonly cases: GateCase[];
  readonly skipped: SkippedCase[];
  readonly corpus: string | null;
  readonly notes: string[];
}

async function collectCases(stage: Stage, o: GateOptions, runs: number, seed: number): Promise<CaseSet> {
  const notes: string[] = [];
  let golden: GateCase[] = [];
  let skipped: SkippedCase[] = [];
  let corpus: string | null = null;
  if (o.corpus !== null) {
    const dir = resolve(o.corpus.dir);
    if (await exists(dir)) {
      const g = await goldenCases(dir, stage);
      golden = g.cases;
      skipped = g.skipped;
      corpus = dir;
      notes.push(
        `golden corpus ${dir}: ${g.cases.length} case(s) of stage ${stage}${g.skipped.length > 0 ? `, ${g.skipped.length} outside its contract (skipped)` : ""} (${g.total} in the corpus)`,
      );
    } else if (o.corpus.optional) {
      notes.push(`no golden corpus at ${dir} yet: generated cases only`);
    } else {
      throw new UsageError("INVALID_ARGUMENT", `--corpus ${o.corpus.dir}: no such directory`);
    }
  }
  const generated = generatedCases(stage, seed, runs, golden.length);
  notes.push(`${runs} generated case(s), seed ${seed}`);
  return { cases: [...golden, ...generated], skipped, corpus, notes };
}

/** Refuses, with one line, what the options' types allow but the gate cannot honour. */
function checkLimits(o: GateOptions): void {
  const t = o.timeoutSec;
  if (t !== undefined && !(t > 0 && t <= MAX_TIMER_SECONDS))
    throw new UsageError("INVALID_ARGUMENT", `timeout must be a positive number of seconds, at most ${MAX_TIMER_SECONDS} (what a Node timer holds), not ${t}`);
  const r = o.runs;
  if (r !== undefined && !(Number.isSafeInteger(r) && r >= 0 && r <= MAX_RUNS))
    throw new UsageError("INVALID_ARGUMENT", `runs must be a whole number from 0 to ${MAX_RUNS} (split larger runs with --shard), not ${r}`);
  const m = o.maxOutputSize;
  if (m !== undefined && !(Number.isSafeInteger(m) && m > 0))
    throw new UsageError("INVALID_ARGUMENT", `max output size must be a positive whole number of bytes, not ${m}`);
}

/** The candidate's working directory may not be the corpus or inside it: nothing the candidate writes relative to it may land in the corpus. */
async function checkCwd(cwd: string, corpus: string | null): Promise<void> {
  if (corpus === null) return;
  const [c, k] = await Promise.all([realpath(cwd), realpath(corpus)]).catch(() => {
    throw new UsageError("INVALID_ARGUMENT", `the candidate's working directory ${cwd} does not exist`);
  });
  const r = relative(k, c);
  if (r === "" || !(r === ".." || r.startsWith(`..${sep}`) || isAbsolute(r))) {
    throw new UsageError("INVALID_ARGUMENT", `the candidate's working directory ${cwd} is inside the corpus ${corpus}: run the gate from elsewhere`);
  }
}

export async function runGate(o: GateOptions, log: (line: string) => void = () => {}): Promise<GateReport> {
  const started = performance.now();
  const stage = o.stage ?? GATE_DEFAULTS.stage;
  const runs = o.runs ?? GATE_DEFAULTS.runs;
  const seed = o.seed ?? GATE_DEFAULTS.seed;
  const jobs = o.jobs ?? availableParallelism();
  checkLimits(o);
  const protocol: Protocol = o.serve === true ? "serve/1" : "case/1";
  const argv = splitTemplate(o.candidate, protocol);
  if (o.tolerance !== undefined && !FLOATING_STAGES.includes(stage)) {
    throw new UsageError(
      "INVALID_ARGUMENT",
      `--tolerance applies to the floating stages (${FLOATING_STAGES.join(", ")}); ${stage} moves bytes and is always compared bit for bit`,
    );
  }
  const name = o.name ?? candidateName(argv);
  const cwd = o.cwd ?? process.cwd();
  log(`gate: stage ${stage}, candidate ${name}: ${o.candidate}`);
  const set = await collectCases(stage, o, runs, seed);
  await checkCwd(cwd, set.corpus);
  for (const n of set.notes) log(`gate: ${n}`);
  const mine = o.shard === undefined ? set.cases : set.cases.filter((c) => inShard(c.index, o.shard!));
  if (o.shard !== undefined) log(`gate: shard ${o.shard.index}/${o.shard.count}: ${mine.length} of ${set.cases.length} cases`);
  const passEnv = o.passEnv ?? [];
  const unset = passEnv.filter((n) => process.env[n] === undefined);
  log(
    `gate: ${protocol === "serve/1" ? `serve mode (${protocol}), up to ${jobs} worker(s)` : `${jobs} job(s)`}, timeout ${o.timeoutSec ?? GATE_DEFAULTS.timeoutSec} s per case${o.tolerance ? `, tolerance ${o.tolerance.ulp} ulp` : ", bit-exact"}`,
  );
  if (unset.length > 0) log(`gate: --pass-env ${unset.join(", ")}: not set, not passed`);

  const removed = await removeStaleWorkDirs(tmpdir());
  if (removed > 0) log(`gate: removed ${removed} work director${removed === 1 ? "y" : "ies"} left by gate runs that no longer exist`);
  const workDir = await makeWorkDir(tmpdir(), o.keepTemp === true);
  const runMark = markRun();
  if (!o.keepTemp) registerTemp(workDir);
  const settings: CaseRunSettings = {
    stage,
    protocol,
    argv,
    workDir,
    cwd,
    env: markedEnv(candidateEnv(process.env, passEnv), runMark),
    secrets: secretValues(process.env),
    timeoutMs: (o.timeoutSec ?? GATE_DEFAULTS.timeoutSec) * 1000,
    ...(o.maxOutputSize !== undefined ? { maxOutputSize: o.maxOutputSize } : {}),
    ...(o.tolerance !== undefined ? { tolerance: o.tolerance } : {}),
    keep: o.keepTemp === true,
    ...(o.readings !== undefined ? { pinned: o.readings } : {}),
  };
  const runner: CaseRunner = protocol === "serve/1" ? new ServeRunner(settings) : perCaseRunner(settings);
  const print = (r: CaseResult) => {
    log(caseLine(r));
    for (const l of detailLines(r)) log(l);
  };
  let results: CaseResult[];
  const shrunk: ShrunkCase[] = [];
  try {
    results = await runPool(mine, jobs, (c) => runner.run(c), print);
    shrunk.push(...(await shrinkFailures(stage, seed, o, results, runner, log)));
  } finally {
    await runner.close();
    // Before the work directory goes: nothing a candidate left running writes into it then.
    const swept = sweepRun(runMark);
    if (!swept.listed) log(`gate: could not look for processes candidates left running: ${swept.why}`);
    else if (swept.killed > 0) log(`gate: killed ${swept.killed} process${swept.killed === 1 ? "" : "es"} that candidates left running`);
    if (!o.keepTemp) {
      await rm(workDir, { recursive: true, force: true });
      releaseTemp(workDir);
    }
  }
  if (o.keepTemp) log(`gate: case files kept in ${workDir}`);
  const points = readingPoints(stage).map((p) => p.id);
  const settled = settleReadings(results, points, o.readings ?? null);
  for (const l of readingLines(settled.summary)) log(l);
  settled.cases.forEach((r, i) => {
    if (r.verdict !== results[i]!.verdict) {
      log(caseLine(r));
      for (const l of detailLines(r)) log(l);
    }
  });
  results = settled.cases;
  const totals = totalsOf(results, set.skipped);
  const durationMs = Math.round(performance.now() - started);
  const extra = [
    totals.open > 0 ? `${totals.open} open case(s) recorded, not judged` : "",
    totals.skipped > 0 ? `${totals.skipped} corpus case(s) skipped` : "",
  ].filter((s) => s !== "");
  if (protocol === "serve/1") extra.push(`${runner.restarts} worker restart(s)`);
  log(`gate: ${results.length} case(s) in ${(durationMs / 1000).toFixed(1)} s${extra.length > 0 ? `; ${extra.join("; ")}` : ""}`);
  log(summaryLine(totals));
  return {
    format: REPORT_FORMAT,
    tool: o.tool ?? "moe-prefuse",
    stage,
    contract: STAGE_CONTRACTS[stage].summary,
    candidate: o.candidate,
    protocol,
    ...(protocol === "serve/1" ? { restarts: runner.restarts } : {}),
    name,
    corpus: set.corpus,
    seed,
    runs,
    tolerance: o.tolerance ?? null,
    shards: [o.shard ?? { index: 1, count: 1 }],
    totalCases: set.cases.length,
    durationMs,
    cases: results,
    skipped: set.skipped,
    shrunk,
    totals,
    readings: settled.summary,
  };
}

/**
 * Shrinks the first failing generated case of each distinct failure, up to `o.shrink` of them.
 * Timeouts and commands that cannot start are not shrunk: every probe would cost the timeout, or
 * fail the same way whatever the input.
 */
async function shrinkFailures(
  stage: Stage,
  seed: number,
  o: GateOptions,
  results: readonly CaseResult[],
  runner: CaseRunner,
  log: (line: string) => void,
): Promise<ShrunkCase[]> {
  const limit = o.shrink ?? GATE_DEFAULTS.shrink;
  const firsts = new Map<string, CaseResult>();
  for (const r of results) {
    // Separating cases (no fast-check draw) are minimal already; reading failures are not bugs to shrink.
    if (r.verdict !== "fail" || r.spec === undefined || r.generatedIndex === undefined || r.failure === "spawn" || r.failure === "timeout") continue;
    const s = failureSignature(r);
    if (!firsts.has(s)) firsts.set(s, r);
  }
  const out: ShrunkCase[] = [];
  for (const failed of [...firsts.values()].slice(0, limit)) {
    log(`gate: shrinking ${failed.id} (${failureSignature(failed)})...`);
    let n = 0;
    const shrunk = await shrinkAndSave(failed, {
      stage,
      seed,
      budget: o.shrinkBudget ?? GATE_DEFAULTS.shrinkBudget,
      saveDir: resolve(o.saveFailures ?? GATE_DEFAULTS.saveFailures),
      candidate: o.candidate,
      // Each probe works in a directory of its own (negative indexes never clash with the run's).
      check: (spec) => runner.run(generatedCase(stage, spec, `shrink-${n}`, -1 - n++, { generatedIndex: failed.generatedIndex! })),
    });
    log(
      `gate: saved shrunk counterexample ${shrunk.path} (${shrunk.label}; ${shrunk.runs} candidate runs); commit it: copy the folder into corpus/golden and add its id to corpus/golden/index.json`,
    );
    out.push(shrunk);
  }
  return out;
}
