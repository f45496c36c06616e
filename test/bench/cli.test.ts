// `moe-prefuse bench` from the outside: the built binary, as a user runs it.

import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

describe("moe-prefuse bench", () => {
  it("runs a grid, writes <date>-<host>.json/.md/.svg and reports them consistent; --render redraws them", () => {
    const out = tempDir();
    const r = runCli([
      "bench",
      "--grid",
      "tiny",
      "--strategies",
      "prealloc,stream",
      "--no-torch",
      "--out",
      out,
      "--work-dir",
      out,
      "--host",
      "cli",
      "--note",
      "a note",
    ]);
    expect(r.stderr).toContain("[1/4] prealloc tiny");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("report consistent");
    const files = readdirSync(out).filter((f) => !f.startsWith("moe-prefuse-bench-"));
    const stem = files.find((f) => f.endsWith(".json"))!.slice(0, -5);
    expect(stem).toMatch(/^\d{4}-\d\d-\d\d-cli$/);
    expect(files.sort()).toEqual([`${stem}-memory-tiny.svg`, `${stem}-time-tiny.svg`, `${stem}.json`, `${stem}.md`]);
    expect(readFileSync(join(out, `${stem}.md`), "utf8")).toContain("> **a note**");

    const again = tempDir();
    const rr = runCli(["bench", "--render", join(out, `${stem}.json`), "--out", again, "--json"]);
    expect(rr.status, rr.stderr).toBe(0);
    expect(JSON.parse(rr.stdout)).toMatchObject({ stem, problems: [] });
    expect(readFileSync(join(again, `${stem}.md`), "utf8")).toBe(readFileSync(join(out, `${stem}.md`), "utf8"));
  });

  it("skips points over the memory limit and says so", () => {
    const out = tempDir();
    const r = runCli(["bench", "--grid", "tiny", "--strategies", "prealloc", "--no-torch", "--max-memory", "1MiB", "--out", out, "--work-dir", out, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { files: string[] };
    const results = JSON.parse(readFileSync(report.files[0]!, "utf8")) as { points: unknown[]; failures: Array<{ kind: string; reason: string }> };
    expect(results.points).toEqual([]);
    expect(results.failures).toEqual([expect.objectContaining({ kind: "skipped", reason: expect.stringMatching(/exceeds the 1.00 MiB memory limit/) })]);
  });

  it("refuses bad arguments with a one-line error", () => {
    const out = tempDir();
    const bad = join(out, "bad.json");
    writeFileSync(bad, '{"schema": "x"}');
    for (const [args, message] of [
      [["--grid", "huge"], "unknown grid 'huge' (known: full, quick, tiny)"],
      [["--strategies", "prealloc,bogus"], "unknown strategy 'bogus' (known: stack-concat, prealloc, split-retain, stream)"],
      [["--max-memory", "lots"], "'lots' is not a size"],
      [["--render", join(out, "missing.json")], `${join(out, "missing.json")}: cannot read benchmark results`],
      [["--render", bad], `${bad}: not a moe-prefuse benchmark result (schema 'x'`],
    ] as const) {
      const r = runCli(["bench", ...args, "--no-torch", "--out", out]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(`moe-prefuse: error: ${message}`);
    }
    expect(existsSync(join(out, "bad.md"))).toBe(false);
  });
});
