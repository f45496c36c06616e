import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { conformanceTable } from "../../src/gate/conformance.js";
import { junitXml, xmlEscape } from "../../src/gate/junit.js";
import { caseLine, detailLines } from "../../src/gate/lines.js";
import { markdownSummary } from "../../src/gate/markdown.js";
import { type GateReport, REPORT_FORMAT, mergeReports, reportPasses, summaryLine, totalsOf } from "../../src/gate/report.js";
import type { CaseResult } from "../../src/gate/run-case.js";
import { inShard, parseShard } from "../../src/gate/shard.js";
import { UsageError } from "../../src/reference/errors.js";
import { fcParams } from "../support/fc.js";

function result(index: number, verdict: CaseResult["verdict"], extra: Partial<CaseResult> = {}): CaseResult {
  return {
    index,
    id: `y_gen-${index}`,
    origin: "generated",
    label: `qwen3_5_moe E=${index}`,
    family: "qwen3_5_moe",
    features: index > 16 ? ["chunk-seam"] : [],
    outcome: "transform",
    referenceLayers: { fused: 2 },
    verdict,
    reason: verdict === "pass" ? "identical to the reference" : 'chunk seam in <x> & "y"',
    diagnoses: verdict === "fail" ? [{ kind: "chunk-seam", message: 'chunk seam in <x> & "y"', tensors: ["x"] }] : [],
    mismatches: [],
    ...(verdict === "pass" ? {} : { failure: "mismatch" as const, stderr: "Traceback\n  boom \u0001 <tag>\n" }),
    exit: { code: 0, signal: null, timedOut: false },
    durationMs: 120,
    ...extra,
  };
}

function report(cases: CaseResult[], shard = { index: 1, count: 1 }, totalCases = cases.length): GateReport {
  return {
    format: REPORT_FORMAT,
    tool: "moe-prefuse test",
    stage: "prefuse",
    contract: "c",
    candidate: "python3 x.py {input} {output}",
    name: "x.py",
    corpus: null,
    seed: 1,
    runs: totalCases,
    tolerance: null,
    shards: [shard],
    totalCases,
    durationMs: 1000,
    cases,
    skipped: [{ id: "i_outside", reason: "mixtral | naming" }],
    shrunk: [],
    totals: totalsOf(cases, [{ id: "i_outside", reason: "" }]),
  };
}

describe("shards", () => {
  it("parse K/N and refuse anything else", () => {
    expect(parseShard("2/3")).toEqual({ index: 2, count: 3 });
    for (const bad of ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"]) expect(() => parseShard(bad)).toThrow(UsageError);
  });

  it("split any run into disjoint parts covering every case (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 9 }), (cases, count) => {
        const owners = Array.from({ length: cases }, (_, i) => Array.from({ length: count }, (_, k) => k + 1).filter((k) => inShard(i, { index: k, count })));
        expect(owners.every((o) => o.length === 1)).toBe(true);
        const sizes = Array.from({ length: count }, (_, k) => owners.filter((o) => o[0] === k + 1).length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
      fcParams(),
    );
  });
});

describe("reports", () => {
  const cases = [result(0, "pass"), result(1, "fail"), result(2, "open"), result(17, "pass")];

  it("total and close with `N passed, M failed`", () => {
    const r = report(cases);
    expect(r.totals).toEqual({ passed: 2, failed: 1, open: 1, skipped: 1 });
    expect(summaryLine(r.totals)).toBe("2 passed, 1 failed");
    expect(reportPasses(r)).toBe(false);
    expect(reportPasses(report([result(0, "pass"), result(2, "open")]))).toBe(true);
  });

  it("merge the shards of a run into the whole run's report", () => {
    const whole = report(cases);
    const a = report(
      cases.filter((c) => inShard(c.index, { index: 1, count: 2 })),
      { index: 1, count: 2 },
      4,
    );
    const b = report(
      cases.filter((c) => inShard(c.index, { index: 2, count: 2 })),
      { index: 2, count: 2 },
      4,
    );
    const merged = mergeReports([b, a]);
    expect(merged.cases.map((c) => c.index)).toEqual([0, 1, 2, 17]);
    expect(merged.totals).toEqual(whole.totals);
    expect(merged.shards).toEqual([
      { index: 1, count: 2 },
      { index: 2, count: 2 },
    ]);
    // A shard passes on its own cases; a report missing some of them does not.
    expect(reportPasses({ ...a, totals: { ...a.totals, failed: 0 } })).toBe(true);
    expect(reportPasses({ ...a, cases: a.cases.slice(1), totals: { ...a.totals, failed: 0 } })).toBe(false);
  });

  it("refuse to merge missing or repeated shards and reports of different runs", () => {
    const a = report([result(0, "pass")], { index: 1, count: 2 }, 2);
    expect(() => mergeReports([a])).toThrow(/shard\(s\) 2\/2 missing/);
    expect(() => mergeReports([a, a])).toThrow(/appears twice/);
    expect(() => mergeReports([a, { ...report([result(1, "pass")], { index: 2, count: 2 }, 2), seed: 9 }])).toThrow(/seed/);
    expect(() => mergeReports([])).toThrow(UsageError);
  });

  it("JUnit XML: one testcase per case, failures typed by diagnosis, everything escaped", () => {
    const xml = junitXml(report(cases));
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="moe-prefuse gate prefuse: x.py" tests="5" failures="1" errors="0" skipped="2"/,
    );
    expect(xml.match(/<testcase /g)).toHaveLength(5);
    expect(xml).toContain(`<failure message="chunk seam in &lt;x&gt; &amp; &quot;y&quot;" type="chunk-seam">`);
    expect(xml).toContain("stderr:   boom  &lt;tag&gt;"); // the control character dropped
    expect(xml).not.toMatch(/[\u0001]/);
    expect(xml).toContain(`<skipped message="outside the prefuse contract: mixtral | naming"/>`);
    expect(xmlEscape("a'b")).toBe("a&apos;b");
  });

  it("Markdown summary: verdict, failures, per-feature table, skipped cases", () => {
    const md = markdownSummary(report(cases));
    expect(md).toContain("## moe-prefuse release gate, stage `prefuse`: FAILED");
    expect(md).toContain("**2 passed, 1 failed**, 1 open");
    expect(md).toContain('| `y_gen-1` | qwen3_5_moe E=1 | chunk seam in <x> & "y" |');
    expect(md).toContain("| feature: chunk-seam | 1 | 0 |");
    expect(md).toContain("| `i_outside` | mixtral \\| naming |");
  });

  it("conformance table: groups by implementation, failures with their diagnoses", () => {
    const t = conformanceTable([report(cases), { ...report([result(0, "pass"), result(17, "pass")]), name: "other.py" }]);
    const lines = t.trim().split("\n");
    expect(lines[0]).toBe("| case group | x.py (prefuse) | other.py (prefuse) |");
    expect(lines[2]).toBe("| all cases | **FAIL 1/3**: chunk-seam (+1 open) | pass (2) |");
    expect(t).toContain("| reference: fuses every MoE layer | **FAIL 1/3**: chunk-seam (+1 open) | pass (2) |");
    expect(t).toContain("| feature: chunk-seam | pass (1) | pass (1) |");
    const onlyOpen = conformanceTable([report([result(2, "open")])]);
    expect(onlyOpen).toContain("| all cases | open only (1) |");
  });

  it("console lines: one per case, details under failures", () => {
    expect(caseLine(result(0, "pass"))).toBe("PASS y_gen-0 [qwen3_5_moe E=0] 0.12 s");
    const reads = {
      points: ["outside-layers", "extra-experts"],
      matched: [
        { "outside-layers": "fused", "extra-experts": "fuse-keep" },
        { "outside-layers": "fused", "extra-experts": "fuse-drop" },
      ],
    };
    expect(caseLine(result(0, "pass", { readings: reads }))).toBe(
      "PASS y_gen-0 [qwen3_5_moe E=0] 0.12 s, reads outside-layers=fused, extra-experts=fuse-keep|fuse-drop",
    );
    expect(caseLine(result(1, "fail"))).toBe('FAIL y_gen-1 [qwen3_5_moe E=1]: chunk seam in <x> & "y"');
    expect(caseLine(result(2, "open"))).toMatch(/^OPEN y_gen-2 \[.*\]: recorded, not judged: /);
    expect(detailLines(result(1, "fail"))).toEqual(["    candidate stderr (last lines):", "      Traceback", "        boom \u0001 <tag>"]);
  });

  it("readings: merged shards settle the whole run again; Markdown and the conformance table show each point's alternative", () => {
    const reads = (index: number, alt: string) =>
      result(index, "pass", { id: `y_gen-${index}`, readings: { points: ["extra-experts"], matched: [{ "extra-experts": alt }] } });
    const points = {
      pinned: null,
      rows: [{ point: "extra-experts", alternative: "fuse-keep", status: "inferred" as const, evidence: { "fuse-keep": ["y_gen-0"] } }],
    };
    // Each shard alone is consistent; together, expert ids >= E are read two ways.
    const a = { ...report([reads(0, "fuse-keep"), reads(2, "fuse-keep")], { index: 1, count: 2 }, 3), readings: points };
    const b = {
      ...report([reads(1, "untouched")], { index: 2, count: 2 }, 3),
      readings: { ...points, rows: [{ ...points.rows[0]!, alternative: "untouched", evidence: { untouched: ["y_gen-1"] } }] },
    };
    const merged = mergeReports([a, b]);
    expect(merged.totals).toMatchObject({ passed: 2, failed: 1 });
    expect(merged.cases[1]!.diagnoses[0]!.kind).toBe("reading-inconsistent");
    expect(merged.readings!.rows[0]).toEqual({
      point: "extra-experts",
      alternative: "fuse-keep",
      status: "inconsistent",
      evidence: { "fuse-keep": ["y_gen-0", "y_gen-2"], untouched: ["y_gen-1"] },
    });
    expect(() => mergeReports([a, { ...b, readings: { ...b.readings, pinned: { "extra-experts": "untouched" } } }])).toThrow(/pinned readings/);
    const md = markdownSummary(merged);
    expect(md).toContain("| point | alternative | status | evidence cases |");
    expect(md).toContain("| extra-experts | fuse-keep | **inconsistent** | fuse-keep: `y_gen-0`, `y_gen-2`; untouched: `y_gen-1` |");
    const t = conformanceTable([
      { ...a, totals: totalsOf(a.cases, []), shards: [{ index: 1, count: 1 }] },
      { ...merged, name: "other.py" },
    ]);
    expect(t).toContain("| reading: extra-experts | fuse-keep | fuse-keep (**inconsistent**) |");
  });
});
