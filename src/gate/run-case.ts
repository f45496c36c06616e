// One case through the candidate protocol: a fresh directory holding config.json and a single
// model.safetensors ({input}), the path of the .safetensors file to write ({output}, in a
// directory of its own), the command run with MOE_PREFUSE_STAGE set, the output read back and
// judged. The case's files are removed afterwards unless kept.

import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FixtureSpec } from "../fixtures-gen/spec.js";
import type { Outcome } from "../golden/corpus.js";
import { CONFIG_FILE, SINGLE_FILE } from "../reference/checkpoint.js";
import type { FusePlan, LayerState } from "../reference/prefuse/plan.js";
import { type Stage, planStage } from "../reference/stages.js";
import { runCandidate } from "./candidate.js";
import type { GateCase } from "./cases.js";
import type { Tolerance } from "./compare.js";
import { type Judgement, type OutputRead, judge } from "./judge.js";
import { type CaseReadings, judgeWithReadings } from "./judge-readings.js";
import type { ReadingChoice } from "../reference/reading-points.js";
import { expandTemplate } from "./template.js";

export interface CaseResult extends Judgement {
  readonly index: number;
  readonly id: string;
  readonly origin: "golden" | "generated";
  readonly label: string;
  readonly family: string | null;
  readonly features: readonly string[];
  readonly outcome: Outcome;
  /** What the reference's plan does with the input's MoE layers: how many it fuses, leaves untouched, ... */
  readonly referenceLayers: Readonly<Partial<Record<LayerState, number>>>;
  readonly exit: { readonly code: number | null; readonly signal: string | null; readonly timedOut: boolean };
  readonly durationMs: number;
  /** The candidate's stdout and stderr (tails), kept for failed and open cases only. */
  readonly stdout?: string;
  readonly stderr?: string;
  /** Generated cases: the checkpoint (as `moe-prefuse gen` options take it) and its position in the seed's sequence. */
  readonly spec?: FixtureSpec;
  readonly generatedIndex?: number;
  /** Cases that reading points decide: the points and the alternatives the output matches. */
  readonly readings?: CaseReadings;
}

export interface CaseRunSettings {
  readonly stage: Stage;
  readonly argv: readonly string[];
  /** The run's scratch directory; each case works in `<workDir>/<index>`. */
  readonly workDir: string;
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly tolerance?: Tolerance;
  readonly keep: boolean;
  /** Pinned readings (--readings): failures of decided cases are judged under them. */
  readonly pinned?: ReadingChoice;
}

/**
 * Candidates run `--jobs` at a time on tiny cases: one math-library thread each (unless the
 * environment says otherwise) keeps them from oversubscribing the cores; numpy's startup alone
 * halves its CPU time with it.
 */
const SINGLE_THREADED: NodeJS.ProcessEnv = { OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };

async function readOutput(path: string): Promise<OutputRead> {
  try {
    return { bytes: await readFile(path) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? { missing: true } : { unreadable: code === "EISDIR" ? "it is a directory" : (e as Error).message };
  }
}

function layerStates(plan: FusePlan | undefined): Partial<Record<LayerState, number>> {
  const counts: Partial<Record<LayerState, number>> = {};
  for (const l of plan?.layers ?? []) counts[l.state] = (counts[l.state] ?? 0) + 1;
  return counts;
}

/** Materializes the case, runs the candidate on it and judges what it wrote. */
export async function runCase(c: GateCase, s: CaseRunSettings): Promise<CaseResult> {
  const m = await c.materialize();
  const dir = join(s.workDir, String(c.index));
  const input = join(dir, "input");
  const output = join(dir, "output", SINGLE_FILE);
  await mkdir(input, { recursive: true });
  await mkdir(join(dir, "output"));
  await writeFile(join(input, CONFIG_FILE), m.configBytes);
  await writeFile(join(input, SINGLE_FILE), m.inputBytes);
  const argv = expandTemplate(s.argv, { input, output, stage: s.stage });
  const run = await runCandidate(argv, {
    timeoutMs: s.timeoutMs,
    cwd: s.cwd,
    env: { ...SINGLE_THREADED, ...process.env, MOE_PREFUSE_STAGE: s.stage, MOE_PREFUSE_CASE: m.id },
  });
  const out = await readOutput(output);
  let plan: FusePlan | undefined;
  try {
    plan = planStage(s.stage, m.input, m.config);
  } catch {
    plan = undefined; // a refused input: diagnoses that need the plan are skipped
  }
  if (!s.keep) await rm(dir, { recursive: true, force: true });
  const tolerance = s.tolerance !== undefined ? { tolerance: s.tolerance } : {};
  const judgement =
    m.alternatives === undefined
      ? judge({ outcome: m.outcome, ...(m.errorCode !== undefined ? { errorCode: m.errorCode } : {}), expected: m.expected, config: m.config, plan: () => plan, run, output: out, ...tolerance })
      : judgeWithReadings({ stage: s.stage, outcome: m.outcome, input: m.input, config: m.config, run, output: out, ...tolerance, ...(s.pinned !== undefined ? { pinned: s.pinned } : {}) }, m.alternatives);
  const shown = judgement.verdict !== "pass";
  return {
    index: c.index,
    id: m.id,
    origin: c.origin,
    label: c.label,
    family: c.family,
    features: c.features,
    outcome: m.outcome,
    referenceLayers: layerStates(plan),
    ...judgement,
    exit: { code: run.exitCode, signal: run.signal, timedOut: run.timedOut },
    durationMs: Math.round(run.durationMs),
    ...(shown ? { stdout: run.stdout, stderr: run.stderr } : {}),
    ...(c.spec !== undefined ? { spec: c.spec } : {}),
    ...(c.generatedIndex !== undefined ? { generatedIndex: c.generatedIndex } : {}),
  };
}
