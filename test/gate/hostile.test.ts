// Issue 15, the gate's side: hostile candidates (test/support/candidates/hostile.mjs) try to read
// secrets, make the gate pass itself, exhaust its memory, block it on a FIFO, hold it with an
// escaped grandchild, survive its timeout or leave work behind; each attack must fail as one line
// and the gate must go on. Local files and processes only.

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tail } from "../../src/gate/candidate.js";
import { candidateEnv } from "../../src/gate/candidate-env.js";
import { type GateOptions, runGate } from "../../src/gate/gate.js";
import { expandTemplate, splitTemplate } from "../../src/gate/template.js";
import { removeStaleWorkDirs } from "../../src/gate/workdir.js";
import { RUN_MARK_VAR } from "../../src/gate/escapees.js";
import { processAlive } from "../../src/reference/cleanup.js";
import { secretValues } from "../../src/reference/safe-text.js";
import { BIN, runCli } from "../support/cli.js";
import { running, stillRunning } from "../support/processes.js";
import { CANDIDATE_CWD, denseSpec, hostile, writeSpecCorpus } from "../support/gate-fixture.js";

let root: string;
let corpus: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "moe-prefuse-hostile-"));
  corpus = join(root, "corpus");
  await writeSpecCorpus(corpus, { "dense-a": denseSpec(1), "dense-b": denseSpec(2) });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const gate = (o: Partial<GateOptions> & { candidate: string }) =>
  runGate({ corpus: { dir: corpus, optional: false }, runs: 0, jobs: 1, shrink: 0, cwd: CANDIDATE_CWD, ...o });

/** Runs `f` with `vars` in the gate's own environment. */
async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const TOKEN = "hf_abcdefghijklmnopqrstuvwxyz0123456789";

describe("the candidate's environment (item 2)", () => {
  it("holds no secrets unless --pass-env names them, and the token never reaches a report", async () => {
    const vars = { HF_TOKEN: TOKEN, AWS_SECRET_ACCESS_KEY: "aws-secret-value-123", MY_PROJECT_SETTING: "x", PYTHONPATH: "/opt/py" };
    const dropped = await withEnv(vars, () => gate({ candidate: hostile("env") }));
    const seen = JSON.parse(dropped.cases[0]!.stdout!) as string[];
    expect(seen).toEqual(expect.arrayContaining(["PATH", "PYTHONPATH", "MOE_PREFUSE_STAGE", "MOE_PREFUSE_CASE", "MOE_PREFUSE_PROTOCOL"]));
    for (const name of ["HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "MY_PROJECT_SETTING"]) expect(seen).not.toContain(name);

    const passed = await withEnv(vars, () => gate({ candidate: hostile("env"), passEnv: ["HF_TOKEN"] }));
    const r = passed.cases[0]!;
    expect(JSON.parse(r.stdout!)).toContain("HF_TOKEN");
    // The candidate printed the token twice, once across the 16 KiB tail's cut: neither survives.
    expect(r.stderr).toContain("<redacted>");
    expect(JSON.stringify(passed)).not.toContain(TOKEN);
    expect(JSON.stringify(passed)).not.toContain(TOKEN.slice(0, 12));

    // Reasons and diagnoses quote what the candidate wrote (here a tensor named after the token).
    const named = await withEnv(vars, () => gate({ candidate: hostile("token-tensor"), passEnv: ["HF_TOKEN"] }));
    expect(named.cases[0]!.failure).toBe("mismatch");
    expect(JSON.stringify(named.cases[0])).toContain("leak.<redacted>");
    expect(JSON.stringify(named)).not.toContain(TOKEN);
  });

  it("an allowlisted name that looks secret is dropped too; a tail never ends in the start of a secret", () => {
    const env = candidateEnv({ PATH: "/bin", PYTHON_KEYRING_PASSWORD: "p4ssw0rd-long", MOE_PREFUSE_TOKEN: "tok-12345678", LC_ALL: "C" }, []);
    expect(Object.keys(env).sort()).toEqual(["LC_ALL", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PATH"]);
    const t = new Tail(secretValues({ HF_TOKEN: TOKEN }));
    t.add(`${"y".repeat(20000)}${TOKEN.slice(0, 20)}`);
    t.add(`${TOKEN.slice(20)} and ${TOKEN.slice(0, 9)}`);
    expect(t.toString()).not.toContain(TOKEN.slice(0, 9));
    expect(t.toString().endsWith("<redacted> and <redacted>")).toBe(true);
  });
});

describe("the corpus (item 3)", () => {
  it("an identity candidate rewriting the corpus's expected files cannot make the gate pass", async () => {
    const own = join(root, "rewritten");
    await writeSpecCorpus(own, {
      fuses: { family: "olmoe", seed: 7, experts: 3, layers: 1, hidden: 4, intermediate: 2, vocab: 8 },
      "fuses-too": { family: "olmoe", seed: 6, experts: 3, layers: 1, hidden: 4, intermediate: 2, vocab: 8 },
    });
    const report = await withEnv({ ATTACK_CORPUS: own }, () =>
      gate({ candidate: hostile("rewrite-corpus"), corpus: { dir: own, optional: false }, passEnv: ["ATTACK_CORPUS"] }),
    );
    expect(report.totals.passed, report.cases.map((c) => `${c.id}: ${c.reason}`).join("; ")).toBe(0);
    expect(report.cases.map((c) => c.id)).toEqual(["y_fuses", "y_fuses-too"]);
    expect(report.cases[0]!.failure).toBe("mismatch"); // read before the candidate ran
    expect(report.cases[1]!.failure).toBe("corpus-changed");
    expect(report.cases[1]!.reason).toMatch(/expected\.safetensors: changed during the run/);
  });

  it("refuses to run candidates in a working directory inside the corpus", async () => {
    await expect(gate({ candidate: hostile("identity"), cwd: join(corpus, "n_dense-a") })).rejects.toThrow(/working directory .* is inside the corpus/);
  });
});

describe("reading outputs (item 4)", () => {
  it("refuses symbolic links, FIFOs, directories, a swapped directory and outputs over the cap, without reading them", async () => {
    const cases: [string, RegExp][] = [
      ["symlink-zero", /it is a symbolic link \(not followed\)/],
      ["symlink-input", /it is a symbolic link \(not followed\)/],
      ["fifo", /it is a FIFO, not a regular file/],
      ["directory", /it is a directory, not a regular file/],
      ["sparse", /it is 3\.00 GiB, more than the 1\.\d+ MiB --max-output-size allows/],
      ["swap-dir", /its directory was replaced \(not followed\)/],
    ];
    for (const [mode, reason] of cases) {
      const r = (await gate({ candidate: hostile(mode), timeoutSec: 5 })).cases[0]!;
      expect(r.failure, mode).toBe("invalid-output");
      expect(r.reason, mode).toMatch(reason);
    }
    const capped = (await gate({ candidate: hostile("identity"), maxOutputSize: 100 })).cases[0]!;
    expect(capped.reason).toMatch(/more than the 100 B --max-output-size allows/);
  });
});

describe("processes (items 5 and 10)", () => {
  it("grandchildren in sessions of their own delay neither the verdict nor the case, and are killed at the end of the run", async () => {
    const pidFile = join(root, "escaped.pid");
    // A process of another run's mark (another gate's candidate, as far as this gate can tell) is not this gate's to kill.
    const bystander = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], {
      env: { ...process.env, [RUN_MARK_VAR]: "0123456789abcdef" },
      stdio: "ignore",
    });
    const lines: string[] = [];
    try {
      const report = await withEnv({ ATTACK_PID_FILE: pidFile }, () =>
        runGate(
          {
            corpus: { dir: corpus, optional: false },
            runs: 0,
            jobs: 1,
            shrink: 0,
            cwd: CANDIDATE_CWD,
            candidate: hostile("escape"),
            passEnv: ["ATTACK_PID_FILE"],
            timeoutSec: 5,
          },
          (l) => lines.push(l),
        ),
      );
      expect(report.cases[0]!.verdict, report.cases[0]!.reason).toBe("pass");
      expect(report.cases[1]!.verdict).toBe("pass");
      // Two cases, two grandchildren each: one held the pipes through the case, neither is left.
      const grandchildren = readFileSync(pidFile, "utf8").trim().split("\n").map(Number);
      expect(grandchildren).toHaveLength(4);
      expect(lines).toContain("gate: killed 4 processes that candidates left running");
      expect(await stillRunning(grandchildren)).toEqual([]);
      expect(running(bystander.pid!)).toBe(true);
    } finally {
      bystander.kill("SIGKILL");
    }
  });

  it("a timeout sends SIGTERM to the group, then SIGKILL to what ignores it", async () => {
    // 3 s: the candidate must have installed its SIGTERM handler (node starting on a busy machine).
    const pidFile = join(root, "term.pid");
    const r = (
      await withEnv({ ATTACK_PID_FILE: pidFile }, () =>
        // One case of the two (a shard): each waits out its 3 s timeout and 1 s grace.
        gate({
          candidate: hostile("ignore-term"),
          passEnv: ["ATTACK_PID_FILE"],
          timeoutSec: 3,
          corpus: { dir: corpus, optional: false },
          shard: { index: 1, count: 2 },
        }),
      )
    ).cases[0]!;
    expect(r.failure).toBe("timeout");
    const [pid, term] = readFileSync(pidFile, "utf8").split(" ");
    expect(term).toBe("TERM");
    expect(processAlive(Number(pid))).toBe(false);
  });

  it("SIGHUP kills the running candidates' groups and what escaped them, and removes the work directory", async () => {
    const tmp = await mkdtemp(join(root, "tmp-"));
    const pidFile = join(root, "hup.pid");
    const child = spawn(
      process.execPath,
      [BIN, "gate", "--candidate", hostile("escape-hang"), "--corpus", corpus, "--runs", "0", "--jobs", "1", "--pass-env", "ATTACK_PID_FILE"],
      {
        cwd: CANDIDATE_CWD,
        env: { ...process.env, TMPDIR: tmp, ATTACK_PID_FILE: pidFile },
        stdio: "ignore",
      },
    );
    // The pid is appended with its newline in one write: wait for the line, not just the file.
    const written = () => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n");
    for (let i = 0; i < 200 && !written(); i++) await new Promise((r) => setTimeout(r, 50));
    expect((await readdir(tmp)).filter((n) => n.startsWith("moe-prefuse-gate-"))).toHaveLength(1);
    const code = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    child.kill("SIGHUP");
    expect(await code).toBe(129);
    // The escaped grandchild, killed by its mark (the candidate died with its group).
    expect(await stillRunning(readFileSync(pidFile, "utf8").trim().split("\n").map(Number))).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("removes work directories of gate processes that are gone, and nothing else", async () => {
    const tmp = await mkdtemp(join(root, "stale-"));
    const dead = spawn(process.execPath, ["-e", ""]);
    const pid = await new Promise<number>((r) => dead.on("exit", () => r(dead.pid!)));
    const stale = join(tmp, `moe-prefuse-gate-${pid}-0123abcd`);
    await mkdir(join(stale, "0", "input"), { recursive: true });
    await writeFile(join(stale, "0", "input", "model.safetensors"), "x");
    const live = join(tmp, `moe-prefuse-gate-${process.pid}-0123abcd`);
    await mkdir(live);
    await mkdir(join(tmp, "moe-prefuse-gate-kept-abcDEF"));
    await mkdir(join(tmp, "elsewhere"));
    await symlink(join(tmp, "elsewhere"), join(tmp, `moe-prefuse-gate-${pid}-89abcdef`));
    expect(await removeStaleWorkDirs(tmp)).toBe(1);
    expect((await readdir(tmp)).sort()).toEqual(
      ["elsewhere", `moe-prefuse-gate-${pid}-89abcdef`, "moe-prefuse-gate-kept-abcDEF", `moe-prefuse-gate-${process.pid}-0123abcd`].sort(),
    );
  });
});

describe("limits (items 11, 12 and 14)", () => {
  it("the library refuses a timeout no Node timer holds and a run too large to draw, before anything runs", async () => {
    await expect(gate({ candidate: hostile("identity"), timeoutSec: 2 ** 31 })).rejects.toThrow(
      /^timeout must be a positive number of seconds, at most 2147483/,
    );
    await expect(gate({ candidate: hostile("identity"), timeoutSec: Number.NaN })).rejects.toThrow(/timeout must be/);
    await expect(gate({ candidate: hostile("identity"), runs: 100_000_000 })).rejects.toThrow(
      /^runs must be a whole number from 0 to 100000 \(split larger runs with --shard\)/,
    );
    const r = runCli(["gate", "--candidate", hostile("identity"), "--runs", "100000000"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("moe-prefuse: error: --runs must be a whole number from 0 to 100000, not '100000000'\n");
  });

  it("placeholders are replaced once: a {stage} inside a substituted path stays as it is", () => {
    const words = splitTemplate("impl {input} --out={output} {stage}");
    expect(expandTemplate(words, { input: "/tmp/{stage}/{output}", output: "/o/{input}.safetensors", stage: "prefuse" })).toEqual([
      "impl",
      "/tmp/{stage}/{output}",
      "--out=/o/{input}.safetensors",
      "prefuse",
    ]);
  });

  it("a correct candidate passes when the work directory's path holds a placeholder", async () => {
    const tmp = join(root, "{stage}-{output}");
    await mkdir(tmp);
    const r = await withEnv({ TMPDIR: tmp }, () => gate({ candidate: hostile("identity") }));
    expect(r.totals).toMatchObject({ passed: 2, failed: 0 });
  });
});
