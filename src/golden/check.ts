// `golden check`: every case's files must match its manifest, and the reference, run over the
// case input, must reproduce expected.safetensors byte for byte (or refuse the input with the
// stated error code), agree with case.json about each layer's state, and fit the case's label.
// One result per case; a broken case never stops the others from being checked.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CONFIG_FILE, SINGLE_FILE } from "../reference/checkpoint.js";
import { MoePrefuseError } from "../reference/errors.js";
import { bytesEqual } from "../reference/tensor.js";
import { outcomeProblem, parseInput, referenceAnswer } from "./answer.js";
import { type CaseMeta, readCase, readIndex } from "./corpus.js";
import { diffTensors } from "./diff.js";
import { decidingPoints } from "../reference/alternatives.js";

export interface CaseCheck {
  readonly id: string;
  /** Undefined when case.json itself could not be read. */
  readonly meta: CaseMeta | undefined;
  readonly ok: boolean;
  /** Why it failed (one line), or what passed. */
  readonly detail: string;
}

export interface CorpusCheck {
  readonly root: string;
  readonly cases: readonly CaseCheck[];
  readonly passed: number;
  readonly failed: number;
}

function sameLayers(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a).sort();
  return keys.join("\n") === Object.keys(b).sort().join("\n") && keys.every((k) => a[k] === b[k]);
}

function describeLayers(layers: Readonly<Record<string, string>>): string {
  const entries = Object.entries(layers);
  return entries.length === 0 ? "none" : entries.map(([p, s]) => `${p} ${s}`).join(", ");
}

/** Checks one case folder `<root>/<id>`. */
export async function checkCase(root: string, id: string): Promise<CaseCheck> {
  let meta: CaseMeta | undefined;
  const fail = (detail: string): CaseCheck => ({ id, meta, ok: false, detail });
  try {
    const c = await readCase(join(root, id), id);
    meta = c.meta;
    const configText = await readFile(join(c.inputDir, CONFIG_FILE), "utf8");
    const input = parseInput({ configText, model: new Uint8Array(await readFile(join(c.inputDir, SINGLE_FILE))) }, join(root, id, "input"));
    const answer = await referenceAnswer(meta.stage, input);
    const problem = outcomeProblem(meta.outcome, answer, input);
    if (problem !== undefined) return fail(problem);
    const points = await decidingPoints(
      meta.stage,
      input.weights,
      input.config,
      answer.kind === "output" ? { expected: answer.weights } : { errorCode: answer.code },
    );
    if (points.join(",") !== meta.points.join(","))
      return fail(`case.json says reading points [${meta.points.join(", ")}] decide it; they are [${points.join(", ")}]`);
    if (answer.kind === "error") {
      return answer.code === meta.errorCode
        ? { id, meta, ok: true, detail: `refused with ${answer.code}` }
        : fail(`refused with ${answer.code}, case.json expects ${meta.errorCode ?? "no code"}`);
    }
    const expected = new Uint8Array(await readFile(c.expected!));
    if (!bytesEqual(expected, answer.expected)) {
      let changes;
      try {
        changes = diffTensors(expected, answer.expected);
      } catch (e) {
        return fail(`expected.safetensors cannot be read: ${(e as Error).message}`);
      }
      const first = changes[0];
      if (first === undefined) return fail("same tensors as expected.safetensors, but the file bytes differ (header or metadata)");
      return fail(`${changes.length} tensor(s) differ from expected.safetensors; first ${first.tensor}: ${first.change} ${first.detail}`);
    }
    if (!sameLayers(meta.layers, answer.layers))
      return fail(`case.json says layers ${describeLayers(meta.layers)}; the reference plans ${describeLayers(answer.layers)}`);

    return { id, meta, ok: true, detail: `${answer.weights.size} tensors reproduced byte for byte` };
  } catch (e) {
    if (e instanceof MoePrefuseError || e instanceof SyntaxError) return fail(e.message);
    throw e;
  }
}

/** Checks every case index.json lists, in its order. Fails only when index.json itself is unusable. */
export async function checkCorpus(root: string, onCase?: (c: CaseCheck) => void): Promise<CorpusCheck> {
  const ids = await readIndex(root);
  const cases: CaseCheck[] = [];
  for (const id of ids) {
    const c = await checkCase(root, id);
    onCase?.(c);
    cases.push(c);
  }
  const passed = cases.filter((c) => c.ok).length;
  return { root, cases, passed, failed: cases.length - passed };
}
