// Writing a property's shrunk counterexample as a checkpoint folder, ready to become a golden
// case: config.json, one model.safetensors, and a case.json draft in the corpus format (the
// reference's plan per layer and its observed outcome; the spec that regenerates it under
// `source.spec`). No expected.safetensors: when a property fails, the reference's answer is the
// suspect, so the expected output is made by `golden update` once the case is defined in
// src/golden/cases.ts and the reference is fixed.

import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { serializeConfig } from "../../../src/reference/checkpoint-writer.js";
import type { ModelConfig } from "../../../src/reference/checkpoint.js";
import { serializeSafetensors } from "../../../src/reference/safetensors/memory.js";
import type { FuseTarget } from "../../../src/reference/prefuse/layouts.js";
import type { Stage } from "../../../src/reference/stages.js";
import type { TensorMap } from "../../../src/reference/tensor.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../../src/fixtures-gen/spec.js";
import { observedOutcome, parseInput, referenceAnswer } from "../../../src/golden/answer.js";
import { type CaseMeta, OUTCOME_PREFIX } from "../../../src/golden/corpus.js";
import { decidingPoints } from "../../../src/reference/alternatives.js";

export interface CounterexampleCheckpoint {
  /** The stage the property exercises (what the draft case checks). */
  readonly stage: Stage;
  readonly config: ModelConfig;
  readonly tensors: TensorMap;
  readonly metadata?: Readonly<Record<string, string>>;
  /** The fixture spec that regenerates the input, when it came from the generator. */
  readonly spec?: FixtureSpec;
  /** The property's other inputs (chunk size, target, shuffle seed...). */
  readonly params?: Readonly<Record<string, unknown>>;
}

/** The stage a fuse target is checked at. */
export function targetStage(target: FuseTarget): Stage {
  return target === "fused" ? "prefuse" : "switch_mlp";
}

/** The checkpoint a generated spec stands for (the usual counterexample). */
export function specCounterexample(stage: Stage, spec: FixtureSpec, params?: Readonly<Record<string, unknown>>): CounterexampleCheckpoint {
  const g = generateCheckpoint({ ...spec, shards: 1 });
  return { stage, config: g.config, tensors: g.tensors, metadata: g.metadata, spec: { ...spec, shards: 1 }, ...(params === undefined ? {} : { params }) };
}

export interface CounterexampleOrigin {
  readonly property: string;
  readonly seed: number;
  /** fast-check's counterexample path (replay with FC_SEED and FC_PATH). */
  readonly path: string | undefined;
}

/** Writes `<root>/<property>-<seed>/` and returns its path. */
export async function writeCounterexample(root: string, c: CounterexampleCheckpoint, origin: CounterexampleOrigin): Promise<string> {
  const folder = `${origin.property}-${origin.seed}`;
  const dir = join(root, folder);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, "input"), { recursive: true });
  const configText = serializeConfig(c.config);
  const model = serializeSafetensors(c.tensors, c.metadata);
  await writeFile(join(dir, "input", "config.json"), configText);
  await writeFile(join(dir, "input", "model.safetensors"), model);
  let outcome: CaseMeta["outcome"] = "open";
  let layers: Record<string, string> = {};
  let errorCode: string | undefined;
  let points: string[] = [];
  try {
    const input = parseInput({ configText, model });
    const answer = await referenceAnswer(c.stage, input);
    outcome = observedOutcome(answer, input);
    layers = answer.layers;
    points = await decidingPoints(c.stage, input.weights, input.config, answer.kind === "output" ? { expected: answer.weights } : { errorCode: answer.code });
    if (answer.kind === "error") errorCode = answer.code;
  } catch {
    // The reference crashed on it: the draft stays open, the crash is what the property found.
  }
  const draft: CaseMeta = {
    id: `${OUTCOME_PREFIX[outcome]}${folder}`,
    description: `Counterexample of the property '${origin.property}' (seed ${origin.seed}); say what it tests before committing it as a golden case.`,
    stage: c.stage,
    outcome,
    features: ["counterexample", origin.property, ...(c.spec === undefined ? [] : [c.spec.family])],
    family: c.spec?.family ?? null,
    source: { property: origin.property, seed: origin.seed, path: origin.path ?? null, spec: c.spec ?? null, params: c.params ?? {} },
    points,
    layers,
    ...(errorCode === undefined ? {} : { errorCode }),
  };
  await writeFile(join(dir, "case.json"), `${JSON.stringify(draft, null, 2)}\n`);
  return dir;
}
