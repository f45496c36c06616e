// The oQ release-gate workflow template (ci/github/oq-release-gate.yml) cannot run here (it is for
// the oMLX repository, on Apple silicon), so it is validated against the GitHub Actions workflow
// schema by @action-validator/cli, as .ci/run does; a misspelt key in a copy shows the check can
// fail.

import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const TEMPLATE = join(ROOT, "ci", "github", "oq-release-gate.yml");
const validate = (file: string) => spawnSync(process.execPath, [join(ROOT, "node_modules", "@action-validator", "cli", "cli.mjs"), file], { encoding: "utf8" });

describe("oQ workflow template", () => {
  it("is a valid GitHub Actions workflow", () => {
    const r = validate(TEMPLATE);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("a misspelt key is refused (the check is not vacuous)", () => {
    const bad = join(tempDir(), "bad.yml");
    writeFileSync(bad, readFileSync(TEMPLATE, "utf8").replace("timeout-minutes:", "timeout-minute:"));
    const r = validate(bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Additional property 'timeout-minute' is not allowed");
  });
});
