// The oQ release-gate workflow's gate step (ci/github/oq-release-gate.yml), run as written with
// bash and a stand-in `moe-prefuse` that records its arguments: without a committed readings
// file it records the readings (and says to commit them); with one it pins them; asked to record
// on purpose it ignores the pinned file.

import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const WORKFLOW = readFileSync(join(ROOT, "ci", "github", "oq-release-gate.yml"), "utf8");

/** The `run: |` block of the step named `name`, dedented, GitHub expressions replaced by a tag. */
function stepScript(name: string): string {
  const lines = WORKFLOW.split("\n");
  const start = lines.findIndex((l) => l.trim() === `- name: ${name}`);
  const run = lines.findIndex((l, i) => i > start && l.trim() === "run: |");
  const body: string[] = [];
  for (const l of lines.slice(run + 1)) {
    if (l.trim() !== "" && !l.startsWith("          ")) break;
    body.push(l.slice(10));
  }
  return body.join("\n").replace(/\$\{\{[^}]*\}\}/g, "v9.9.9");
}

function runStep(withFile: boolean, record: string): { args: string[]; stdout: string } {
  const dir = tempDir();
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "moe-prefuse"), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "${join(dir, "args")}"\n`);
  chmodSync(join(bin, "moe-prefuse"), 0o755);
  mkdirSync(join(dir, ".github"));
  if (withFile) writeFileSync(join(dir, ".github", "oq-prefuse-readings.json"), "{}");
  const stdout = execFileSync("bash", ["-euo", "pipefail", "-c", stepScript("Run the gate with oQ's prefuse")], {
    cwd: dir,
    encoding: "utf8",
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      READINGS_FILE: ".github/oq-prefuse-readings.json",
      RECORD_READINGS: record,
      MOE_PREFUSE_HOME: "/opt/mp",
      GATE_RUNS: "200",
      GATE_SEED: "0",
    },
  });
  return { args: readFileSync(join(dir, "args"), "utf8").trimEnd().split("\n"), stdout };
}

describe("the oQ release-gate workflow", () => {
  it("records the readings on the first run (no committed file) and says to commit them", () => {
    const { args, stdout } = runStep(false, "false");
    expect(args).not.toContain("--readings");
    expect(args[args.indexOf("--record-readings") + 1]).toBe("gate/readings.json");
    expect(stdout).toMatch(/^::notice::.*commit it as \.github\/oq-prefuse-readings\.json/m);
  });

  it("holds a later release to the committed readings", () => {
    const { args, stdout } = runStep(true, "false");
    expect(args[args.indexOf("--readings") + 1]).toBe(".github/oq-prefuse-readings.json");
    expect(args).toContain("--record-readings");
    expect(stdout).toBe("");
  });

  it("ignores the committed readings when asked to record them on purpose", () => {
    expect(runStep(true, "true").args).not.toContain("--readings");
  });
});
