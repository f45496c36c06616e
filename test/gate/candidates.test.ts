// The gate end to end with real foreign processes: every broken candidate of ci/candidates/broken
// is rejected with the right diagnosis (or kind of failure), the correct numpy adapter passes
// every stage, and a failing generated case is shrunk and saved as a golden case.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GateOptions, runGate } from "../../src/gate/gate.js";
import { failureSignature } from "../../src/gate/judge.js";
import { runPool } from "../../src/gate/pool.js";
import { readCorpus } from "../../src/golden/corpus.js";
import { STAGES } from "../../src/reference/stages.js";
import { CANDIDATE_CWD, NUMPY, broken, writeRichCorpus } from "../support/gate-fixture.js";

let root: string;
let corpus: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "moe-prefuse-gate-test-"));
  corpus = join(root, "corpus");
  await writeRichCorpus(corpus);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const gate = (o: Partial<GateOptions> & { candidate: string }) =>
  runGate({ corpus: { dir: corpus, optional: false }, runs: 0, jobs: 1, shrink: 0, cwd: CANDIDATE_CWD, ...o });

/** Each fault, the failure it must be rejected with, and what else the result must show. */
const FAULTS: readonly [string, string, (r: Awaited<ReturnType<typeof gate>>["cases"][number]) => void][] = [
  ["gate_up_swapped", "gate-up-swapped", () => {}],
  ["lexicographic_order", "experts-permuted", (r) => expect(r.diagnoses[0]!.detail).toEqual({ order: "lexicographic" })],
  ["chunk_seam", "chunk-seam", (r) => expect(r.diagnoses[0]!.detail).toEqual({ firstBadExpert: 16 })],
  ["transposed_down", "transposed", () => {}],
  ["dtype_widened", "dtype-changed", (r) => expect(r.diagnoses[0]!.detail).toEqual({ change: "BF16 -> F32 (widened)" })],
  ["partial_layer_fused", "partial-layer-fused", (r) => expect(r.reason).toContain("model.language_model.layers.0.mlp")],
  ["last_layer_skipped", "layer-left-per-expert", (r) => expect(r.reason).toContain("model.language_model.layers.1.mlp")],
  ["count_key_precedence", "count-key-precedence", (r) => expect(r.reason).toContain("num_experts = 20 comes first")],
  ["weights_only", "missing-tensors", (r) => expect(r.reason).toContain("linear_attn.A_log")],
  ["crash", "crash", (r) => expect(r.stderr).toContain("KeyError: 'model.language_model.layers.0.mlp.experts.gate_up_proj")],
  ["hang", "timeout", (r) => expect(r.exit.timedOut).toBe(true)],
  ["garbage", "invalid-output", (r) => expect(r.reason).toContain("not valid JSON")],
  ["no_output", "no-output", (r) => expect(r.stdout).toContain("wrote nothing")],
];

describe("release gate with real candidates", () => {
  it("rejects each broken candidate with its diagnosis, and keeps going", async () => {
    // Only the hang needs a short timeout: on a loaded machine Python alone can take seconds to start.
    const reports = await runPool(FAULTS, 3, ([file]) => gate({ candidate: broken(file), timeoutSec: file === "hang" ? 5 : 30 }));
    reports.forEach((report, i) => {
      const [file, signature, check] = FAULTS[i]!;
      expect(report.totals, file).toEqual({ passed: 0, failed: 1, open: 0, skipped: 0 });
      const r = report.cases[0]!;
      expect(failureSignature(r), `${file}: ${r.reason}`).toBe(signature);
      check(r);
    });
  });

  it("passes the correct numpy adapter on every stage (corpus and generated cases)", async () => {
    const reports = await runPool(STAGES, 2, (stage) => gate({ candidate: NUMPY, stage, runs: 1, seed: 11 }));
    for (const r of reports) {
      expect(
        r.totals,
        `${r.stage}: ${r.cases
          .filter((c) => c.verdict !== "pass")
          .map((c) => c.reason)
          .join("; ")}`,
      ).toMatchObject({ failed: 0 });
      expect(r.cases.length).toBe(r.stage === "prefuse" ? 2 : 1);
    }
  });

  it("shrinks a failing generated case to a smaller failing checkpoint and saves it as a golden case", async () => {
    const saveDir = join(root, "failures");
    const log: string[] = [];
    const report = await runGate(
      { candidate: broken("chunk_seam"), corpus: null, runs: 1, seed: 5, jobs: 1, shrink: 1, shrinkBudget: 5, saveFailures: saveDir, cwd: CANDIDATE_CWD },
      (l) => log.push(l),
    );
    const failed = report.cases.filter((c) => c.verdict === "fail");
    expect(failed.length).toBeGreaterThan(0);
    expect(report.shrunk).toHaveLength(1);
    const shrunk = report.shrunk[0]!;
    expect(shrunk.signature).toBe("chunk-seam");
    expect(log).toContain(log.find((l) => l.startsWith(`gate: saved shrunk counterexample ${shrunk.path}`)));
    const saved = await readCorpus(saveDir);
    expect(saved.map((c) => c.meta.id)).toEqual([shrunk.id]);
    const spec = saved[0]!.meta.source.fixtureSpec as { experts: number };
    const original = report.cases.find((c) => c.id === shrunk.from)!.spec!;
    expect(spec.experts).toBeGreaterThan(16);
    expect(spec.experts).toBeLessThanOrEqual(original.experts!);
    // The saved case replays: the broken candidate still fails it the same way, the correct one passes.
    const replay = await runGate({ candidate: broken("chunk_seam"), corpus: { dir: saveDir, optional: false }, runs: 0, shrink: 0, cwd: CANDIDATE_CWD });
    expect(failureSignature(replay.cases[0]!)).toBe("chunk-seam");
    expect((await runGate({ candidate: NUMPY, corpus: { dir: saveDir, optional: false }, runs: 0, cwd: CANDIDATE_CWD })).totals.failed).toBe(0);
  });

  it("reports a command that cannot start as a failure of every case, not a crash", async () => {
    const r = await gate({ candidate: "no-such-program-xyz {input} {output}" });
    expect(r.cases[0]!.reason).toBe("could not start the candidate: command not found: no-such-program-xyz");
  });
});
