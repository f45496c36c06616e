// The reference's answer to a golden case: run its stage over the input checkpoint and return
// the expected file's bytes (the stage's whole output, serialized with the input's metadata), or
// the typed error the stage refuses the input with, together with what the prefuse plan says
// per layer. `golden update` stores this answer; `golden check` recomputes and compares it.

import type { ModelConfig } from "../reference/checkpoint.js";
import { MoePrefuseError } from "../reference/errors.js";
import type { FusePlan } from "../reference/prefuse/plan.js";
import { parseSafetensors, serializeSafetensors } from "../reference/safetensors/memory.js";
import { type Stage, planStage, runStage } from "../reference/stages.js";
import type { TensorMap } from "../reference/tensor.js";
import { outcomeOf } from "./case-writer.js";
import type { Outcome } from "./corpus.js";

/** A case's input as the candidate gets it: config.json's text and one model.safetensors. */
export interface CaseInput {
  readonly configText: string;
  readonly model: Uint8Array;
}

export interface ParsedInput {
  readonly config: ModelConfig;
  readonly weights: TensorMap;
  readonly metadata: Readonly<Record<string, string>> | undefined;
}

export function parseInput(input: CaseInput, where = "input"): ParsedInput {
  const config = JSON.parse(input.configText) as ModelConfig;
  const { header, tensors } = parseSafetensors(input.model, `${where}/model.safetensors`);
  return { config, weights: tensors, metadata: header.metadata };
}

/** Per layer prefix: the plan's state, and for untouched layers the reasons (one line each). */
export interface LayerSummary {
  readonly layers: Record<string, string>;
  readonly reasons: Record<string, string[]>;
}

export type ReferenceAnswer =
  | ({ readonly kind: "output"; readonly expected: Uint8Array; readonly weights: TensorMap } & LayerSummary)
  | ({ readonly kind: "error"; readonly code: string; readonly message: string } & LayerSummary);

function summarize(plan: FusePlan | undefined): LayerSummary {
  const layers: Record<string, string> = {};
  const reasons: Record<string, string[]> = {};
  for (const l of plan?.layers ?? []) {
    layers[l.prefix] = l.state;
    if (l.state === "untouched") reasons[l.prefix] = l.reasons.map((r) => r.message);
  }
  return { layers, reasons };
}

/** The stage's output serialized as the expected file: canonical layout, the input's metadata. */
export function serializeExpected(weights: TensorMap, input: ParsedInput): Uint8Array {
  return serializeSafetensors(weights, input.metadata);
}

export async function referenceAnswer(stage: Stage, input: ParsedInput): Promise<ReferenceAnswer> {
  try {
    const summary = summarize(planStage(stage, input.weights, input.config));
    const result = await runStage(stage, input.weights, input.config);
    return { kind: "output", expected: serializeExpected(result.weights, input), weights: result.weights, ...summary };
  } catch (e) {
    if (!(e instanceof MoePrefuseError)) throw e;
    return { kind: "error", code: e.code, message: e.message, layers: {}, reasons: {} };
  }
}

/** What the reference did with the input: refused it, changed it, or left it exactly as it was. */
export function observedOutcome(answer: ReferenceAnswer, input: ParsedInput): "error" | "transform" | "untouched" {
  if (answer.kind === "error") return "error";
  return outcomeOf(input.weights, answer.weights);
}

const SAID: Readonly<Record<Outcome, string>> = { error: "'error'", transform: "y_", untouched: "n_", open: "i_" };
const DID: Readonly<Record<"error" | "transform" | "untouched", string>> = {
  error: "the reference refuses it",
  transform: "the reference changes the input",
  untouched: "the reference leaves the input as it is",
};

/** Why an answer contradicts a case's outcome label, or undefined when it fits. */
export function outcomeProblem(outcome: Outcome, answer: ReferenceAnswer, input: ParsedInput): string | undefined {
  const observed = observedOutcome(answer, input);
  if (observed === outcome || (outcome === "open" && observed !== "error")) return undefined;
  return `is labelled ${SAID[outcome]} but ${DID[observed]}${answer.kind === "error" ? `: ${answer.message}` : ""}`;
}
