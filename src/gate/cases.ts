// The cases of a gate run: the golden corpus cases of the chosen stage (those inside its
// contract), then freshly generated ones. A case is described up front (name, family, features)
// and materialized only when it runs: its config, input bytes and the reference's answer, so a
// large run holds just the cases in flight.

import { join } from "node:path";
import { generateCheckpoint } from "../fixtures-gen/generate.js";
import type { FixtureSpec } from "../fixtures-gen/spec.js";
import { EXPECTED_FILE, type GoldenCase, INPUT_DIR, type Outcome, OUTCOME_PREFIX, readCaseFile, readCorpus } from "../golden/corpus.js";
import { outcomeOf } from "../golden/case-writer.js";
import { CONFIG_FILE, type ModelConfig, SINGLE_FILE } from "../reference/checkpoint.js";
import { MoePrefuseError } from "../reference/errors.js";
import { parseSafetensors, serializeSafetensors } from "../reference/safetensors/memory.js";
import { type Stage, runStage } from "../reference/stages.js";
import type { TensorMap } from "../reference/tensor.js";
import { type CaseDraw, caseFeatures, describeSpec, sampleDraws, toFixtureSpec } from "./case-space.js";
import { type CaseAlternatives, caseAlternatives } from "../reference/alternatives.js";
import { STAGE_CONTRACTS } from "../reference/contracts.js";
import { SEPARATING_FROM_RUNS, separatingCases } from "./separating.js";

export interface MaterializedCase {
  /** The case id with its outcome prefix (y_, n_, i_). */
  readonly id: string;
  readonly outcome: Outcome;
  /** For outcome "error": the reference's error code. */
  readonly errorCode?: string;
  readonly config: ModelConfig;
  readonly configBytes: Uint8Array;
  readonly inputBytes: Uint8Array;
  readonly input: TensorMap;
  /** The reference's output (undefined when it refuses the input). */
  readonly expected: TensorMap | undefined;
  /** The reading points that decide the case and the answers under their alternatives (none: undefined). */
  readonly alternatives?: CaseAlternatives;
}

async function withAlternatives(stage: Stage, m: Omit<MaterializedCase, "alternatives">): Promise<MaterializedCase> {
  const reference = m.expected !== undefined ? { expected: m.expected } : { errorCode: m.errorCode ?? "error" };
  const alternatives = await caseAlternatives(stage, m.input, m.config, reference);
  return alternatives === undefined ? m : { ...m, alternatives };
}

export interface GateCase {
  /** Position in the run: golden cases first, then generated ones; shards split on it. */
  readonly index: number;
  /** The golden case id, or `gen-NNN` (the result's id adds the outcome prefix). */
  readonly name: string;
  readonly origin: "golden" | "generated";
  readonly family: string | null;
  readonly features: readonly string[];
  /** One line: what the case is. */
  readonly label: string;
  /** Golden cases: the outcome, known before the case is materialized. */
  readonly outcome?: Outcome;
  /** Generated cases: the fast-check draw, its position in the seed's sequence, and the checkpoint spec. */
  readonly draw?: CaseDraw;
  readonly generatedIndex?: number;
  readonly spec?: FixtureSpec;
  materialize(): Promise<MaterializedCase>;
}

export interface SkippedCase {
  readonly id: string;
  readonly reason: string;
}

/** A golden case's files, each checked against the hash taken when the corpus was read (a candidate may have written into the corpus since). */
async function materializeGolden(g: GoldenCase): Promise<MaterializedCase> {
  const configBytes = await readCaseFile(g, `${INPUT_DIR}/${CONFIG_FILE}`);
  const inputBytes = await readCaseFile(g, `${INPUT_DIR}/${SINGLE_FILE}`);
  const expected = g.expected === undefined ? undefined : parseSafetensors(await readCaseFile(g, EXPECTED_FILE), g.expected).tensors;
  return withAlternatives(g.meta.stage, {
    id: g.meta.id,
    outcome: g.meta.outcome,
    ...(g.meta.errorCode !== undefined ? { errorCode: g.meta.errorCode } : {}),
    config: JSON.parse(new TextDecoder().decode(configBytes)) as ModelConfig,
    configBytes,
    inputBytes,
    input: parseSafetensors(inputBytes, join(g.inputDir, SINGLE_FILE)).tensors,
    expected,
  });
}

/** The corpus cases of `stage`, split into those the candidate gets (inside its contract, or open) and those skipped (with why). */
export async function goldenCases(corpus: string, stage: Stage): Promise<{ cases: GateCase[]; skipped: SkippedCase[]; total: number }> {
  const all = await readCorpus(corpus);
  const cases: GateCase[] = [];
  const skipped: SkippedCase[] = [];
  for (const g of all.filter((c) => c.meta.stage === stage)) {
    const m = await materializeGolden(g);
    // An open (i_) case is recorded, never judged, so it runs even where the stage's contract
    // does not reach: what a candidate does there is the record.
    const reason = g.meta.outcome === "open" ? undefined : STAGE_CONTRACTS[stage].outside(m.config, m.input);
    if (reason !== undefined) {
      skipped.push({ id: g.meta.id, reason });
      continue;
    }
    cases.push({
      index: cases.length,
      name: g.meta.id,
      origin: "golden",
      family: g.meta.family,
      features: g.meta.features,
      label: g.meta.description,
      outcome: g.meta.outcome,
      materialize: () => materializeGolden(g),
    });
  }
  return { cases, skipped, total: all.length };
}

/** Materializes a generated checkpoint: its bytes and the reference's answer for the stage. */
export async function materializeSpec(stage: Stage, spec: FixtureSpec, name: string): Promise<MaterializedCase> {
  const g = generateCheckpoint(spec);
  const configBytes = new TextEncoder().encode(`${JSON.stringify(g.config, null, 2)}\n`);
  const inputBytes = serializeSafetensors(g.tensors, g.metadata);
  let expected: TensorMap | undefined;
  let outcome: Outcome;
  let errorCode: string | undefined;
  try {
    expected = (await runStage(stage, g.tensors, g.config)).weights;
    outcome = outcomeOf(g.tensors, expected);
  } catch (e) {
    if (!(e instanceof MoePrefuseError)) throw e;
    outcome = "error";
    errorCode = e.code;
  }
  return withAlternatives(stage, {
    id: `${OUTCOME_PREFIX[outcome]}${name}`,
    outcome,
    ...(errorCode !== undefined ? { errorCode } : {}),
    config: g.config,
    configBytes,
    inputBytes,
    input: g.tensors,
    expected,
  });
}

/** A generated case of `stage` for a checkpoint spec. */
export function generatedCase(
  stage: Stage,
  spec: FixtureSpec,
  name: string,
  index: number,
  extra: { draw?: CaseDraw; generatedIndex?: number } = {},
): GateCase {
  return {
    index,
    name,
    origin: "generated",
    family: spec.family,
    features: caseFeatures(spec),
    label: describeSpec(spec),
    ...extra,
    spec,
    materialize: () => materializeSpec(stage, spec, name),
  };
}

/**
 * `runs` generated cases of `stage` from `seed`, numbered from `firstIndex`: from 50 runs on, the
 * separating cases of the stage's reading points first (so every run fingerprints every point),
 * then fast-check's draws.
 */
export function generatedCases(stage: Stage, seed: number, runs: number, firstIndex: number): GateCase[] {
  const separating = runs >= SEPARATING_FROM_RUNS ? separatingCases(stage, seed) : [];
  const draws = runs - separating.length;
  const width = String(Math.max(draws - 1, 0)).length;
  return [
    ...separating.map((s, i) => generatedCase(stage, s.spec, s.name, firstIndex + i)),
    ...sampleDraws(stage, seed, draws).map((draw, i) =>
      generatedCase(stage, toFixtureSpec(stage, draw), `gen-${String(i).padStart(width, "0")}`, firstIndex + separating.length + i, {
        draw,
        generatedIndex: i,
      }),
    ),
  ];
}
