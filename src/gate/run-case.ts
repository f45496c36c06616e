// One case, whichever protocol runs it: a fresh directory holding config.json and a single
// model.safetensors (the input), an empty directory for the .safetensors file to write (the
// output), the candidate asked to handle it (`Execute`: one process per case, or a request to a
// serve/1 worker), the output read back as a hostile file and judged. The case's files are
// removed afterwards unless kept. `CaseRunner` is what the rest of the gate (pool, shrinking,
// reports) sees: it does not care which protocol ran.

import { lstat, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FixtureSpec } from "../fixtures-gen/spec.js";
import type { Outcome } from "../golden/corpus.js";
import { CONFIG_FILE, SINGLE_FILE } from "../reference/checkpoint.js";
import { CorpusError } from "../reference/errors.js";
import { redact } from "../reference/safe-text.js";
import type { FusePlan, LayerState } from "../reference/prefuse/plan.js";
import { type Stage, planStage } from "../reference/stages.js";
import type { TensorMap } from "../reference/tensor.js";
import { type CandidateRun, runCandidate } from "./candidate.js";
import type { GateCase, MaterializedCase } from "./cases.js";
import type { Tolerance } from "./compare.js";
import { type Ending, type Judgement, judge } from "./judge.js";
import { readCandidateOutput } from "./output.js";
import { type Protocol, expandTemplate } from "./template.js";
import { type CaseReadings, judgeWithReadings } from "./judge-readings.js";
import type { ReadingChoice } from "../reference/reading-points.js";

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
  /** The candidate process's exit when it ended during the case (serve/1: a worker that died), and whether the case timed out. */
  readonly exit: { readonly code: number | null; readonly signal: string | null; readonly timedOut: boolean };
  readonly durationMs: number;
  /** The candidate's stdout and stderr (tails, secrets redacted), kept for failed and open cases only. */
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
  readonly protocol: Protocol;
  /** The template's words (placeholders not yet replaced). */
  readonly argv: readonly string[];
  /** The run's scratch directory; each case works in `<workDir>/<index>`. */
  readonly workDir: string;
  readonly cwd: string;
  /** The candidate's environment before the protocol's variables (see candidate-env.ts). */
  readonly env: Readonly<Record<string, string>>;
  /** Values redacted from everything kept of the candidate's output. */
  readonly secrets: readonly string[];
  readonly timeoutMs: number;
  /** Largest output read, in bytes; default: OUTPUT_SIZE_FACTOR times the larger of the input and the expected output, plus OUTPUT_SIZE_SLACK. */
  readonly maxOutputSize?: number;
  readonly tolerance?: Tolerance;
  readonly keep: boolean;
  /** Pinned readings (--readings): failures of decided cases are judged under them. */
  readonly pinned?: ReadingChoice;
}

/** Runs cases; the per-case and serve/1 protocols are two of these. */
export interface CaseRunner {
  run(c: GateCase): Promise<CaseResult>;
  /** Ends every process the runner started. */
  close(): Promise<void>;
  /** serve/1: workers started to replace one that died, timed out or broke the protocol. */
  readonly restarts: number;
}

/** A case on disk, ready for the candidate. */
export interface PreparedCase {
  readonly case: MaterializedCase;
  /** The input directory ({input}) and the file to write ({output}). */
  readonly input: string;
  readonly output: string;
}

/** What the candidate did with a case, whichever protocol asked. */
export interface Execution {
  readonly ending: Ending;
  readonly exit: CaseResult["exit"];
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export type Execute = (p: PreparedCase) => Promise<Execution>;

export const OUTPUT_SIZE_FACTOR = 4;
export const OUTPUT_SIZE_SLACK = 1 << 20;

function layerStates(plan: FusePlan | undefined): Partial<Record<LayerState, number>> {
  const counts: Partial<Record<LayerState, number>> = {};
  for (const l of plan?.layers ?? []) counts[l.state] = (counts[l.state] ?? 0) + 1;
  return counts;
}

function tensorBytes(t: TensorMap | undefined): number {
  let n = 0;
  for (const x of t?.values() ?? []) n += x.data.length;
  return n;
}

/** The case's fields of a result, whatever happened to it. */
function caseFields(
  c: GateCase,
): Pick<CaseResult, "index" | "origin" | "label" | "family" | "features"> & Partial<Pick<CaseResult, "spec" | "generatedIndex">> {
  return {
    index: c.index,
    origin: c.origin,
    label: c.label,
    family: c.family,
    features: c.features,
    ...(c.spec !== undefined ? { spec: c.spec, generatedIndex: c.generatedIndex! } : {}),
  };
}

/** Materializes the case, has the candidate handle it (`execute`) and judges what it wrote. */
export async function runCase(c: GateCase, s: CaseRunSettings, execute: Execute): Promise<CaseResult> {
  let m: MaterializedCase;
  try {
    m = await c.materialize();
  } catch (e) {
    // A golden file that no longer matches the hash taken at the start: a candidate (or anything
    // else) wrote into the corpus during the run. The case fails; the gate cannot pass.
    if (!(e instanceof CorpusError) || c.outcome === undefined) throw e;
    const none = { code: null, signal: null, timedOut: false };
    return {
      ...caseFields(c),
      id: c.name,
      outcome: c.outcome,
      referenceLayers: {},
      verdict: "fail",
      failure: "corpus-changed",
      reason: e.message,
      diagnoses: [],
      mismatches: [],
      exit: none,
      durationMs: 0,
    };
  }
  const dir = join(s.workDir, String(c.index));
  const input = join(dir, "input");
  const outDir = join(dir, "output");
  const output = join(outDir, SINGLE_FILE);
  await mkdir(input, { recursive: true });
  await mkdir(outDir);
  const made = await lstat(outDir);
  await writeFile(join(input, CONFIG_FILE), m.configBytes);
  await writeFile(join(input, SINGLE_FILE), m.inputBytes);
  const x = await execute({ case: m, input, output });
  const maxBytes = s.maxOutputSize ?? OUTPUT_SIZE_FACTOR * Math.max(m.inputBytes.length, tensorBytes(m.expected)) + OUTPUT_SIZE_SLACK;
  // The read has a deadline of its own, --timeout from the answer: a candidate that answers just in
  // time is not failed for the gate's reading, and a slow file system cannot hold the case for ever.
  const out = x.ending.kind === "written" ? await readCandidateOutput(output, { maxBytes, deadline: performance.now() + s.timeoutMs, dir: made }) : undefined;
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
      ? judge({
          outcome: m.outcome,
          ...(m.errorCode !== undefined ? { errorCode: m.errorCode } : {}),
          expected: m.expected,
          config: m.config,
          plan: () => plan,
          ending: x.ending,
          output: out,
          ...tolerance,
        })
      : judgeWithReadings(
          {
            stage: s.stage,
            outcome: m.outcome,
            input: m.input,
            config: m.config,
            ending: x.ending,
            output: out,
            ...tolerance,
            ...(s.pinned !== undefined ? { pinned: s.pinned } : {}),
          },
          m.alternatives,
        );
  const shown = judgement.verdict !== "pass";
  return scrub(s.secrets, {
    ...caseFields(c),
    id: m.id,
    outcome: m.outcome,
    referenceLayers: layerStates(plan),
    ...judgement,
    exit: x.exit,
    durationMs: Math.round(x.durationMs),
    ...(shown ? { stdout: x.stdout, stderr: x.stderr } : {}),
  });
}

/**
 * The result with every secret value redacted wherever the candidate could have put it: the
 * tails are redacted already, but reasons, diagnoses and mismatches quote what it wrote (tensor
 * names, an invalid header).
 */
function scrub(secrets: readonly string[], r: CaseResult): CaseResult {
  const json = JSON.stringify(r);
  return secrets.some((x) => json.includes(x)) ? (JSON.parse(redact(json, { secrets })) as CaseResult) : r;
}

function howItEnded(run: CandidateRun): string {
  return run.signal !== null ? `was killed by ${run.signal}` : `exited with status ${run.code}`;
}

/** The per-case protocol's ending: exit 0 is "written", any other exit a refusal. */
export function perCaseEnding(run: CandidateRun): Ending {
  if (run.spawnError !== undefined) return { kind: "failed", failure: "spawn", reason: `could not start the candidate: ${run.spawnError}` };
  if (run.timedOut) return { kind: "failed", failure: "timeout", reason: `timed out after ${(run.durationMs / 1000).toFixed(1)} s (killed)` };
  if (run.code !== 0) return { kind: "refused", reason: howItEnded(run) };
  return { kind: "written", said: "exited 0" };
}

/** The per-case protocol (case/1): one candidate process per case, {input}, {output} and {stage} in its argv. */
export function perCaseRunner(s: CaseRunSettings): CaseRunner {
  const execute: Execute = async (p) => {
    const run = await runCandidate(expandTemplate(s.argv, { input: p.input, output: p.output, stage: s.stage }), {
      timeoutMs: s.timeoutMs,
      cwd: s.cwd,
      secrets: s.secrets,
      env: { ...s.env, MOE_PREFUSE_PROTOCOL: "case/1", MOE_PREFUSE_STAGE: s.stage, MOE_PREFUSE_CASE: p.case.id },
    });
    return {
      ending: perCaseEnding(run),
      exit: { code: run.code, signal: run.signal, timedOut: run.timedOut },
      stdout: run.stdout,
      stderr: run.stderr,
      durationMs: run.durationMs,
    };
  };
  return { run: (c) => runCase(c, s, execute), close: async () => {}, restarts: 0 };
}
