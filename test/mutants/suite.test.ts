// The mutation runner's suite runs: failing tests named and passing ones counted from vitest's
// report, and a suite that hangs in synchronous code (what vitest's own test timeout cannot stop)
// killed at the time limit together with the processes it started.

import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { runSuite } from "./suite.js";

/** A work directory holding `files` (name -> text) and the project's node_modules. */
function work(files: Record<string, string>): string {
  const dir = tempDir();
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
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

  it("kills a suite that hangs at the time limit, with what it started", async () => {
    const dir = work({
      "hang.test.ts": [
        `import { spawn } from "node:child_process";`,
        `import { writeFileSync } from "node:fs";`,
        `import { it } from "vitest";`,
        `it("hangs", () => {`,
        `  const c = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });`,
        `  writeFileSync("child.pid", String(c.pid));`,
        `  for (;;);`,
        `});`,
      ].join("\n"),
    });
    const started = performance.now();
    // 10 s: vitest must start and reach the test first, on a loaded machine too.
    const r = await runSuite(dir, ["hang.test.ts"], 10_000);
    expect(r.timedOut).toBe(true);
    expect(r.failed).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(40_000);
    const child = Number(readFileSync(join(dir, "child.pid"), "utf8"));
    for (let i = 0; i < 100 && running(child); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(running(child)).toBe(false);
  });
});
