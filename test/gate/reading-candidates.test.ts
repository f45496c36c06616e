// Reading points end to end with real foreign processes: for each point, a candidate reading it
// another way than the numpy adapter (ci/candidates/readings/) passes the gate unpinned, its
// reading reported, and is rejected as reading-changed under readings recorded from the numpy
// adapter; a candidate reading one point two ways fails as reading-inconsistent; a key order
// outside the named alternatives is still a bug. The cases are the separating cases of seed 0,
// written as corpora (one per point), so each candidate runs only where its point shows.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import { type GateOptions, runGate } from "../../src/gate/gate.js";
import { failureSignature } from "../../src/gate/judge.js";
import { runPool } from "../../src/gate/pool.js";
import { readReadingsFile, readingsFileText } from "../../src/gate/readings-file.js";
import type { ReadingChoice } from "../../src/reference/reading-points.js";
import { type SeparatingCase, separatingCases } from "../../src/gate/separating.js";
import { addToCorpusIndex, writeCaseFolder } from "../../src/golden/case-writer.js";
import { CANDIDATE_CWD, NUMPY, PYTHON, broken } from "../support/gate-fixture.js";

const reading = (name: string) => `${PYTHON} ci/candidates/readings/${name}.py {input} {output}`;

/** What the numpy adapter reads at each point (it is written from oQ's text: four keys, oQ's names). */
const NUMPY_READINGS: ReadingChoice = {
  "count-key-order": "oq-chain",
  "count-zero": "refuse",
  "already-fused": "per-layer",
  "extra-experts": "untouched",
  "outside-layers": "fused",
  "mixed-dtypes": "untouched",
  "duplicate-ids": "untouched",
  "n-routed-experts": "ignored",
  "family-layouts": "oq-pattern",
};

/** Each reading candidate: its script, the point it reads otherwise, and how. */
const CANDIDATES: readonly [string, string, string][] = [
  ["count_key_order_pr_listed", "count-key-order", "pr-listed"],
  ["count_zero_skip", "count-zero", "skip"],
  ["count_zero_stop", "count-zero", "stop"],
  ["already_fused_whole_checkpoint", "already-fused", "whole-checkpoint"],
  ["extra_experts_fuse_keep", "extra-experts", "fuse-keep"],
  ["extra_experts_fuse_drop", "extra-experts", "fuse-drop"],
  ["outside_layers_left", "outside-layers", "left"],
  ["mixed_dtypes_promoted", "mixed-dtypes", "promoted"],
  ["duplicate_ids_first_name", "duplicate-ids", "first-name"],
  ["duplicate_ids_last_name", "duplicate-ids", "last-name"],
  ["n_routed_experts_read", "n-routed-experts", "read"],
  ["family_layouts_registry", "family-layouts", "registry"],
];

let root: string;
const corpusOf = (point: string) => join(root, point);

async function writeCorpus(dir: string, cases: readonly SeparatingCase[]): Promise<void> {
  const ids: string[] = [];
  for (const c of cases) {
    const g = generateCheckpoint(c.spec);
    const written = await writeCaseFolder(dir, {
      name: c.name,
      description: c.point,
      stage: "prefuse",
      features: [],
      family: c.spec.family,
      source: { fixtureSpec: c.spec },
      weights: g.tensors,
      config: g.config,
      metadata: g.metadata,
    });
    ids.push(written.meta.id);
  }
  await addToCorpusIndex(dir, ids);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "moe-prefuse-readings-"));
  const cases = separatingCases("prefuse", 0);
  for (const point of new Set(cases.map((c) => c.point)))
    await writeCorpus(
      corpusOf(point),
      cases.filter((c) => c.point === point),
    );
  await writeCorpus(corpusOf("all"), cases);
  // extra-experts with an odd E (seed 0) and an even one (seed 2), for the inconsistent candidate.
  const extra = (seed: number, k: number) => ({
    ...separatingCases("prefuse", seed).find((c) => c.point === "extra-experts")!,
    name: `sep-extra-experts-e${k}`,
  });
  await writeCorpus(corpusOf("odd-and-even"), [extra(0, 1), extra(2, 2)]);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const gate = (o: Partial<GateOptions> & { candidate: string; corpus: GateOptions["corpus"] }) =>
  runGate({ runs: 0, jobs: 2, shrink: 0, cwd: CANDIDATE_CWD, ...o });
const on = (point: string) => ({ dir: corpusOf(point), optional: false });

describe("reading points with real candidates", () => {
  let pinned: ReadingChoice;

  beforeAll(async () => {
    // The readings the reference's own adapter records: the file every other candidate is pinned to.
    const report = await gate({ candidate: NUMPY, corpus: on("all") });
    expect(report.totals.failed, report.cases.map((c) => `${c.id}: ${c.reason}`).join("\n")).toBe(0);
    const file = join(root, "numpy-readings.json");
    await writeFile(file, readingsFileText(report.readings!, { gate: "moe-prefuse test", stage: "prefuse", candidate: report.name }));
    pinned = await readReadingsFile(file, "prefuse");
  });

  it("records the numpy adapter's reading at every point, each with evidence", () => {
    expect(pinned).toEqual(NUMPY_READINGS);
  });

  it("passes each candidate that reads one point another way, unpinned, and reports its reading", async () => {
    const reports = await runPool(CANDIDATES, 2, ([file, point]) => gate({ candidate: reading(file), corpus: on(point) }));
    reports.forEach((r, i) => {
      const [file, point, alt] = CANDIDATES[i]!;
      expect(r.totals.failed, `${file}: ${r.cases.map((c) => c.reason).join("; ")}`).toBe(0);
      expect(
        r.readings!.rows.find((row) => row.point === point),
        file,
      ).toMatchObject({ alternative: alt, status: "inferred" });
    });
  });

  it("rejects each of them under the numpy adapter's readings: reading-changed: <point>: <was> -> <now>", async () => {
    const reports = await runPool(CANDIDATES, 2, ([file, point]) => gate({ candidate: reading(file), corpus: on(point), readings: pinned }));
    reports.forEach((r, i) => {
      const [file, point, alt] = CANDIDATES[i]!;
      const failed = r.cases.filter((c) => c.verdict === "fail");
      expect(failed.length, file).toBeGreaterThan(0);
      for (const c of failed) {
        expect(failureSignature(c), `${file} ${c.id}: ${c.reason}`).toBe("reading-changed");
        expect(c.reason).toMatch(new RegExp(`^reading-changed: ${point}: ${pinned[point]} -> ${alt}: .*${c.id}`));
      }
      expect(r.readings!.rows.find((row) => row.point === point)).toMatchObject({ alternative: pinned[point], status: "changed" });
    });
  });

  it("fails a candidate that reads one point two ways in one run as reading-inconsistent, naming the cases", async () => {
    const r = await gate({ candidate: reading("inconsistent"), corpus: on("odd-and-even") });
    expect(r.totals).toMatchObject({ passed: 1, failed: 1 });
    const failed = r.cases.find((c) => c.verdict === "fail")!;
    const held = r.cases.find((c) => c.verdict === "pass")!;
    expect(failureSignature(failed)).toBe("reading-inconsistent");
    expect(failed.reason).toContain(`reading-inconsistent: extra-experts: this case reads it fuse-keep, 1 case(s) read it untouched (${held.id})`);
    expect(r.readings!.rows.find((row) => row.point === "extra-experts")).toMatchObject({ status: "inconsistent" });
  });

  it("still rejects a key order that is none of the alternatives (count keys read in reverse) as a bug", async () => {
    const r = await gate({ candidate: broken("count_key_precedence"), corpus: on("count-key-order") });
    const bug = r.cases.filter((c) => c.verdict === "fail").map(failureSignature);
    expect(bug).toContain("count-key-precedence");
    expect(bug).not.toContain("reading-inconsistent");
  });
});
