// The committed golden corpus (corpus/golden): every case passes `golden check` in process (its
// manifest holds, and the reference reproduces expected.safetensors byte for byte), the corpus
// covers what the issue asks of it, and it is exactly what its definitions in src/golden/cases.ts
// build today (a generator or reference change that moves a byte shows here as a diff).

import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PARTIAL_DEFECTS } from "../../src/fixtures-gen/variants.js";
import { FAMILY_NAMES } from "../../src/fixtures-gen/families.js";
import type { FixtureSpec } from "../../src/fixtures-gen/spec.js";
import { STAGES } from "../../src/reference/stages.js";
import { parseSafetensors } from "../../src/reference/safetensors/memory.js";
import { bytesEqual } from "../../src/reference/tensor.js";
import { GOLDEN_CASES } from "../../src/golden/cases.js";
import { checkCase } from "../../src/golden/check.js";
import { type CaseMeta, readCorpus } from "../../src/golden/corpus.js";
import { formatDiff, isEmptyDiff } from "../../src/golden/diff.js";
import { findFp8Oracle } from "../../src/golden/fp8-oracle.js";
import { planCorpusUpdate } from "../../src/golden/update.js";
import { ROOT } from "../support/cli.js";
import { READING_POINTS } from "../../src/reference/reading-points.js";
import { STAGE_CONTRACTS } from "../../src/reference/contracts.js";

const CORPUS = join(ROOT, "corpus", "golden");
const IDS: string[] = JSON.parse(readFileSync(join(CORPUS, "index.json"), "utf8")).cases;
const META: CaseMeta[] = IDS.map((id) => JSON.parse(readFileSync(join(CORPUS, id, "case.json"), "utf8")));
const specOf = (m: CaseMeta) => m.source.spec as FixtureSpec | undefined;

function treeSize(dir: string): number {
  return readdirSync(dir).reduce((n, f) => {
    const p = join(dir, f);
    return n + (statSync(p).isDirectory() ? treeSize(p) : statSync(p).size);
  }, 0);
}

describe("golden corpus", () => {
  it.each(IDS)("%s: the reference reproduces it byte for byte", async (id) => {
    const c = await checkCase(CORPUS, id);
    expect(c.ok, c.detail).toBe(true);
  });

  it("reads whole with the shared reader: index, folders and manifests agree", async () => {
    expect((await readCorpus(CORPUS)).map((c) => c.meta.id)).toEqual(IDS);
  });

  it("has at least 20 cases, under 5 MB, every stage, family, variant, judged outcome and reading point", () => {
    expect(IDS.length).toBeGreaterThanOrEqual(20);
    expect(treeSize(CORPUS)).toBeLessThan(5_000_000);
    expect(new Set(META.map((m) => m.stage))).toEqual(new Set(STAGES));
    // An open (i_) case is one the stage's contract does not reach (a family of another form, a
    // count no point covers); what the contract's text leaves open is a reading point instead, and
    // the y_/n_ cases it decides say so.
    expect(new Set(META.map((m) => m.outcome))).toEqual(new Set(["transform", "untouched", "error", "open"]));
    for (const m of META.filter((x) => x.outcome === "open")) {
      const input = join(CORPUS, m.id, "input");
      const config = JSON.parse(readFileSync(join(input, "config.json"), "utf8"));
      const weights = parseSafetensors(readFileSync(join(input, "model.safetensors"))).tensors;
      expect(STAGE_CONTRACTS[m.stage].outside(config, weights), `${m.id} is open, so outside its stage's contract`).toBeDefined();
      expect(m.points, m.id).toEqual([]);
    }
    expect(new Set(META.flatMap((m) => m.points))).toEqual(new Set(READING_POINTS.map((p) => p.id)));
    expect(new Set(META.map((m) => m.family).filter((f) => f !== null))).toEqual(new Set(FAMILY_NAMES));
    const variants = META.flatMap((m) => specOf(m)?.variants ?? []);
    expect(new Set(variants.map((v) => v.kind))).toEqual(new Set(["fused", "dense", "partial", "extra-expert", "duplicate-expert", "count-key"]));
    expect(META.some((m) => specOf(m) !== undefined && specOf(m)!.variants === undefined)).toBe(true); // per-expert, the default
    expect(new Set(variants.flatMap((v) => (v.kind === "partial" ? [v.defect] : [])))).toEqual(new Set(PARTIAL_DEFECTS));
  });

  it("holds E = 1, 16, 17, 20 and 128, chunk seams and E > 10", () => {
    const counts = new Set(META.map((m) => specOf(m)?.experts));
    for (const E of [1, 16, 17, 20, 128]) expect(counts, `E = ${E}`).toContain(E);
    expect(META.filter((m) => m.features.includes("chunk-seam")).length).toBeGreaterThanOrEqual(3);
    expect(META.filter((m) => m.features.includes("numeric-order")).length).toBeGreaterThanOrEqual(3);
  });

  it("holds every scenario of the oQ fix's test plan, on the stage that is oQ's function", () => {
    const plan = META.filter((m) => m.features.includes("oq-test-plan"));
    expect(plan.every((m) => m.stage === "prefuse" && m.family === "qwen3_5_moe")).toBe(true);
    const ids = plan.map((m) => m.id);
    for (const scenario of ["fuses-per-expert", "round-trip", "already-fused", "dense", "partial-layer", "20-experts"])
      expect(ids.join(" ")).toContain(scenario);
    const keys = plan.flatMap((m) => (specOf(m)?.variants ?? []).flatMap((v) => (v.kind === "count-key" ? v.keys.map((k) => k.key) : [])));
    expect(new Set(keys)).toEqual(new Set(["num_local_experts", "text_config.num_local_experts", "num_experts", "text_config.num_experts"]));
  });

  it("takes every FP8 expected output from the numpy oracle, including its committed cases", () => {
    const fp8 = META.filter((m) => m.stage.startsWith("dequant") && m.outcome !== "error");
    expect(fp8.length).toBeGreaterThanOrEqual(6);
    for (const m of fp8) expect(m.source.expectedBy, m.id).toMatch(/^fp8-oracle/);
    for (const name of readdirSync(join(ROOT, "corpus", "fp8"))) {
      const id = `y_dequant-oracle-${name}`;
      expect(IDS).toContain(id);
      const committed = readFileSync(join(ROOT, "corpus", "fp8", name, "expected", "model.safetensors"));
      expect(bytesEqual(readFileSync(join(CORPUS, id, "expected.safetensors")), committed), `${id} holds the oracle's committed output`).toBe(true);
    }
  });

  it("round-trip case: splitting expected gate_up along axis -2 gives back every expert's gate and up", () => {
    const dir = join(CORPUS, "y_prefuse-oq-round-trip");
    const input = parseSafetensors(readFileSync(join(dir, "input", "model.safetensors"))).tensors;
    const expected = parseSafetensors(readFileSync(join(dir, "expected.safetensors"))).tensors;
    let checked = 0;
    for (const [name, t] of expected) {
      if (!name.endsWith(".experts.gate_up_proj")) continue;
      const prefix = name.slice(0, -".gate_up_proj".length);
      const [E, twoI, H] = t.shape as [number, number, number];
      const half = (twoI / 2) * H * 2; // bf16
      for (let e = 0; e < E; e++) {
        const slot = t.data.subarray(e * 2 * half, (e + 1) * 2 * half);
        expect(bytesEqual(slot.subarray(0, half), input.get(`${prefix}.${e}.gate_proj.weight`)!.data)).toBe(true);
        expect(bytesEqual(slot.subarray(half), input.get(`${prefix}.${e}.up_proj.weight`)!.data)).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(12); // 6 experts in 2 layers
  });

  // Rebuilds every case (the FP8 ones through the Python oracle): ten seconds on a quiet machine,
  // minutes on a loaded one: five seconds a case, plus a minute.
  it("is exactly what src/golden/cases.ts builds (golden update would change nothing)", { timeout: GOLDEN_CASES.length * 5_000 + 60_000 }, async () => {
    const plan = await planCorpusUpdate(CORPUS, GOLDEN_CASES, { fp8Fixtures: join(ROOT, "corpus", "fp8"), oracle: findFp8Oracle(ROOT) });
    expect(isEmptyDiff(plan.diff), formatDiff(plan.diff).join("\n")).toBe(true);
    expect(plan.notes.filter((n) => n.includes("differs"))).toEqual([]);
  });
});
