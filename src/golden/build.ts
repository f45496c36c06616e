// Building one golden case from its definition: the input checkpoint (generated from a fixture
// spec, or an FP8 oracle case's committed input), the expected output (the reference's answer,
// or the independent FP8 oracle's), case.json and the manifest, all as bytes in memory. The
// builder also holds every case to its label: a y_ case must change the input, an n_ case must
// leave it exactly as it is (or be refused with the stated error), and a y_/n_ case of the
// `prefuse` stage must stay inside that stage's contract (oQ's function, as the release gate's
// src/reference/contracts.ts states it), else it belongs to another stage or to an i_ case.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { serializeConfig } from "../reference/checkpoint-writer.js";
import { CONFIG_FILE, SINGLE_FILE } from "../reference/checkpoint.js";
import { MoePrefuseError } from "../reference/errors.js";
import { dequantizedConfig } from "../reference/fp8/config.js";
import { prefuse } from "../reference/prefuse/prefuse.js";
import { serializeSafetensors } from "../reference/safetensors/memory.js";
import type { Stage } from "../reference/stages.js";
import { bytesEqual } from "../reference/tensor.js";
import { decidingPoints } from "../reference/alternatives.js";
import { STAGE_CONTRACTS } from "../reference/contracts.js";
import { generateCheckpoint } from "../fixtures-gen/generate.js";
import { type FixtureSpec, resolveSpec } from "../fixtures-gen/spec.js";
import { type CaseInput, type ParsedInput, outcomeProblem, parseInput, referenceAnswer, serializeExpected } from "./answer.js";
import { CASE_FILE, type CaseMeta, EXPECTED_FILE, INPUT_DIR, MANIFEST_FILE, OUTCOME_PREFIX, type Outcome, sha256 } from "./corpus.js";
import { FP8_ORACLE_SCRIPT, type Fp8Oracle, oracleDequant } from "./fp8-oracle.js";

/** Where a case's input comes from. */
export type CaseSource =
  /** The fixture generator (one safetensors file: `shards` must be 1 or absent). */
  | { readonly kind: "generated"; readonly spec: FixtureSpec }
  /** A committed FP8 oracle case, `<fixtures>/<name>/input` (corpus/fp8), dequantized by the oracle's rules for `name`. */
  | { readonly kind: "fp8-oracle-case"; readonly name: string };

export interface CaseDefinition {
  /** The case id and folder name: `y_` / `n_` / `i_` by outcome. */
  readonly id: string;
  readonly description: string;
  readonly stage: Stage;
  readonly outcome: Outcome;
  /** Tags; the family, `fp8`, `chunk-seam` and `numeric-order` are added where they apply. */
  readonly features: readonly string[];
  readonly input: CaseSource;
  /**
   * `fp8-oracle`: the expected bytes come from the numpy oracle (stage dequant), or are the
   * reference prefuse of the oracle's dequantization (stage dequant+prefuse). Default: the reference.
   */
  readonly expectedBy?: "reference" | "fp8-oracle";
}

export interface BuildContext {
  /** Folder of the committed FP8 oracle cases (corpus/fp8). */
  readonly fp8Fixtures: string;
  /** The oracle, or why it cannot run here. */
  readonly oracle: Fp8Oracle | string;
  /** The committed bytes of a case file (to keep an oracle's answer when the oracle cannot run). */
  readonly committed: (id: string, file: string) => Promise<Uint8Array | undefined>;
}

export interface BuiltCase {
  readonly meta: CaseMeta;
  /** Every file of the case folder by relative path, manifest.json included. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** What the build could not do as defined (e.g. the oracle was unavailable and the committed answer was kept). */
  readonly notes: readonly string[];
}

/** A case definition that contradicts what the reference does with it. */
export class CaseDefinitionError extends MoePrefuseError<"CASE_DEFINITION_INVALID"> {
  override readonly name = "CaseDefinitionError";
  constructor(id: string, detail: string) {
    super("CASE_DEFINITION_INVALID", `golden case ${id}: ${detail}`);
  }
}

const utf8 = new TextEncoder();

async function loadInput(def: CaseDefinition, ctx: BuildContext): Promise<CaseInput> {
  if (def.input.kind === "fp8-oracle-case") {
    const dir = join(ctx.fp8Fixtures, def.input.name, "input");
    try {
      return { configText: await readFile(join(dir, CONFIG_FILE), "utf8"), model: new Uint8Array(await readFile(join(dir, SINGLE_FILE))) };
    } catch (e) {
      // A corpus copied without its FP8 fixture folder: keep the case's own committed input.
      const config = await ctx.committed(def.id, `${INPUT_DIR}/${CONFIG_FILE}`);
      const model = await ctx.committed(def.id, `${INPUT_DIR}/${SINGLE_FILE}`);
      if (config === undefined || model === undefined) throw new CaseDefinitionError(def.id, `cannot read its input ${dir}: ${(e as Error).message}`);
      return { configText: new TextDecoder().decode(config), model };
    }
  }
  if ((def.input.spec.shards ?? 1) !== 1) throw new CaseDefinitionError(def.id, "a case input is one model.safetensors: shards must be 1");
  const g = generateCheckpoint(def.input.spec);
  return { configText: serializeConfig(g.config), model: serializeSafetensors(g.tensors, g.metadata) };
}

/** The expected file's bytes when they come from the FP8 oracle. */
async function oracleExpected(def: CaseDefinition, input: CaseInput, parsed: ParsedInput, oracle: Fp8Oracle): Promise<Uint8Array> {
  const dequantized = await oracleDequant(oracle, input, def.input.kind === "fp8-oracle-case" ? def.input.name : undefined);
  if (def.stage === "dequant") return dequantized;
  if (def.stage !== "dequant+prefuse") throw new CaseDefinitionError(def.id, `the FP8 oracle answers the dequant stages, not ${def.stage}`);
  const d = parseInput({ configText: JSON.stringify(dequantizedConfig(parsed.config) ?? parsed.config), model: dequantized }, "oracle output");
  return serializeExpected((await prefuse(d.weights, d.config, { target: "fused" })).weights, parsed);
}

function autoFeatures(def: CaseDefinition): string[] {
  const tags = [...def.features];
  if (def.stage.startsWith("dequant")) tags.push("fp8");
  if (def.input.kind === "generated") {
    const spec = resolveSpec(def.input.spec);
    tags.push(spec.family.name);
    if (spec.experts > 10) tags.push("numeric-order");
    if (spec.experts > 16 && spec.experts % 16 !== 0) tags.push("chunk-seam");
  }
  return [...new Set(tags)].sort();
}

function sourceOf(def: CaseDefinition): Record<string, unknown> {
  const expectedBy = def.expectedBy === "fp8-oracle" ? `fp8-oracle (${FP8_ORACLE_SCRIPT})` : "reference";
  if (def.input.kind === "generated") return { generator: "generateCheckpoint (src/fixtures-gen)", spec: def.input.spec, expectedBy };
  return { fixture: `corpus/fp8/${def.input.name}/input`, oracleCase: def.input.name, expectedBy };
}

export async function buildCase(def: CaseDefinition, ctx: BuildContext): Promise<BuiltCase> {
  if (!def.id.startsWith(OUTCOME_PREFIX[def.outcome]))
    throw new CaseDefinitionError(def.id, `a '${def.outcome}' case is named ${OUTCOME_PREFIX[def.outcome]}...`);
  const input = await loadInput(def, ctx);
  const parsed = parseInput(input, def.id);
  const answer = await referenceAnswer(def.stage, parsed);
  const notes: string[] = [];

  const problem = outcomeProblem(def.outcome, answer, parsed);
  if (problem !== undefined) throw new CaseDefinitionError(def.id, problem);
  // The release gate gives prefuse candidates only cases inside oQ's contract; a y_ or n_ prefuse case must be one.
  if (def.stage === "prefuse" && (def.outcome === "transform" || def.outcome === "untouched")) {
    const outside = STAGE_CONTRACTS.prefuse.outside(parsed.config, parsed.weights);
    if (outside !== undefined)
      throw new CaseDefinitionError(def.id, `outside the prefuse stage's contract (${outside}): make it an i_ case or use another stage`);
  }

  let expected = answer.kind === "output" ? answer.expected : undefined;
  if (answer.kind === "output" && def.expectedBy === "fp8-oracle") {
    if (typeof ctx.oracle === "string") {
      const kept = await ctx.committed(def.id, EXPECTED_FILE);
      const keptInput = await ctx.committed(def.id, `${INPUT_DIR}/${SINGLE_FILE}`);
      if (kept === undefined || keptInput === undefined || !bytesEqual(keptInput, input.model)) {
        throw new CaseDefinitionError(def.id, `its expected output comes from the FP8 oracle, which cannot run here: ${ctx.oracle}`);
      }
      expected = kept;
      notes.push("kept the committed expected output: the FP8 oracle cannot run here");
    } else {
      expected = await oracleExpected(def, input, parsed, ctx.oracle);
      if (!bytesEqual(expected, answer.expected))
        notes.push("the FP8 oracle's answer differs from the reference's: golden check will fail until one of them is fixed");
    }
  }

  const meta: CaseMeta = {
    id: def.id,
    description: def.description,
    stage: def.stage,
    outcome: def.outcome,
    features: autoFeatures(def),
    family: def.input.kind === "generated" ? def.input.spec.family : null,
    source: sourceOf(def),
    layers: answer.layers,
    points: await decidingPoints(
      def.stage,
      parsed.weights,
      parsed.config,
      answer.kind === "output" ? { expected: answer.weights } : { errorCode: answer.code },
    ),
    ...(answer.kind === "error" ? { errorCode: answer.code } : {}),
    ...(Object.keys(answer.reasons).length > 0 ? { reasons: answer.reasons } : {}),
  };
  const files = new Map<string, Uint8Array>([
    [CASE_FILE, utf8.encode(`${JSON.stringify(meta, null, 2)}\n`)],
    [`${INPUT_DIR}/${CONFIG_FILE}`, utf8.encode(input.configText)],
    [`${INPUT_DIR}/${SINGLE_FILE}`, input.model],
  ]);
  if (expected !== undefined) files.set(EXPECTED_FILE, expected);
  const manifest = Object.fromEntries([...files.keys()].sort().map((f) => [f, sha256(files.get(f)!)]));
  files.set(MANIFEST_FILE, utf8.encode(`${JSON.stringify({ files: manifest }, null, 2)}\n`));
  return { meta, files, notes };
}
