// Reading points without a candidate process: every point is separated by the cases every run of
// 50 or more includes, the reference computes each alternative's answer, the fingerprint settles
// a run's cases (inconsistent, pinned, re-settled after a merge), and readings files are strict.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import { caseAlternatives } from "../../src/reference/alternatives.js";
import { generatedCases } from "../../src/gate/cases.js";
import { STAGE_CONTRACTS } from "../../src/reference/contracts.js";
import { type Settleable, settleReadings } from "../../src/gate/fingerprint.js";
import { READINGS_FORMAT, ReadingsFileError, readReadingsFile, readingsFileText } from "../../src/gate/readings-file.js";
import { READING_POINTS, readingsOf } from "../../src/reference/reading-points.js";
import { separatingCases } from "../../src/gate/separating.js";
import { runStage } from "../../src/reference/stages.js";
import { EXPERT_LAYOUTS, followsOqPattern } from "../../src/reference/prefuse/layouts.js";
import { planPrefuse } from "../../src/reference/prefuse/plan.js";
import type { TensorMap } from "../../src/reference/tensor.js";
import { ROOT } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

async function alternativesOf(stage: "prefuse" | "dequant+prefuse", spec: Parameters<typeof generateCheckpoint>[0]) {
  const g = generateCheckpoint(spec);
  let reference: { expected: TensorMap } | { errorCode: string };
  try {
    reference = { expected: (await runStage(stage, g.tensors, g.config)).weights };
  } catch (e) {
    reference = { errorCode: (e as { code: string }).code };
  }
  return { g, alternatives: await caseAlternatives(stage, g.tensors, g.config, reference) };
}

describe("separating cases", () => {
  it.each([0, 1, 2, 3, 77])("every reading point is decided by a separating case inside the prefuse contract (seed %i)", async (seed) => {
    const decided = new Set<string>();
    for (const s of separatingCases("prefuse", seed)) {
      const { g, alternatives } = await alternativesOf("prefuse", s.spec);
      expect(STAGE_CONTRACTS.prefuse.outside(g.config, g.tensors), s.name).toBeUndefined();
      for (const p of alternatives?.points ?? []) decided.add(p);
    }
    expect([...decided].sort()).toEqual(READING_POINTS.map((p) => p.id).sort());
  });

  it("the dequant+prefuse stage's separating cases are FP8 checkpoints inside its contract, decided by their points", async () => {
    const cases = separatingCases("dequant+prefuse", 5);
    expect(cases.length).toBeGreaterThan(5);
    for (const s of cases) {
      const { g, alternatives } = await alternativesOf("dequant+prefuse", s.spec);
      expect(STAGE_CONTRACTS["dequant+prefuse"].outside(g.config, g.tensors), s.name).toBeUndefined();
      if (!s.name.endsWith("-3")) expect(alternatives?.points, s.name).toContain(s.point);
    }
  });

  it("come first in every generated run of 50 or more, and the run still has `runs` cases", () => {
    const run = generatedCases("prefuse", 9, 50, 3);
    expect(run).toHaveLength(50);
    const names = run.map((c) => c.name);
    expect(names.slice(0, separatingCases("prefuse", 9).length).every((n) => n.startsWith("sep-"))).toBe(true);
    expect(run[0]!.index).toBe(3);
    expect(generatedCases("prefuse", 9, 49, 0).some((c) => c.name.startsWith("sep-"))).toBe(false);
    expect(generatedCases("switch_mlp", 9, 60, 0).some((c) => c.name.startsWith("sep-"))).toBe(false);
  });
});

describe("the reference under each alternative", () => {
  const Q35 = { family: "qwen3_5_moe", layers: 1, mtpLayers: 0, hidden: 3, intermediate: 2, vocab: 8, seed: 4 } as const;
  const prefix = "model.language_model.layers.0.mlp";

  it("extra-experts: untouched leaves the layer, fuse-keep fuses 0..E-1 and keeps the extra, fuse-drop removes it", async () => {
    const g = generateCheckpoint({ ...Q35, experts: 3, variants: [{ kind: "extra-expert", layer: 0, id: 3 }] });
    const under = async (alt: string) => (await runStage("prefuse", g.tensors, g.config, { readings: readingsOf({ "extra-experts": alt }) })).weights;
    const extra = `${prefix}.experts.3.gate_proj.weight`;
    expect((await under("untouched")).has(`${prefix}.experts.gate_up_proj`)).toBe(false);
    const keep = await under("fuse-keep");
    expect(keep.get(`${prefix}.experts.gate_up_proj`)!.shape).toEqual([3, 4, 3]);
    expect(keep.get(extra)).toBe(g.tensors.get(extra));
    const drop = await under("fuse-drop");
    expect(drop.get(`${prefix}.experts.gate_up_proj`)!.shape).toEqual([3, 4, 3]);
    expect(drop.has(extra)).toBe(false);
  });

  it("mixed-dtypes promoted: the layer is fused in F32, each BF16 value widened exactly, the odd F32 tensor as it is", async () => {
    const g = generateCheckpoint({
      ...Q35,
      experts: 2,
      variants: [{ kind: "partial", defect: "wrong-dtype", layer: 0, expert: 1, projection: "gate", dtype: "F32" }],
    });
    const out = (await runStage("prefuse", g.tensors, g.config, { readings: readingsOf({ "mixed-dtypes": "promoted" }) })).weights;
    const fused = out.get(`${prefix}.experts.gate_up_proj`)!;
    expect(fused.dtype).toBe("F32");
    const g0 = g.tensors.get(`${prefix}.experts.0.gate_proj.weight`)!; // BF16 [2, 3]
    const f32 = new DataView(fused.data.buffer, fused.data.byteOffset);
    const bf16 = new DataView(g0.data.buffer, g0.data.byteOffset);
    for (let i = 0; i < 6; i++) expect(f32.getUint32(4 * i, true)).toBe(bf16.getUint16(2 * i, true) * 0x10000);
    const g1 = g.tensors.get(`${prefix}.experts.1.gate_proj.weight`)!; // F32 already
    const slot1 = fused.data.subarray(fused.data.length / 2, fused.data.length / 2 + g1.data.length);
    expect(Buffer.from(slot1).equals(Buffer.from(g1.data))).toBe(true);
  });

  it("family-layouts oq-pattern: the registry's oQ-pattern entries only; w1/w3/w2 layers NOT_SCANNED, qwen3_vl_moe fused as rows", () => {
    const oq = readingsOf({ "family-layouts": "oq-pattern" });
    expect(oq.layouts).toEqual(EXPERT_LAYOUTS.filter(followsOqPattern).map((l) => l.name));
    expect(oq.layouts).toContain("qwen3_moe");
    for (const family of ["mixtral", "phimoe", "lfm2_moe"] as const) {
      const g = generateCheckpoint({ family, layers: 1, experts: 3, hidden: 3, intermediate: 2, vocab: 8, seed: 5 });
      const plan = planPrefuse(g.tensors, g.config, { readings: oq });
      expect(
        plan.layers.map((l) => [l.state, l.code]),
        family,
      ).toEqual([["untouched", "NOT_SCANNED"]]);
      expect(
        planPrefuse(g.tensors, g.config).layers.map((l) => l.state),
        family,
      ).toEqual(["fused"]);
    }
    const vl = generateCheckpoint({ family: "qwen3_vl_moe", layers: 1, experts: 3, hidden: 3, intermediate: 2, vocab: 8, seed: 5 });
    const rows = planPrefuse(vl.tensors, vl.config, { readings: oq });
    expect(rows.layout).toBe("default");
    expect(rows.outputs.find((o) => o.name.endsWith("gate_up_proj"))!.shape).toEqual([3, 4, 3]);
    expect(planPrefuse(vl.tensors, vl.config).outputs.find((o) => o.name.endsWith("gate_up_proj"))!.shape).toEqual([3, 3, 4]);
  });

  it("count-zero: refuse, skip (the next key decides) or stop (nothing changes)", async () => {
    const { alternatives } = await alternativesOf("prefuse", {
      ...Q35,
      experts: 2,
      variants: [{ kind: "count-key", keys: [{ key: "num_local_experts", value: 0 }, { key: "num_experts" }] }],
    });
    expect(alternatives!.points).toEqual(["count-zero"]);
    expect(alternatives!.variants.map((v) => `${v.choice["count-zero"]}:${v.outcome}`)).toEqual(["refuse:error", "skip:transform", "stop:untouched"]);
  });
});

const decided = (id: string, point: string, alts: string[][], outcome = "transform"): Settleable => ({
  id,
  outcome,
  verdict: "pass",
  reason: "",
  diagnoses: [],
  readings: { points: [point], matched: alts.map((a) => Object.fromEntries(a.map((x) => [point, x]))) },
});

describe("the fingerprint", () => {
  it("infers a point's alternative from the cases that show it alone; an ambiguous case is no evidence", () => {
    const { cases, summary } = settleReadings(
      [decided("a", "extra-experts", [["fuse-keep"]]), decided("b", "extra-experts", [["fuse-keep"], ["fuse-drop"]])],
      ["extra-experts"],
      null,
    );
    expect(summary.rows).toEqual([{ point: "extra-experts", alternative: "fuse-keep", status: "inferred", evidence: { "fuse-keep": ["a"] } }]);
    expect(cases.map((c) => c.verdict)).toEqual(["pass", "pass"]);
  });

  it("fails the cases that read a point otherwise than most (reading-inconsistent, naming the cases), and settles the same again", () => {
    const run = [
      decided("a", "extra-experts", [["untouched"]]),
      decided("b", "extra-experts", [["untouched"]]),
      decided("c", "extra-experts", [["fuse-keep"]]),
    ];
    const first = settleReadings(run, ["extra-experts"], null);
    expect(first.summary.rows[0]).toMatchObject({ alternative: "untouched", status: "inconsistent" });
    expect(first.cases.map((c) => c.verdict)).toEqual(["pass", "pass", "fail"]);
    expect(first.cases[2]!.diagnoses[0]).toMatchObject({
      kind: "reading-inconsistent",
      detail: { point: "extra-experts", reading: "untouched", here: "fuse-keep" },
    });
    expect(first.cases[2]!.reason).toBe(
      "reading-inconsistent: extra-experts: this case reads it fuse-keep, 2 case(s) read it untouched (a, b); other readings: fuse-keep (c)",
    );
    // Settling is a function of the cases' matches: settled results settle to the same (a merge re-settles).
    expect(settleReadings(first.cases, ["extra-experts"], null).cases).toEqual(first.cases);
    // Without c (another shard), a and b are consistent; with it again, c fails again.
    expect(settleReadings(first.cases.slice(0, 2), ["extra-experts"], null).summary.rows[0]!.status).toBe("inferred");
  });

  it("pinned: a case reading the point otherwise fails as reading-changed: <point>: <was> -> <now>", () => {
    const { cases, summary } = settleReadings(
      [decided("a", "outside-layers", [["left"]]), decided("b", "outside-layers", [["fused"], ["left"]])],
      ["outside-layers"],
      { "outside-layers": "fused" },
    );
    expect(summary.rows[0]).toMatchObject({ alternative: "fused", status: "changed" });
    expect(cases[0]!.verdict).toBe("fail");
    expect(cases[0]!.reason).toMatch(/^reading-changed: outside-layers: fused -> left: .*left \(a\)$/);
    expect(cases[1]!.verdict).toBe("pass");
  });

  it("open cases are recorded, never judged, and are no evidence", () => {
    const { cases, summary } = settleReadings([decided("i", "count-zero", [["skip"]], "open"), decided("a", "count-zero", [["stop"]])], ["count-zero"], null);
    expect(summary.rows[0]).toMatchObject({ alternative: "stop", status: "inferred" });
    expect(cases[0]!.verdict).toBe("open");
  });
});

describe("the manual", () => {
  it("docs/gate-readings.md names every point and every alternative", () => {
    const doc = readFileSync(join(ROOT, "docs", "gate-readings.md"), "utf8");
    for (const p of READING_POINTS) {
      expect(doc, p.id).toContain(`| \`${p.id}\` |`);
      for (const a of p.alternatives) expect(doc, `${p.id} ${a.id}`).toContain(`\`${a.id}\``);
    }
  });
});

describe("readings files", () => {
  const file = (name: string, body: unknown) => {
    const f = join(tempDir(), name);
    writeFileSync(f, typeof body === "string" ? body : JSON.stringify(body));
    return f;
  };
  const valid = { format: READINGS_FORMAT, gate: "moe-prefuse 0.1.0", stage: "prefuse", candidate: "x", readings: { "count-zero": "skip" } };

  it("round-trips what a run records: points read one way, in the points' order", async () => {
    const text = readingsFileText(
      {
        pinned: null,
        rows: [
          { point: "count-zero", alternative: "skip", status: "inferred", evidence: { skip: ["a"] } },
          { point: "extra-experts", alternative: "untouched", status: "inconsistent", evidence: {} },
          { point: "mixed-dtypes", alternative: null, status: "no evidence", evidence: {} },
        ],
      },
      { gate: "moe-prefuse 0.1.0", stage: "prefuse", candidate: "x" },
    );
    expect(JSON.parse(text)).toEqual(valid);
    expect(await readReadingsFile(file("ok.json", text), "prefuse")).toEqual({ "count-zero": "skip" });
  });

  it.each([
    ["missing", undefined, "READINGS_FILE_MISSING", /cannot read the readings file \(ENOENT\)/],
    ["bad JSON", "{", "READINGS_FILE_INVALID", /invalid JSON/],
    ["an array", [], "READINGS_FILE_INVALID", /not a JSON object/],
    [
      "another format",
      { ...valid, format: "moe-prefuse-gate-report/1" },
      "READINGS_FILE_INVALID",
      /format "moe-prefuse-gate-report\/1", expected moe-prefuse-readings\/1/,
    ],
    ["another stage", { ...valid, stage: "switch_mlp" }, "READINGS_FILE_INVALID", /recorded for stage "switch_mlp", this run is stage prefuse/],
    ["no readings", { ...valid, readings: ["count-zero"] }, "READINGS_FILE_INVALID", /'readings' must be an object/],
    [
      "an unknown point",
      { ...valid, readings: { "key-order": "oq-chain" } },
      "READINGS_FILE_INVALID",
      /unknown reading point 'key-order' \(known: count-key-order, /,
    ],
    [
      "an unknown alternative",
      { ...valid, readings: { "count-zero": "zero" } },
      "READINGS_FILE_INVALID",
      /'count-zero' must be one of refuse, skip, stop, not "zero"/,
    ],
  ])("refuses %s in one line with a stable code", async (name, body, code, message) => {
    const f = body === undefined ? join(tempDir(), "nope.json") : file(`${name}.json`, body);
    const err = await readReadingsFile(f, "prefuse").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReadingsFileError);
    expect((err as ReadingsFileError).code).toBe(code);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(f);
    expect((err as Error).message).not.toContain("\n");
  });
});
