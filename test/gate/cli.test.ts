// `moe-prefuse gate` as users and CI run it: the built binary, real candidate processes, the
// closing `N passed, M failed` line, exit status, JUnit / JSON / Markdown files, shards and merge.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runGate } from "../../src/gate/gate.js";
import { gateOptionsFromCli } from "../../src/cli/commands/gate.js";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { CANDIDATE_CWD, NUMPY, PYTHON, broken, writeRichCorpus } from "../support/gate-fixture.js";

const lastLine = (s: string) => s.trimEnd().split("\n").pop();

describe("moe-prefuse gate", () => {
  let corpus: string;
  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), "moe-prefuse-gate-cli-"));
    corpus = join(root, "corpus");
    await writeRichCorpus(corpus);
    return () => rm(root, { recursive: true, force: true });
  });

  it("runs the numpy adapter over a corpus and generated cases, writes JUnit, JSON and Markdown, exits 0", () => {
    const out = tempDir();
    const r = runCli([
      "gate",
      "--candidate",
      NUMPY,
      "--corpus",
      corpus,
      "--runs",
      "1",
      "--seed",
      "4",
      "--junit",
      join(out, "g.xml"),
      "--report",
      join(out, "g.json"),
      "--markdown",
      join(out, "g.md"),
    ]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`gate: stage prefuse, candidate numpy_prefuse.py: ${NUMPY}`);
    const ids = lines.filter((l) => /^(PASS|FAIL|OPEN) /.test(l)).map((l) => l.split(" ").slice(0, 2).join(" "));
    expect(ids).toEqual(["PASS y_gate-rich", expect.stringMatching(/^PASS [yn]_gen-0$/)]);
    expect(lastLine(r.stdout)).toBe("2 passed, 0 failed");
    const report = JSON.parse(readFileSync(join(out, "g.json"), "utf8")) as { totals: unknown; cases: { id: string }[]; stage: string };
    expect(report.totals).toEqual({ passed: 2, failed: 0, open: 0, skipped: 0 });
    expect(readFileSync(join(out, "g.xml"), "utf8")).toMatch(/<testsuites name="moe-prefuse gate prefuse: numpy_prefuse.py" tests="2" failures="0"/);
    expect(readFileSync(join(out, "g.md"), "utf8")).toContain("stage `prefuse`: passed");
  });

  it("exits 1 and shows the diagnosis when a case fails", () => {
    const r = runCli(["gate", "--candidate", broken("gate_up_swapped"), "--corpus", corpus, "--runs", "0"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL y_gate-rich \[golden\]: gate and up are swapped in /m);
    expect(lastLine(r.stdout)).toBe("0 passed, 1 failed");
  });

  it("splits a run into shards whose merged reports equal the whole run", async () => {
    const out = tempDir();
    for (const k of [1, 2]) {
      const shard = await runGate({ candidate: NUMPY, corpus: null, runs: 2, seed: 2, shard: { index: k, count: 2 }, cwd: CANDIDATE_CWD });
      expect(shard.cases.map((c) => c.index)).toEqual([k - 1]);
      writeFileSync(join(out, `s${k}.json`), JSON.stringify(shard));
    }
    const merged = runCli(["gate", "merge", join(out, "s2.json"), join(out, "s1.json"), "--junit", join(out, "all.xml"), "--report", join(out, "all.json")]);
    expect(merged.status, merged.stderr).toBe(0);
    expect(merged.stdout).toContain("gate: merged 2 report(s), 2 of 2 cases");
    expect(lastLine(merged.stdout)).toBe("2 passed, 0 failed");
    expect((JSON.parse(readFileSync(join(out, "all.json"), "utf8")) as { cases: { index: number }[] }).cases.map((c) => c.index)).toEqual([0, 1]);
    const partial = runCli(["gate", "merge", join(out, "s1.json")]);
    expect(partial.status).toBe(1);
    expect(partial.stderr).toBe("moe-prefuse: error: shard(s) 2/2 missing: merge the reports of every shard\n");
    const table = runCli(["gate", "table", join(out, "all.json")]);
    expect(table.stdout.split("\n")[0]).toBe("| case group | numpy_prefuse.py (prefuse) |");
  });

  it("records the readings a run shows (--record-readings) and holds a later run to them (--readings)", () => {
    const out = tempDir();
    const file = join(out, "readings.json");
    const first = runCli(["gate", "--candidate", NUMPY, "--corpus", corpus, "--runs", "0", "--record-readings", file]);
    expect(first.status, first.stdout + first.stderr).toBe(0);
    // The rich case's MTP layer separates the outside-layers point; the numpy adapter fuses it.
    expect(first.stdout).toContain("gate:   outside-layers: fused (inferred); fused in 1 case(s): y_gate-rich");
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
      format: "moe-prefuse-readings/1",
      gate: expect.stringMatching(/^moe-prefuse \d/),
      stage: "prefuse",
      candidate: "numpy_prefuse.py",
      readings: { "outside-layers": "fused" },
    });
    const again = runCli(["gate", "--candidate", NUMPY, "--corpus", corpus, "--runs", "0", "--readings", file]);
    expect(again.status, again.stdout).toBe(0);
    expect(again.stdout).toContain("pinned by --readings");
    const left = runCli([
      "gate",
      "--candidate",
      `${PYTHON} ci/candidates/readings/outside_layers_left.py {input} {output}`,
      "--corpus",
      corpus,
      "--runs",
      "0",
      "--readings",
      file,
    ]);
    expect(left.status).toBe(1);
    expect(left.stdout).toMatch(/^FAIL y_gate-rich \[golden\]: reading-changed: outside-layers: fused -> left: /m);
  });

  it("refuses a missing or malformed readings file in one line, before any case runs", () => {
    const out = tempDir();
    writeFileSync(join(out, "bad.json"), JSON.stringify({ format: "moe-prefuse-readings/1", stage: "prefuse", readings: { "outside-layers": "sometimes" } }));
    for (const [file, message] of [
      [join(out, "none.json"), /^moe-prefuse: error: .*none\.json: cannot read the readings file \(ENOENT\)$/],
      [join(out, "bad.json"), /^moe-prefuse: error: .*bad\.json: not a readings file: 'outside-layers' must be one of fused, left, not "sometimes"$/],
    ] as const) {
      const r = runCli(["gate", "--candidate", NUMPY, "--corpus", corpus, "--runs", "0", "--readings", file]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    }
  });

  it("refuses bad options with one line and writes nothing", () => {
    const out = tempDir();
    for (const [args, message] of [
      [[], /^moe-prefuse: error: gate needs --candidate/],
      [["--candidate", NUMPY, "--tolerance", "ulp=2"], /^moe-prefuse: error: --tolerance applies to the floating stages/],
    ] as const) {
      const r = runCli(["gate", ...args, "--report", join(out, "r.json")]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    }
    expect(existsSync(join(out, "r.json"))).toBe(false);
  });

  it("checks every option before running anything", async () => {
    const base = { stage: "prefuse", candidate: NUMPY };
    const refused: [Record<string, string>, RegExp][] = [
      [{ candidate: "python3 'x {input} {output}" }, /unterminated single quote/],
      [{ candidate: "x {input}" }, /must contain \{output\}/],
      [{ stage: "dequant+prefuse", tolerance: "2" }, /--tolerance must be ulp=N/],
      [{ stage: "fuse" }, /stage must be one of prefuse, dequant, dequant\+prefuse, switch_mlp/],
      [{ corpus: "/no/such/corpus" }, /--corpus \/no\/such\/corpus: no such directory/],
      [{ shard: "3/2" }, /--shard must be K\/N/],
      [{ runs: "-1" }, /--runs must be a whole number/],
      [{ timeout: "0" }, /--timeout must be a positive number/],
      [{ seed: "4294967296" }, /--seed must be a whole number from 0 to 4294967295/],
      [{ maxOutputSize: "0" }, /--max-output-size must be a size of at least one byte \(examples: 1GB, 512MiB, 1000000\), not '0'/],
      [{ passEnv: "HF_TOKEN,A-B" }, /--pass-env must be variable names separated by commas/],
      [{ serve: true } as never, /--candidate '.*numpy_prefuse.py \{input\} \{output\}': must not contain \{input\} with --serve/],
    ];
    for (const [o, message] of refused) await expect(async () => runGate(await gateOptionsFromCli({ ...base, ...o }))).rejects.toThrow(message);
    expect(await gateOptionsFromCli({ ...base, stage: "dequant", tolerance: "ulp=3", shard: "2/5", corpus: false })).toMatchObject({
      tolerance: { ulp: 3 },
      shard: { index: 2, count: 5 },
      corpus: null,
    });
    expect(await gateOptionsFromCli({ ...base, serve: true, passEnv: "HF_TOKEN,MY_VAR", maxOutputSize: "64MiB" })).toMatchObject({
      serve: true,
      passEnv: ["HF_TOKEN", "MY_VAR"],
      maxOutputSize: 64 * 2 ** 20,
    });
  });

  it("runs generated cases alone, with a note, when the default corpus is not there", async () => {
    const log: string[] = [];
    const report = await runGate({ candidate: NUMPY, corpus: { dir: join(tempDir(), "corpus", "golden"), optional: true }, runs: 0 }, (l) => log.push(l));
    expect(log.some((l) => /^gate: no golden corpus at .*corpus\/golden yet: generated cases only$/.test(l))).toBe(true);
    expect(report.corpus).toBeNull();
    expect(log.at(-1)).toBe("0 passed, 0 failed");
  });
});
