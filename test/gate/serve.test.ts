// Issue 17: serve mode (`gate --serve`, protocol serve/1). A stand-in worker
// (test/support/candidates/serve-stand-in.mjs, an identity candidate, right for n_ untouched cases)
// misbehaves on one case at a time; that case fails with the reason, the others pass on a fresh
// worker, and the restarts are counted. The numpy adapter speaks serve/1 for real: it passes,
// refuses the reference's refusals, and shrinking works through it.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GateOptions, runGate } from "../../src/gate/gate.js";
import { failureSignature } from "../../src/gate/judge.js";
import { markdownSummary } from "../../src/gate/markdown.js";
import { mergeReports } from "../../src/gate/report.js";
import { answerEnding } from "../../src/gate/serve.js";
import { runCli } from "../support/cli.js";
import { CANDIDATE_CWD, NUMPY_SERVE, ROOT_CORPUS, denseSpec, standIn, writeRichCorpus, writeSpecCorpus } from "../support/gate-fixture.js";

let root: string;
let corpus: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "moe-prefuse-serve-"));
  corpus = join(root, "corpus");
  await writeSpecCorpus(corpus, { a: denseSpec(1), b: denseSpec(2), c: denseSpec(3) });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const serve = (o: Partial<GateOptions> & { candidate: string }) =>
  runGate({ serve: true, corpus: { dir: corpus, optional: false }, runs: 0, jobs: 1, shrink: 0, cwd: CANDIDATE_CWD, ...o });

const verdicts = (r: Awaited<ReturnType<typeof serve>>) => r.cases.map((c) => `${c.id} ${c.verdict}`);

describe("gate --serve (serve/1)", () => {
  it("runs every case on one worker that stays up", async () => {
    const r = await serve({ candidate: standIn("identity"), jobs: 2 });
    expect(verdicts(r)).toEqual(["n_a pass", "n_b pass", "n_c pass"]);
    expect(r).toMatchObject({ protocol: "serve/1", restarts: 0 });
  });

  const MISBEHAVIOURS: [string, string, RegExp, number][] = [
    ["crash:n_b", "crash", /^the worker exited with status 3 before answering$/, 1],
    ["hang:n_b", "timeout", /^timed out after 3\.\d s without an answer \(worker killed\)$/, 1],
    ["garbage:n_b", "protocol", /^answered with a line that is not JSON: "hello, gate"$/, 1],
    ["wrong:n_b", "protocol", /^answered for case "someone-else" while case n_b was in flight$/, 1],
  ];
  it.each(MISBEHAVIOURS)("%s fails that case with the reason, and a fresh worker takes the next", async (mode, failure, reason, restarts) => {
    const log: string[] = [];
    const r = await runGate(
      { serve: true, candidate: standIn(mode), corpus: { dir: corpus, optional: false }, runs: 0, jobs: 1, shrink: 0, timeoutSec: 3, cwd: CANDIDATE_CWD },
      (l) => log.push(l),
    );
    expect(verdicts(r)).toEqual(["n_a pass", "n_b fail", "n_c pass"]);
    const b = r.cases[1]!;
    expect(b.failure).toBe(failure);
    expect(b.reason).toMatch(reason);
    expect(b.exit.timedOut).toBe(failure === "timeout");
    // stderr is kept per case: n_b's own lines, not n_a's.
    expect(b.stderr).toBe("stderr of n_b\n");
    expect(r.restarts).toBe(restarts);
    expect(log).toContain(`gate: 3 case(s) in ${(r.durationMs / 1000).toFixed(1)} s; ${restarts} worker restart(s)`);
  });

  it("a worker that exits before reading fails every case as a crash, each with a restart", async () => {
    const r = await serve({ candidate: standIn("early-exit") });
    expect(r.cases.map((c) => c.reason)).toEqual(Array(3).fill("the worker exited with status 0 before answering"));
    expect(r.restarts).toBe(3);
  });

  it("a command that cannot start fails every case with the reason, without restarts", async () => {
    const r = await serve({ candidate: "no-such-program-xyz --serve" });
    expect(r.cases.map((c) => c.reason)).toEqual(Array(3).fill("could not start the candidate: command not found: no-such-program-xyz"));
    expect(r.restarts).toBe(0);
  });

  it("a line between requests retires the worker; the next case gets a fresh one", async () => {
    const r = await serve({ candidate: standIn("stray:n_a") });
    expect(verdicts(r)).toEqual(["n_a pass", "n_b pass", "n_c pass"]);
    expect(r.restarts).toBe(1);
  });

  it("a refusal fails a case the reference does not refuse, with the message; an answer must be a serve/1 object", async () => {
    const r = await serve({ candidate: standIn("refuse") });
    expect(r.cases[0]).toMatchObject({ verdict: "fail", failure: "crash", reason: "refused: no thanks, prefuse" });
    expect(answerEnding('{"case":"x","status":"done"}', "x", [])).toEqual({
      kind: "failed",
      failure: "protocol",
      reason: 'answered with status "done" (serve/1 answers "written" or "refused")',
    });
    expect(answerEnding("[1]", "x", [])).toMatchObject({ failure: "protocol" });
    expect(answerEnding('{"case":"x","status":"refused","message":"token hf_abcdefghijkl"}', "x", ["hf_abcdefghijkl"])).toEqual({
      kind: "refused",
      reason: "refused: token <redacted>",
    });
  });

  it("refuses a template with {input} or {output} in serve mode, and one without them per case", async () => {
    await expect(serve({ candidate: "x {input} {output}" })).rejects.toThrow(/must not contain \{input\} with --serve/);
    const r = runCli(["gate", "--serve", "--candidate", "x {output}", "--runs", "0"]);
    expect(r.stderr).toMatch(/^moe-prefuse: error: --candidate 'x \{output\}': must not contain \{output\} with --serve/);
  });

  it("the numpy adapter passes in serve mode and refuses the reference's refusals (n_ error cases)", async () => {
    const rich = join(root, "rich");
    await writeRichCorpus(rich);
    const r = await serve({ candidate: NUMPY_SERVE, corpus: { dir: rich, optional: false }, runs: 2, seed: 3, jobs: 2 });
    expect(r.totals, r.cases.map((c) => c.reason).join("; ")).toEqual({ passed: 3, failed: 0, open: 0, skipped: 0 });
    const dequant = await serve({ candidate: NUMPY_SERVE, stage: "dequant", corpus: { dir: ROOT_CORPUS, optional: false } });
    const refused = dequant.cases.find((c) => c.outcome === "error")!;
    expect(refused).toMatchObject({ verdict: "pass", id: "n_dequant-missing-scale" });
    expect(refused.reason).toMatch(/^refused as expected \(refused: .*scale/);
    expect(dequant.totals.failed).toBe(0);
    expect(dequant.restarts).toBe(0);
  });

  it("shrinks and shards the same way as the per-case protocol", async () => {
    const saveDir = join(root, "failures");
    const broken = `${NUMPY_SERVE.replace("ci/adapters/numpy_prefuse.py", "ci/candidates/broken/chunk_seam.py")}`;
    const r = await serve({ candidate: broken, corpus: null, runs: 1, seed: 5, shrink: 1, shrinkBudget: 5, saveFailures: saveDir });
    expect(r.shrunk).toHaveLength(1);
    expect(r.shrunk[0]!.signature).toBe("chunk-seam");
    expect(failureSignature(r.cases[0]!)).toBe("chunk-seam");
    const shards = await Promise.all([1, 2].map((k) => serve({ candidate: standIn("crash:n_b"), shard: { index: k, count: 2 } })));
    const merged = mergeReports(shards);
    expect(verdicts(merged)).toEqual(["n_a pass", "n_b fail", "n_c pass"]);
    expect(merged.restarts).toBe(1);
    expect(markdownSummary(merged)).toContain(`(${merged.name}), serve mode: 1 worker restart(s)`);
  });
});
