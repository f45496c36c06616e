// `moe-prefuse golden check|update` through the built binary: one line per case and the closing
// count, exit 1 on any failure; update refuses to write without --yes (or a terminal to ask on).

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CaseDefinition } from "../../src/golden/build.js";
import { planCorpusUpdate, writeCorpus } from "../../src/golden/update.js";
import { ROOT, runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const IDS: string[] = JSON.parse(readFileSync(join(ROOT, "corpus", "golden", "index.json"), "utf8")).cases;

const small: CaseDefinition = {
  id: "y_prefuse-small",
  description: "a small fuse",
  stage: "prefuse",
  outcome: "transform",
  features: [],
  input: { kind: "generated", spec: { family: "olmoe", seed: 1, experts: 2, layers: 1, hidden: 2, intermediate: 1, vocab: 2 } },
};

describe("moe-prefuse golden", () => {
  it("check: the package's own corpus passes, one line per case, then the count", () => {
    const r = runCli(["golden", "check"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(IDS.length + 1);
    expect(lines.slice(0, -1).map((l) => l.split(" ").filter(Boolean)[1])).toEqual(IDS);
    expect(lines.every((l, i) => i === lines.length - 1 || l.startsWith("ok "))).toBe(true);
    expect(lines.at(-1)).toBe(`${IDS.length} passed, 0 failed`);
  });

  it("check --corpus: a changed expected output fails its case and exits 1", async () => {
    const root = join(tempDir(), "golden");
    const other = {
      ...small,
      id: "y_prefuse-other",
      input: { kind: "generated" as const, spec: { family: "olmoe" as const, seed: 2, experts: 3, layers: 1, hidden: 2, intermediate: 1, vocab: 2 } },
    };
    await writeCorpus(await planCorpusUpdate(root, [small, other], { fp8Fixtures: "", oracle: "unused" }));
    const file = join(root, small.id, "expected.safetensors");
    const bytes = readFileSync(file);
    bytes[bytes.length - 1]! ^= 0x80;
    writeFileSync(file, bytes);
    const r = runCli(["golden", "check", "--corpus", root]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`FAIL  ${small.id}: ${file}: sha256 differs from manifest.json`);
    expect(r.stdout).toContain(`ok    ${other.id} [prefuse]: `);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("1 passed, 1 failed");
  });

  it("update: refuses to write without --yes off a terminal, and --yes with --dry-run", () => {
    const root = join(tempDir(), "golden");
    const r = runCli(["golden", "update", "--corpus", root], { input: "" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("moe-prefuse: error: not writing without confirmation: pass --yes to write the changes, or --dry-run to only show them\n");
    expect(runCli(["golden", "update", "--yes", "--dry-run"]).stderr).toContain("--yes and --dry-run contradict each other");
    expect(existsSync(root)).toBe(false);
  });
});
