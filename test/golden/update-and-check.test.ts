// `golden update` and `golden check` on small corpora of their own: the update writes a corpus
// the shared reader accepts, reports added / removed / changed cases down to the tensor before
// writing, keeps files at the root, refuses definitions that contradict their label; the check
// catches every way a case can go stale or be tampered with, one case at a time.

import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CaseDefinition, CaseDefinitionError } from "../../src/golden/build.js";
import { GOLDEN_CASES } from "../../src/golden/cases.js";
import { checkCorpus } from "../../src/golden/check.js";
import { MANIFEST_FILE, readCorpus, sha256 } from "../../src/golden/corpus.js";
import { formatDiff, isEmptyDiff } from "../../src/golden/diff.js";
import { planCorpusUpdate, writeCorpus } from "../../src/golden/update.js";
import { serializeSafetensors, parseSafetensors } from "../../src/reference/safetensors/memory.js";
import { ROOT } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const OPTIONS = { fp8Fixtures: join(ROOT, "corpus", "fp8"), oracle: "not used by these cases" };

const fuses: CaseDefinition = {
  id: "y_prefuse-small",
  description: "a small fuse",
  stage: "prefuse",
  outcome: "transform",
  features: ["test"],
  input: { kind: "generated", spec: { family: "qwen3_moe", seed: 1, experts: 3, layers: 2, hidden: 2, intermediate: 1, vocab: 2 } },
};
const dense: CaseDefinition = {
  id: "n_prefuse-dense",
  description: "dense",
  stage: "prefuse",
  outcome: "untouched",
  features: [],
  input: { kind: "generated", spec: { family: "olmoe", seed: 2, layers: 1, hidden: 2, intermediate: 1, vocab: 2, variants: [{ kind: "dense" }] } },
};
const refused: CaseDefinition = {
  id: "n_dequant-no-scale",
  description: "no scale",
  stage: "dequant",
  outcome: "error",
  features: [],
  input: {
    kind: "generated",
    spec: {
      family: "qwen3_moe",
      seed: 3,
      experts: 2,
      layers: 2,
      hidden: 2,
      intermediate: 1,
      vocab: 2,
      fp8: { blockSize: [1, 1] },
      variants: [{ kind: "partial", defect: "drop-scale", layer: 1, expert: 0, projection: "up" }],
    },
  },
};

async function corpusOf(defs: CaseDefinition[]): Promise<string> {
  const root = join(tempDir(), "golden");
  await writeCorpus(await planCorpusUpdate(root, defs, OPTIONS));
  return root;
}

function rewriteManifest(caseDir: string, file: string): void {
  const manifest = JSON.parse(readFileSync(join(caseDir, MANIFEST_FILE), "utf8"));
  manifest.files[file] = sha256(readFileSync(join(caseDir, file)));
  writeFileSync(join(caseDir, MANIFEST_FILE), JSON.stringify(manifest));
}

describe("golden update", () => {
  it("writes a corpus the shared reader accepts and the check passes; a second plan changes nothing", async () => {
    const root = await corpusOf([fuses, dense, refused]);
    expect((await readCorpus(root)).map((c) => [c.meta.id, c.meta.outcome, c.meta.errorCode])).toEqual([
      ["n_dequant-no-scale", "error", "WEIGHT_WITHOUT_SCALE"],
      ["n_prefuse-dense", "untouched", undefined],
      ["y_prefuse-small", "transform", undefined],
    ]);
    expect(existsSync(join(root, "n_dequant-no-scale", "expected.safetensors"))).toBe(false);
    const check = await checkCorpus(root);
    expect([check.passed, check.failed]).toEqual([3, 0]);
    expect(isEmptyDiff((await planCorpusUpdate(root, [fuses, dense, refused], OPTIONS)).diff)).toBe(true);
  });

  it("prints cases added, removed and changed, down to the tensor, and keeps README.md at the root", async () => {
    const root = await corpusOf([fuses, dense]);
    writeFileSync(join(root, "README.md"), "how to consume\n");
    const changed: CaseDefinition = {
      ...fuses,
      description: "changed",
      input: { kind: "generated", spec: { ...(fuses.input as { spec: object }).spec, family: "qwen3_moe", seed: 9 } },
    };
    const plan = await planCorpusUpdate(root, [changed, refused], OPTIONS);
    const text = formatDiff(plan.diff).join("\n");
    expect(text).toContain("+ n_dequant-no-scale (new case)");
    expect(text).toContain("- n_prefuse-dense (removed)");
    expect(text).toContain("~ y_prefuse-small");
    expect(text).toContain("case.json: changed: description, source");
    expect(text).toMatch(/input\/model\.safetensors: changed\n\s+lm_head\.weight: bytes \d+ of \d+ bytes differ, the first at byte \d+\n/);
    expect(text).toMatch(/\n\s+\.\.\. and \d+ more tensor\(s\)\n/);
    expect(text).toMatch(/expected\.safetensors: changed\n/);
    expect(text).toContain("1 added, 1 removed, 1 changed, 0 unchanged");
    await writeCorpus(plan);
    expect(readdirSync(root).sort()).toEqual(["README.md", "index.json", "n_dequant-no-scale", "y_prefuse-small"]);
    expect(readFileSync(join(root, "README.md"), "utf8")).toBe("how to consume\n");
    expect(readdirSync(join(root, ".."))).toEqual(["golden"]); // no temporary left beside it
  });

  it("refuses a definition whose label contradicts the reference, or that leaves the prefuse stage's contract", async () => {
    const root = join(tempDir(), "golden");
    await expect(planCorpusUpdate(root, [{ ...fuses, id: "n_prefuse-small", outcome: "untouched" }], OPTIONS)).rejects.toThrow(
      "is labelled n_ but the reference changes the input",
    );
    await expect(planCorpusUpdate(root, [{ ...dense, id: "y_prefuse-dense", outcome: "transform" }], OPTIONS)).rejects.toThrow(
      "is labelled y_ but the reference leaves the input as it is",
    );
    await expect(planCorpusUpdate(root, [{ ...fuses, id: "x_prefuse" }], OPTIONS)).rejects.toThrow(CaseDefinitionError);
    // Companions are outside oQ's function (it fuses .weight tensors only); a y_ prefuse case must stay inside.
    const quantized: CaseDefinition = {
      ...fuses,
      id: "y_prefuse-quantized",
      input: {
        kind: "generated",
        spec: { family: "qwen3_5_moe_fp8", experts: 2, layers: 1, mtpLayers: 0, hidden: 2, intermediate: 1, vocab: 2, fp8: { blockSize: [2, 2] } },
      },
    };
    await expect(planCorpusUpdate(root, [quantized], OPTIONS)).rejects.toThrow(
      /outside the prefuse stage's contract \(a quantized checkpoint.*make it an i_ case/,
    );
    await expect(planCorpusUpdate(root, [fuses, fuses], OPTIONS)).rejects.toThrow("defined twice");
    expect(existsSync(root)).toBe(false);
  });

  it("keeps an FP8 oracle case's committed expected output when the oracle cannot run, and says so", async () => {
    const oracleCase = GOLDEN_CASES.find((c) => c.id === "y_dequant-oracle-quark-per-block")!;
    const root = join(tempDir(), "golden");
    await expect(planCorpusUpdate(root, [oracleCase], OPTIONS)).rejects.toThrow(/comes from the FP8 oracle, which cannot run here: not used by these cases/);
    cpSync(join(ROOT, "corpus", "golden", oracleCase.id), join(root, oracleCase.id), { recursive: true });
    const plan = await planCorpusUpdate(root, [oracleCase], OPTIONS);
    expect(plan.notes).toEqual([`${oracleCase.id}: kept the committed expected output: the FP8 oracle cannot run here`]);
    expect(plan.diff.changed).toEqual([]);
  });
});

describe("golden check", () => {
  it("names each stale or tampered case and keeps checking the others", async () => {
    const root = await corpusOf([fuses, dense, refused]);
    // 1. expected.safetensors changed without its manifest.
    const fusesDir = join(root, fuses.id);
    const expected = readFileSync(join(fusesDir, "expected.safetensors"));
    writeFileSync(join(fusesDir, "expected.safetensors"), Buffer.concat([expected.subarray(0, -1), Buffer.from([expected.at(-1)! ^ 1])]));
    let check = await checkCorpus(root);
    expect(check.cases.find((c) => c.id === fuses.id)?.detail).toMatch(/expected\.safetensors: sha256 differs from manifest\.json/);
    expect([check.passed, check.failed]).toEqual([2, 1]);

    // 2. The same change with a consistent manifest: now the reference's bytes disagree, tensor named.
    rewriteManifest(fusesDir, "expected.safetensors");
    check = await checkCorpus(root);
    expect(check.cases.find((c) => c.id === fuses.id)?.detail).toMatch(
      /^1 tensor\(s\) differ from expected\.safetensors; first .+: bytes 1 of \d+ bytes differ/,
    );

    // 3. Same tensors, other metadata: the file bytes are the contract of golden check.
    const parsed = parseSafetensors(expected);
    writeFileSync(join(fusesDir, "expected.safetensors"), serializeSafetensors(parsed.tensors, { format: "np" }));
    rewriteManifest(fusesDir, "expected.safetensors");
    expect((await checkCorpus(root)).cases.find((c) => c.id === fuses.id)?.detail).toBe(
      "same tensors as expected.safetensors, but the file bytes differ (header or metadata)",
    );

    // 4. case.json claiming another layer state, and another error code.
    for (const [id, edit] of [
      [dense.id, (m: Record<string, unknown>) => (m.outcome = "transform")],
      [refused.id, (m: Record<string, unknown>) => (m.errorCode = "SCALE_SHAPE_MISMATCH")],
    ] as const) {
      const file = join(root, id, "case.json");
      const meta = JSON.parse(readFileSync(file, "utf8"));
      edit(meta);
      writeFileSync(file, JSON.stringify(meta));
      rewriteManifest(join(root, id), "case.json");
    }
    check = await checkCorpus(root);
    expect(check.cases.find((c) => c.id === dense.id)?.detail).toMatch(/a case with outcome 'transform' is named y_/);
    expect(check.cases.find((c) => c.id === refused.id)?.detail).toBe("refused with WEIGHT_WITHOUT_SCALE, case.json expects SCALE_SHAPE_MISMATCH");
    expect(check.failed).toBe(3);
  });

  it("reports a layer state case.json disagrees with", async () => {
    const root = await corpusOf([fuses]);
    const file = join(root, fuses.id, "case.json");
    const meta = JSON.parse(readFileSync(file, "utf8"));
    meta.layers["model.layers.1.mlp"] = "untouched";
    writeFileSync(file, JSON.stringify(meta));
    rewriteManifest(join(root, fuses.id), "case.json");
    expect((await checkCorpus(root)).cases[0]?.detail).toBe("case.json says layers model.layers.1.mlp untouched; the reference plans model.layers.1.mlp fused");
  });

  it("fails as a whole only when index.json is unusable or a folder is not listed", async () => {
    const root = await corpusOf([dense]);
    cpSync(join(root, dense.id), join(root, "n_extra"), { recursive: true });
    await expect(checkCorpus(root)).rejects.toThrow(/case folder\(s\) not listed: n_extra/);
  });
});
