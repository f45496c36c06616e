// Writing golden case folders in the corpus format (corpus.ts): from a weight dict and its config,
// the reference's answer for a stage (runStage) decides the outcome (y_ transform, n_ untouched
// or refused, or i_ when the caller marks the case open) and becomes expected.safetensors; the
// manifest records every file's sha256. The release gate saves its shrunk counterexamples with
// it, and the corpus builder can make its cases with it, so both write the same format.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeDirAtomically, writeFileAtomically } from "../reference/atomic.js";
import type { ModelConfig } from "../reference/checkpoint.js";
import { CONFIG_FILE, SINGLE_FILE } from "../reference/checkpoint.js";
import { CorpusError, MoePrefuseError } from "../reference/errors.js";
import { serializeSafetensors } from "../reference/safetensors/memory.js";
import { planStage, runStage } from "../reference/stages.js";
import { type TensorMap, sameWeights } from "../reference/tensor.js";
import { decidingPoints } from "../reference/alternatives.js";
import {
  CASE_FILE,
  CORPUS_FORMAT,
  type CaseMeta,
  EXPECTED_FILE,
  type GoldenCase,
  INDEX_FILE,
  INPUT_DIR,
  MANIFEST_FILE,
  OUTCOME_PREFIX,
  type Outcome,
  caseFiles,
  readCase,
  sha256,
} from "./corpus.js";

/** A case to write: what case.json says of it, and its input. */
export interface NewCase extends Pick<CaseMeta, "description" | "stage" | "features" | "family" | "source"> {
  /** The case id without its outcome prefix (`oq-fuses-end-to-end`); the prefix follows the outcome. */
  readonly name: string;
  readonly weights: TensorMap;
  readonly config: ModelConfig;
  /** safetensors `__metadata__` of the input (and of the expected file, as the reference keeps it). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The contract leaves the answer open (i_): the reference's answer is stored, never judged. */
  readonly open?: boolean;
}

/** transform when the stage's output differs from its input in any name, spec or byte, else untouched. */
export function outcomeOf(input: TensorMap, output: TensorMap): "transform" | "untouched" {
  return sameWeights(input, output) ? "untouched" : "transform";
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/**
 * Writes the case folder `<corpus>/<prefix><name>` (atomically; the folder must not exist or be
 * empty) and returns it as read back by the corpus reader. index.json is not touched: see
 * addToCorpusIndex.
 */
export async function writeCaseFolder(corpus: string, c: NewCase): Promise<GoldenCase> {
  let expected: TensorMap | undefined;
  let outcome: Outcome;
  let errorCode: string | undefined;
  try {
    expected = (await runStage(c.stage, c.weights, c.config)).weights;
    outcome = c.open === true ? "open" : outcomeOf(c.weights, expected);
  } catch (e) {
    if (!(e instanceof MoePrefuseError)) throw e;
    if (c.open === true) throw new CorpusError("CORPUS_INVALID", `the reference refuses this input (${e.code}), so the case cannot be open`, { file: c.name });
    outcome = "error";
    errorCode = e.code;
  }
  const plan = outcome === "error" ? undefined : planStage(c.stage, c.weights, c.config);
  const id = `${OUTCOME_PREFIX[outcome]}${c.name}`;
  const meta: CaseMeta = {
    id,
    description: c.description,
    stage: c.stage,
    outcome,
    features: [...c.features],
    family: c.family,
    source: c.source,
    layers: Object.fromEntries((plan?.layers ?? []).map((l) => [l.prefix, l.state])),
    points: await decidingPoints(c.stage, c.weights, c.config, expected !== undefined ? { expected } : { errorCode: errorCode! }),
    ...(errorCode !== undefined ? { errorCode } : {}),
  };
  const files: Record<string, Uint8Array | string> = {
    [CASE_FILE]: json(meta),
    [`${INPUT_DIR}/${CONFIG_FILE}`]: json(c.config),
    [`${INPUT_DIR}/${SINGLE_FILE}`]: serializeSafetensors(c.weights, c.metadata),
  };
  if (expected !== undefined) files[EXPECTED_FILE] = serializeSafetensors(expected, c.metadata);
  const dir = join(corpus, id);
  await writeDirAtomically(dir, async (temp) => {
    await mkdir(join(temp, INPUT_DIR));
    for (const [f, bytes] of Object.entries(files)) await writeFile(join(temp, f), bytes);
    const manifest = Object.fromEntries(caseFiles(outcome).map((f) => [f, sha256(files[f]!)]));
    await writeFile(join(temp, MANIFEST_FILE), json({ files: manifest }));
  });
  return readCase(dir, id);
}

/** Adds case ids to `<corpus>/index.json` (created when missing), kept sorted and unique. */
export async function addToCorpusIndex(corpus: string, ids: readonly string[]): Promise<void> {
  const file = join(corpus, INDEX_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  let cases: string[] = [];
  if (text !== undefined) {
    let index: { format?: unknown; cases?: unknown };
    try {
      index = JSON.parse(text) as typeof index;
    } catch {
      throw new CorpusError("CORPUS_INVALID", "not valid JSON", { file });
    }
    if (index.format !== CORPUS_FORMAT || !Array.isArray(index.cases))
      throw new CorpusError("CORPUS_INVALID", `not a format ${CORPUS_FORMAT} corpus index`, { file });
    cases = index.cases as string[];
  }
  const all = [...new Set([...cases, ...ids])].sort();
  await writeFileAtomically(file, (temp) => writeFile(temp, json({ format: CORPUS_FORMAT, cases: all })));
}
