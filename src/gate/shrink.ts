// Shrinking a failing generated case to the smallest checkpoint that still fails the same way,
// with fast-check: its run is replayed from the gate's seed at the case's path, and every
// smaller draw fast-check proposes (fewer experts, layers, variants; smaller sizes) goes through
// the candidate again; a draw counts as failing when its first diagnosis (or kind of failure) is
// the original one, so shrinking cannot drift to another bug. The result is saved as a golden
// case folder, ready to commit, in a directory that is itself a corpus (index.json kept up to
// date), so `gate --corpus <dir>` replays every saved case.

import fc from "fast-check";
import { createHash } from "node:crypto";
import { generateCheckpoint } from "../fixtures-gen/generate.js";
import type { FixtureSpec } from "../fixtures-gen/spec.js";
import { join } from "node:path";
import { type NewCase, addToCorpusIndex, writeCaseFolder } from "../golden/case-writer.js";
import { type GoldenCase, OUTCOME_PREFIX, readCase } from "../golden/corpus.js";
import { OutputError } from "../reference/errors.js";
import type { Stage } from "../reference/stages.js";
import { type CaseDraw, caseArbitrary, caseFeatures, describeSpec, toFixtureSpec } from "./case-space.js";
import { failureSignature } from "./judge.js";
import type { ShrunkCase } from "./report.js";
import type { CaseResult } from "./run-case.js";

export interface ShrinkSettings {
  readonly stage: Stage;
  readonly seed: number;
  /** Most candidate runs spent on one shrink; past it the smallest failing case so far is kept. */
  readonly budget: number;
  /** Where shrunk cases are saved (a corpus directory, created when missing). */
  readonly saveDir: string;
  /** The candidate command, recorded in the case's source. */
  readonly candidate: string;
  /** Runs one generated checkpoint through the candidate. */
  readonly check: (spec: FixtureSpec) => Promise<CaseResult>;
}

function stageSlug(stage: Stage): string {
  return stage.replace(/[^a-z0-9]+/g, "-");
}

/** Writes the case folder, or finds it when an earlier run already saved the same case. */
async function saveCase(dir: string, c: NewCase): Promise<GoldenCase> {
  try {
    return await writeCaseFolder(dir, c);
  } catch (e) {
    if (!(e instanceof OutputError && e.code === "OUTPUT_EXISTS")) throw e;
    for (const prefix of new Set(Object.values(OUTCOME_PREFIX))) {
      const id = `${prefix}${c.name}`;
      try {
        return await readCase(join(dir, id), id);
      } catch {
        // not this prefix
      }
    }
    throw e;
  }
}

/** Shrinks the failure `failed` (a generated case) and saves the smallest failing checkpoint. */
export async function shrinkAndSave(failed: CaseResult, s: ShrinkSettings): Promise<ShrunkCase> {
  const signature = failureSignature(failed);
  let runs = 0;
  let smallest: { spec: FixtureSpec; result: CaseResult } = { spec: failed.spec!, result: failed };
  const property = fc.asyncProperty(caseArbitrary(s.stage), async (draw: CaseDraw) => {
    if (runs >= s.budget) return true; // budget spent: stop looking, keep the smallest so far
    runs++;
    const spec = toFixtureSpec(s.stage, draw);
    const result = await s.check(spec);
    const same = result.verdict === "fail" && failureSignature(result) === signature;
    if (same) smallest = { spec, result };
    return !same;
  });
  await fc.check(property, { seed: s.seed, path: String(failed.generatedIndex), numRuns: failed.generatedIndex! + 1 });
  const { spec, result } = smallest;
  const g = generateCheckpoint(spec);
  const hash = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 8);
  const written = await saveCase(s.saveDir, {
    name: `gate-${stageSlug(s.stage)}-${signature}-${spec.family}-e${spec.experts}-${hash}`,
    description: `Shrunk by the release gate from generated case ${failed.id} (seed ${s.seed}): ${result.reason}`,
    stage: s.stage,
    features: caseFeatures(spec),
    family: spec.family,
    source: { fixtureSpec: spec, gate: { seed: s.seed, generatedIndex: failed.generatedIndex, candidate: s.candidate, failure: signature } },
    weights: g.tensors,
    config: g.config,
    metadata: g.metadata,
  });
  await addToCorpusIndex(s.saveDir, [written.meta.id]);
  return { from: failed.id, signature, path: written.dir, id: written.meta.id, label: describeSpec(spec), runs };
}
