// The verdict on one case from what the candidate did: pass, fail (with the reason, and the
// diagnoses when its output differs) or open (an i_ case: recorded, never judged). A refusal is
// a non-zero exit within the timeout (per-case protocol) or a "refused" answer (serve/1); the
// reference's refusals (n_ cases of outcome "error") pass exactly when the candidate refuses too.
// A crash, a timeout, a protocol violation, a missing or unreadable output are failures with
// their reason. Both protocols end a case in an `Ending`, so judging does not depend on which ran.

import type { Outcome } from "../golden/corpus.js";
import type { ModelConfig } from "../reference/checkpoint.js";
import type { FusePlan } from "../reference/prefuse/plan.js";
import { parseSafetensors } from "../reference/safetensors/memory.js";
import { MoePrefuseError } from "../reference/errors.js";
import type { TensorMap } from "../reference/tensor.js";
import { type Comparison, type Tolerance, type TensorMismatch, compareWeights, describeMismatch } from "./compare.js";
import type { Diagnosis } from "./diagnoses/diagnosis.js";
import { diagnose } from "./diagnoses/diagnose.js";
import type { OutputRead } from "./output.js";

export type Verdict = "pass" | "fail" | "open";

export type FailureKind =
  /** The command could not be started. */
  | "spawn"
  | "timeout"
  /** Non-zero exit or killed by a signal where an output was expected. */
  | "crash"
  | "no-output"
  /** The output is not a valid safetensors file. */
  | "invalid-output"
  /** A valid output that differs from the reference's. */
  | "mismatch"
  /** Exit 0 on an input the reference refuses. */
  | "accepted"
  /** serve/1: a line that is not the answer to the request in flight. */
  | "protocol"
  /** A golden corpus file changed during the run (its bytes no longer match the hash taken at the start). */
  | "corpus-changed";

/** How the candidate's handling of a case ended, whichever protocol ran it. */
export type Ending =
  /** `said`: how the candidate said it wrote ("exited 0", "answered written"). */
  | { readonly kind: "written"; readonly said: string }
  /** A non-zero exit (per case) or a "refused" answer (serve/1): `reason` says which. */
  | { readonly kind: "refused"; readonly reason: string }
  | { readonly kind: "failed"; readonly failure: FailureKind; readonly reason: string };

export interface Judgement {
  readonly verdict: Verdict;
  /** One line. */
  readonly reason: string;
  readonly failure?: FailureKind;
  readonly diagnoses: readonly Diagnosis[];
  readonly mismatches: readonly TensorMismatch[];
}

export interface JudgeInput {
  readonly outcome: Outcome;
  readonly errorCode?: string;
  readonly expected: TensorMap | undefined;
  readonly config: ModelConfig;
  /** The reference's plan, computed only when a diagnosis needs it. */
  readonly plan: () => FusePlan | undefined;
  readonly ending: Ending;
  /** Read only when the candidate says it wrote. */
  readonly output: OutputRead | undefined;
  readonly tolerance?: Tolerance;
}

/** Mismatches kept per case in reports (the count is always exact). */
const MAX_MISMATCHES = 20;

export type Observation = { failure: FailureKind; reason: string } | { refused: true; reason: string } | { weights: TensorMap };

/** What happened, before any judging: a failure kind and reason, or the candidate's weights. */
export function observe(input: Pick<JudgeInput, "ending" | "output">): Observation {
  const { ending, output } = input;
  if (ending.kind === "failed") return { failure: ending.failure, reason: ending.reason };
  if (ending.kind === "refused") return { refused: true, reason: ending.reason };
  if (output === undefined || "missing" in output) return { failure: "no-output", reason: `${ending.said} but wrote nothing at {output}` };
  if ("unreadable" in output) return { failure: "invalid-output", reason: `wrote {output} but it cannot be read: ${output.unreadable}` };
  try {
    return { weights: parseSafetensors(output.bytes, "{output}").tensors };
  } catch (e) {
    if (e instanceof MoePrefuseError) return { failure: "invalid-output", reason: `wrote an invalid safetensors file: ${e.message}` };
    throw e;
  }
}

function comparisonReason(c: Comparison, diagnoses: readonly Diagnosis[]): string {
  if (diagnoses.length > 0) return diagnoses[0]!.message;
  const parts = [
    c.missing.length > 0 ? `${c.missing.length} tensor(s) missing` : "",
    c.extra.length > 0 ? `${c.extra.length} extra tensor(s)` : "",
    c.mismatches.length > 0 ? describeMismatch(c.mismatches[0]!) : "",
  ];
  return parts.filter((p) => p !== "").join("; ");
}

export function judge(input: JudgeInput): Judgement {
  const seen = observe(input);
  const open = input.outcome === "open";
  const none = { diagnoses: [], mismatches: [] };
  if ("failure" in seen) return { verdict: open ? "open" : "fail", failure: seen.failure, reason: seen.reason, ...none };
  if (input.outcome === "error") {
    if ("refused" in seen)
      return { verdict: "pass", reason: `refused as expected (${seen.reason}; the reference refuses with ${input.errorCode ?? "an error"})`, ...none };
    return {
      verdict: "fail",
      failure: "accepted",
      reason: `the reference refuses this input (${input.errorCode ?? "error"}) but the candidate ${input.ending.kind === "written" ? input.ending.said : "wrote an output"}`,
      ...none,
    };
  }
  if ("refused" in seen) return { verdict: open ? "open" : "fail", failure: "crash", reason: seen.reason, ...none };
  const expected = input.expected!;
  const comparison = compareWeights(expected, seen.weights, input.tolerance);
  if (comparison.equal) return { verdict: open ? "open" : "pass", reason: open ? "same as the reference" : "identical to the reference", ...none };
  const diagnoses = diagnose({ expected, actual: seen.weights, plan: input.plan(), config: input.config });
  return {
    verdict: open ? "open" : "fail",
    failure: "mismatch",
    reason: comparisonReason(comparison, diagnoses),
    diagnoses,
    mismatches: comparison.mismatches.slice(0, MAX_MISMATCHES),
  };
}

/** What identifies a failure for shrinking: its first diagnosis, else its kind. */
export function failureSignature(j: Pick<Judgement, "failure" | "diagnoses">): string {
  return j.diagnoses[0]?.kind ?? j.failure ?? "none";
}
