// One run of (part of) the test suite in a copy of the repository, for `npm run mutants`: the
// vitest report read back as the failing tests' names and the passing count. A mutant can hang a
// test instead of failing it (an endless loop in a kernel: vitest's test timeout cannot interrupt
// synchronous code, and a CLI a test spawned synchronously blocks its worker), so the run has a
// time limit: vitest runs in a process group of its own, killed whole when the limit passes
// (its workers and whatever they started in it go with it), and the run counts as timed out.
// Processes a test started in groups of their own (the gate's candidates, in the gate's tests)
// carry the run's mark in their environment and are swept with it (src/gate/escapees.ts), as
// is what the group still holds after a normal exit.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { killMarked, markedEnv, processesMarked } from "../../src/gate/escapees.js";

export interface SuiteRun {
  /** undefined: the run produced no report (the build or vitest failed, or it timed out). */
  readonly failed: readonly string[] | undefined;
  readonly passed: number;
  readonly seconds: number;
  readonly timedOut: boolean;
  /** The last 64 KiB of vitest's stdout and stderr. */
  readonly output: string;
}

interface VitestJson {
  readonly testResults?: readonly {
    readonly name: string;
    readonly status: string;
    readonly message?: string;
    readonly assertionResults: readonly { readonly fullName: string; readonly status: string }[];
  }[];
}

const KEEP = 64 << 10;
/** The environment variable that marks what a suite run started (the gate passes MOE_PREFUSE_* names to its candidates). */
const MARK_VAR = "MOE_PREFUSE_MUTANT_RUN";
const PIPE_GRACE_MS = 2000;
const INTERRUPTS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Kills vitest's group, then whatever else carries the run's mark. */
function killRun(pid: number | undefined, mark: string): void {
  if (pid !== undefined) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // the group is gone
    }
  }
  killMarked(mark, processesMarked(MARK_VAR));
}

/** Runs `suite` (test files or folders of `work`) with vitest, at most `timeoutMs`. */
export async function runSuite(work: string, suite: readonly string[], timeoutMs: number): Promise<SuiteRun> {
  const report = join(work, "mutant-report.json");
  rmSync(report, { force: true });
  const started = performance.now();
  const mark = randomBytes(8).toString("hex");
  const child = spawn(process.execPath, [join(work, "node_modules", "vitest", "vitest.mjs"), "run", ...suite, "--reporter=json", `--outputFile=${report}`], {
    cwd: work,
    env: { ...markedEnv(process.env, mark, MARK_VAR), FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const keep = (d: string) => {
    output = (output + d).slice(-KEEP);
  };
  child.stdout.setEncoding("utf8").on("data", keep);
  child.stderr.setEncoding("utf8").on("data", keep);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killRun(child.pid, mark);
  }, timeoutMs);
  // The group is not the terminal's foreground one: an interrupt of the runner must end it too.
  const interrupted = (signal: NodeJS.Signals) => {
    killRun(child.pid, mark);
    process.kill(process.pid, signal);
  };
  for (const signal of INTERRUPTS) process.once(signal, interrupted);
  await new Promise((resolve) => {
    child.once("error", resolve);
    child.once("exit", resolve);
  });
  clearTimeout(timer);
  killRun(child.pid, mark);
  for (const signal of INTERRUPTS) process.off(signal, interrupted);
  // What vitest wrote before it exited, for at most PIPE_GRACE_MS: a process outside the group
  // may hold the pipes open for ever.
  const open = [child.stdout, child.stderr].filter((s) => !s.readableEnded);
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(open.map((s) => new Promise((r) => s.once("close", r)))), new Promise((r) => (grace = setTimeout(r, PIPE_GRACE_MS)))]);
  clearTimeout(grace);
  child.stdout.destroy();
  child.stderr.destroy();
  const seconds = (performance.now() - started) / 1000;
  if (timedOut || !existsSync(report)) return { failed: undefined, passed: 0, seconds, timedOut, output };
  const json = JSON.parse(readFileSync(report, "utf8")) as VitestJson;
  const files = json.testResults ?? [];
  if (files.length === 0) return { failed: undefined, passed: 0, seconds, timedOut, output };
  const failed: string[] = [];
  let passed = 0;
  for (const f of files) {
    const file = relative(work, f.name);
    const tests = f.assertionResults;
    for (const t of tests) {
      if (t.status === "failed") failed.push(`${file} > ${t.fullName}`);
      else if (t.status === "passed") passed++;
    }
    if (f.status === "failed" && !tests.some((t) => t.status === "failed")) failed.push(`${file} (failed to run: ${(f.message ?? "").split("\n")[0]})`);
  }
  return { failed, passed, seconds, timedOut, output };
}
