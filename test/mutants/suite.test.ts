// The mutation runner's suite runs: failing tests named and passing ones counted from vitest's
// report, and a suite that hangs in synchronous code (what vitest's own test timeout cannot stop)
// killed at the time limit together with the processes it started.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { stillRunning } from "../support/processes.js";
import { tempDir } from "../support/tmp.js";
import { runSuite } from "./suite.js";

/** A work directory holding `files` (name -> text) and the project's node_modules. */
function work(files: Record<string, string>): string {
  const dir = tempDir();
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("a suite run of the mutation runner", () => {
  it("names the failing tests and counts the passing ones", async () => {
    const dir = work({
      "a.test.ts": `import { expect, it } from "vitest";\nit("holds", () => expect(1).toBe(1));\nit("breaks", () => expect(1).toBe(2));\n`,
      "b.test.ts": `import { expect, it } from "vitest";\nit("holds too", () => expect(2).toBe(2));\n`,
    });
    const r = await runSuite(dir, ["a.test.ts", "b.test.ts"], 60_000);
    expect(r.timedOut).toBe(false);
    expect(r.failed).toEqual(["a.test.ts > breaks"]);
    expect(r.passed).toBe(2);
  });
});

/** A work directory whose node_modules/vitest/vitest.mjs stands in for a vitest that started `what`, wrote its pid, and hangs. */
function fakeVitest(what: string): string {
  const dir = tempDir();
  mkdirSync(join(dir, "node_modules", "vitest"), { recursive: true });
  const script = [`import { spawn } from "node:child_process";`, `import { writeFileSync } from "node:fs";`, what, `for (;;);`].join("\n");
  writeFileSync(join(dir, "node_modules", "vitest", "vitest.mjs"), script);
  return dir;
}

describe("a suite run and the processes it started", () => {
  it("ends a suite that hangs at its time limit, with every process it started: in its group, in groups of their own, holding its stdout or not", async () => {
    // A vitest worker in an endless loop is what vitest's own test timeout cannot stop.
    const sleeper = (stdio: string, detached: boolean) =>
      `spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "${stdio}", detached: ${detached} }).pid`;
    const dir = fakeVitest(`writeFileSync("children.pid", [${sleeper("ignore", false)}, ${sleeper("inherit", true)}, ${sleeper("ignore", true)}].join(" "));`);
    const started = performance.now();
    const r = await runSuite(dir, [], 3000);
    expect(r.timedOut).toBe(true);
    expect(r.failed).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(15_000);
    const children = readFileSync(join(dir, "children.pid"), "utf8").split(" ").map(Number);
    expect(children).toHaveLength(3);
    expect(await stillRunning(children)).toEqual([]);
  });

  it("takes its vitest down with it when the runner is interrupted (Ctrl-C reaches the runner's group, not vitest's)", async () => {
    const dir = fakeVitest(`writeFileSync("vitest.pid", String(process.pid));`);
    writeFileSync(
      join(dir, "runner.mts"),
      `import { runSuite } from ${JSON.stringify(join(ROOT, "test", "mutants", "suite.ts"))};\nawait runSuite(${JSON.stringify(dir)}, [], 600_000);\n`,
    );
    // As a shell starts a job: a process group of its own, the one the terminal signals.
    const runner = spawn(process.execPath, ["--import", "tsx", join(dir, "runner.mts")], { cwd: ROOT, stdio: "ignore", detached: true });
    const exited = new Promise((resolve) => runner.once("exit", resolve));
    for (let i = 0; i < 600 && !existsSync(join(dir, "vitest.pid")); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const vitest = Number(readFileSync(join(dir, "vitest.pid"), "utf8"));
    process.kill(-runner.pid!, "SIGINT");
    await exited;
    expect(await stillRunning([vitest])).toEqual([]);
  });
});
