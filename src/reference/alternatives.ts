// Which reading points decide a case, and the reference's answer under each of their
// alternatives. A point decides a case when some alternative of it (the other points at the
// reference's) gives another answer than the reference's own: other output bytes, or a refusal
// where there is output. The case's expected answers are then the reference under every
// combination of the deciding points' alternatives. Plans are compared first, so an alternative
// whose plan is the reference's costs no second run.

import type { ModelConfig } from "./checkpoint.js";
import { MoePrefuseError } from "./errors.js";
import { type Stage, planStage, runStage } from "./stages.js";
import { type TensorMap, sameWeights } from "./tensor.js";
import { REFERENCE_CHOICE, type ReadingChoice, readingPoints, readingsOf } from "./reading-points.js";

/** The reference's answer under one choice at the case's deciding points. */
export interface CaseVariant {
  readonly choice: ReadingChoice;
  /** What the reference does under it: changes the input, leaves it as it is, or refuses it. */
  readonly outcome: "transform" | "untouched" | "error";
  readonly errorCode?: string;
  readonly expected: TensorMap | undefined;
}

export interface CaseAlternatives {
  /** The reading points that decide the case, in the points' order. */
  readonly points: readonly string[];
  /** Every combination of their alternatives; the first is the reference's. */
  readonly variants: readonly CaseVariant[];
}

/** Combinations beyond this are not enumerated: each deciding point then varies alone. */
const MAX_COMBINATIONS = 36;

export type ReferenceAnswer = { readonly expected: TensorMap } | { readonly errorCode: string };

function planKey(stage: Stage, input: TensorMap, config: ModelConfig, choice: ReadingChoice): string {
  try {
    const p = planStage(stage, input, config, readingsOf(choice));
    return JSON.stringify({ outputs: p?.outputs.map((o) => [o.name, o.dtype, o.shape, o.recipe]), consumed: p?.consumed });
  } catch (e) {
    if (e instanceof MoePrefuseError) return `error ${e.code}`;
    throw e;
  }
}

async function answerUnder(stage: Stage, input: TensorMap, config: ModelConfig, choice: ReadingChoice): Promise<ReferenceAnswer> {
  try {
    return { expected: (await runStage(stage, input, config, { readings: readingsOf(choice) })).weights };
  } catch (e) {
    if (e instanceof MoePrefuseError) return { errorCode: e.code };
    throw e;
  }
}

function sameAnswer(a: ReferenceAnswer, b: ReferenceAnswer): boolean {
  if ("errorCode" in a || "errorCode" in b) return "errorCode" in a && "errorCode" in b;
  return sameWeights(a.expected, b.expected);
}

function variant(input: TensorMap, choice: ReadingChoice, a: ReferenceAnswer): CaseVariant {
  if ("errorCode" in a) return { choice, outcome: "error", errorCode: a.errorCode, expected: undefined };
  return { choice, outcome: sameWeights(input, a.expected) ? "untouched" : "transform", expected: a.expected };
}

/**
 * The deciding points of a case and its expected answers under them, or undefined when no point
 * decides it (then the reference's answer is the only one). `reference` is the reference's own
 * answer (a golden case's stored expected file).
 */
export async function caseAlternatives(stage: Stage, input: TensorMap, config: ModelConfig, reference: ReferenceAnswer): Promise<CaseAlternatives | undefined> {
  const points = readingPoints(stage);
  if (points.length === 0) return undefined;
  const refKey = planKey(stage, input, config, {});
  const deciding: { id: string; alternatives: string[] }[] = [];
  const single = new Map<string, ReferenceAnswer>();
  for (const p of points) {
    let decides = false;
    for (const alt of p.alternatives) {
      if (alt.id === p.reference) continue;
      const choice = { [p.id]: alt.id };
      if (planKey(stage, input, config, choice) === refKey) continue;
      const a = await answerUnder(stage, input, config, choice);
      single.set(`${p.id}=${alt.id}`, a);
      if (!sameAnswer(a, reference)) decides = true;
    }
    if (decides) deciding.push({ id: p.id, alternatives: p.alternatives.map((a) => a.id) });
  }
  if (deciding.length === 0) return undefined;
  const referenceChoice = Object.fromEntries(deciding.map((d) => [d.id, REFERENCE_CHOICE[d.id]!]));
  const size = deciding.reduce((n, d) => n * d.alternatives.length, 1);
  let choices: ReadingChoice[];
  if (size <= MAX_COMBINATIONS) {
    choices = deciding.reduce<ReadingChoice[]>((acc, d) => acc.flatMap((c) => d.alternatives.map((a) => ({ ...c, [d.id]: a }))), [{}]);
  } else {
    choices = [
      referenceChoice,
      ...deciding.flatMap((d) => d.alternatives.filter((a) => a !== referenceChoice[d.id]).map((a) => ({ ...referenceChoice, [d.id]: a }))),
    ];
  }
  const isReference = (c: ReadingChoice) => deciding.every((d) => c[d.id] === referenceChoice[d.id]);
  choices.sort((a, b) => Number(isReference(b)) - Number(isReference(a)));
  const variants: CaseVariant[] = [];
  for (const choice of choices) {
    const off = deciding.filter((d) => choice[d.id] !== referenceChoice[d.id]);
    const known = off.length === 0 ? reference : off.length === 1 ? single.get(`${off[0]!.id}=${choice[off[0]!.id]}`) : undefined;
    variants.push(variant(input, choice, known ?? (await answerUnder(stage, input, config, choice))));
  }
  return { points: deciding.map((d) => d.id), variants };
}

/** The reading points that decide a case (what case.json records): [] when none does, or the stage has none. */
export async function decidingPoints(stage: Stage, input: TensorMap, config: ModelConfig, reference: ReferenceAnswer): Promise<string[]> {
  return [...((await caseAlternatives(stage, input, config, reference))?.points ?? [])];
}
