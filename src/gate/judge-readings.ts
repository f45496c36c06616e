// Judging a case that reading points decide: the candidate's output (or refusal) is matched
// against the reference's answer under every combination of the deciding points' alternatives.
// Matching one records which alternatives the case shows (the run's fingerprint settles later
// whether they agree with the candidate's other cases, fingerprint.ts). Matching none is a bug,
// judged and diagnosed against the pinned alternatives when given, else against the closest
// answer (fewest differing tensors), so the diagnosis speaks of what the candidate nearly did.

import type { Outcome } from "../golden/corpus.js";
import type { ModelConfig } from "../reference/checkpoint.js";
import { type Stage, planStage } from "../reference/stages.js";
import type { TensorMap } from "../reference/tensor.js";
import type { CaseAlternatives, CaseVariant } from "../reference/alternatives.js";
import { compareWeights } from "./compare.js";
import { type JudgeInput, type Judgement, observe, judge } from "./judge.js";
import { REFERENCE_CHOICE, type ReadingChoice, formatChoice, readingsOf } from "../reference/reading-points.js";

/** What a decided case shows: its deciding points and the choices its output matches. */
export interface CaseReadings {
  readonly points: readonly string[];
  /** Choices at `points` whose answer the candidate's equals (empty: none, a bug). */
  readonly matched: readonly ReadingChoice[];
}

export interface ReadingsJudgeInput extends Omit<JudgeInput, "outcome" | "errorCode" | "expected" | "plan"> {
  readonly stage: Stage;
  /** The case's own outcome label (an open case is recorded, never judged). */
  readonly outcome: Outcome;
  readonly input: TensorMap;
  readonly config: ModelConfig;
  /** Pinned readings (--readings), if any. */
  readonly pinned?: ReadingChoice;
}

function matches(v: CaseVariant, seen: ReturnType<typeof observe>, input: ReadingsJudgeInput): boolean {
  if (v.outcome === "error") return "refused" in seen;
  return "weights" in seen && compareWeights(v.expected!, seen.weights, input.tolerance).equal;
}

/** How far an answer is from the candidate's output: tensors missing, extra or different. */
function distance(v: CaseVariant, seen: ReturnType<typeof observe>): number {
  if (!("weights" in seen) || v.expected === undefined) return Number.MAX_SAFE_INTEGER;
  const c = compareWeights(v.expected, seen.weights);
  return c.missing.length + c.extra.length + c.mismatches.length;
}

function agrees(choice: ReadingChoice, with_: ReadingChoice | undefined): boolean {
  return with_ === undefined || Object.entries(choice).every(([p, a]) => with_[p] === undefined || with_[p] === a);
}

export function judgeWithReadings(input: ReadingsJudgeInput, alternatives: CaseAlternatives): Judgement & { readonly readings: CaseReadings } {
  const seen = observe(input);
  const matched = alternatives.variants.filter((v) => matches(v, seen, input));
  const open = input.outcome === "open";
  if (matched.length > 0) {
    const shown = matched[0]!.choice;
    return {
      verdict: open ? "open" : "pass",
      reason: `identical to the reference under ${formatChoice(shown)}`,
      diagnoses: [],
      mismatches: [],
      readings: { points: alternatives.points, matched: matched.map((v) => v.choice) },
    };
  }
  // No answer fits: a bug. Judge it against the pinned answer, else the closest one.
  const pinned = alternatives.variants.find((v) => agrees(v.choice, input.pinned) && input.pinned !== undefined);
  const closest = [...alternatives.variants].sort((a, b) => distance(a, seen) - distance(b, seen))[0]!;
  const basis = pinned ?? closest;
  const plan = () => {
    try {
      return planStage(input.stage, input.input, input.config, readingsOf(basis.choice));
    } catch {
      return undefined;
    }
  };
  const j = judge({
    ...input,
    outcome: open ? "open" : basis.outcome,
    ...(basis.errorCode !== undefined ? { errorCode: basis.errorCode } : {}),
    expected: basis.expected,
    plan,
  });
  const isReference = Object.entries(basis.choice).every(([p, a]) => REFERENCE_CHOICE[p] === a);
  const under = isReference ? "" : ` (matches no alternative; judged under ${formatChoice(basis.choice)})`;
  return { ...j, reason: `${j.reason}${under}`, readings: { points: alternatives.points, matched: [] } };
}
