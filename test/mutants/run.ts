// `npm run mutants`: shows that the suite catches realistic breaks of the reference. The
// repository (minus node_modules, which is linked) is copied to a temporary directory; the
// unmutated suite must pass there first; then each mutant of mutants.ts is applied alone, the
// relevant part of the suite (property + golden + prefuse and FP8 unit tests, plus the test files
// that state the mutant's rule) runs against it, and the source is restored. The worktree itself
// is never edited. Prints one row per mutant (killed?, by its rule's tests?, by which tests) and
// the kill rate; exits 1 if any mutant survives, is killed only by tests other than its rule's,
// any edit no longer applies, or a mutant breaks the build instead of a test.
//
//   npm run mutants [-- --only name,name] [-- --rule-only] [-- --timeout S] [-- --keep]
//
// A mutant that makes the suite hang (an endless loop) is killed by the time limit, as mutation
// testing counts a hang (--timeout seconds per suite run; default five times the unmutated run,
// at least 180): its rule's tests are then run alone, under the same limit, to tell whether they
// catch it (fail or hang).
//
// --rule-only runs each mutant against its rule's test files alone (every selected mutant must
// name some): minutes instead of an hour on a loaded machine, when what is in question is
// whether the tests that state a rule catch its break.

import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Mutant, MUTANTS } from "./mutants.js";
import { runSuite } from "./suite.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const COPIED = ["bin", "ci", "corpus", "docs", "src", "test", "package.json", "tsconfig.json", "tsconfig.build.json", "vitest.config.ts"];
/** The part of the suite that judges the reference's bytes. */
export const SUITE = ["test/reference/prefuse", "test/reference/fp8", "test/golden", "test/cli/golden.test.ts"];

interface Row {
  readonly name: string;
  readonly verdict: string;
  /** Whether a property test / a golden test (corpus check or golden CLI) failed. */
  readonly property: string;
  readonly golden: string;
  /** Whether one of the rule's own tests failed ("-" when the mutant names none). */
  readonly rule: string;
  readonly by: string;
}

/** "golden/corpus-check 25, property/round-trip-split 1": failing tests counted per test file. */
function byFile(failed: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const t of failed) {
    const file = t
      .slice(0, t.indexOf(" "))
      .replace(/^test\//, "")
      .replace(/(\.property)?\.test\.ts$/, "");
    counts.set(file, (counts.get(file) ?? 0) + 1);
  }
  return [...counts].map(([f, n]) => `${f} ${n}`).join(", ");
}

/** Applies a mutant's edits to the copy; returns the originals to restore, or why an edit does not apply. */
function apply(work: string, m: Mutant): Map<string, string> | string {
  const originals = new Map<string, string>();
  const text = new Map<string, string>();
  for (const e of m.edits) {
    const path = join(work, e.file);
    const current = text.get(path) ?? readFileSync(path, "utf8");
    if (!originals.has(path)) originals.set(path, current);
    const at = current.indexOf(e.search);
    if (at < 0) return `${e.file}: search text not found: ${JSON.stringify(e.search.slice(0, 80))}`;
    if (current.indexOf(e.search, at + 1) >= 0) return `${e.file}: search text found more than once: ${JSON.stringify(e.search.slice(0, 80))}`;
    text.set(path, current.slice(0, at) + e.replace + current.slice(at + e.search.length));
  }
  for (const [path, t] of text) writeFileSync(path, t);
  return originals;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const onlyAt = args.indexOf("--only");
  const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? "").split(",")) : undefined;
  const mutants = MUTANTS.filter((m) => only === undefined || only.has(m.name));
  const ruleOnly = args.includes("--rule-only");
  if (ruleOnly && mutants.some((m) => m.rule === undefined)) {
    console.error(
      `--rule-only: these mutants name no rule tests: ${mutants
        .filter((m) => m.rule === undefined)
        .map((m) => m.name)
        .join(", ")}`,
    );
    return 2;
  }
  if (only !== undefined && mutants.length !== only.size) {
    console.error(`unknown mutant(s): ${[...only].filter((n) => !MUTANTS.some((m) => m.name === n)).join(", ")}`);
    return 2;
  }

  const work = mkdtempSync(join(tmpdir(), "moe-prefuse-mutants-"));
  try {
    for (const entry of COPIED) {
      cpSync(join(ROOT, entry), join(work, entry), { recursive: true, filter: (src) => !src.includes(join("test", "counterexamples")) });
    }
    symlinkSync(realpathSync(join(ROOT, "node_modules")), join(work, "node_modules"));
    const rules = [...new Set(mutants.flatMap((m) => m.rule ?? []))];
    const files = ruleOnly ? rules : [...SUITE, ...rules.filter((f) => !SUITE.some((s) => f === s || f.startsWith(`${s}/`)))];
    console.log(`copy of the repository: ${work}\nsuite: ${files.join(" ")}\n`);

    const timeoutAt = args.indexOf("--timeout");
    const unlimited = 24 * 3600 * 1000;
    const baseline = await runSuite(work, files, unlimited);
    if (baseline.failed === undefined || baseline.failed.length > 0) {
      console.error(`the unmutated suite does not pass in the copy; fix that first:\n${baseline.failed?.join("\n") ?? baseline.output.slice(-4000)}`);
      return 1;
    }
    const limit = timeoutAt >= 0 ? Number(args[timeoutAt + 1]) : Math.max(180, 5 * baseline.seconds);
    if (!(limit > 0)) {
      console.error(`--timeout must be a positive number of seconds, not ${args[timeoutAt + 1]}`);
      return 2;
    }
    console.log(`baseline: ${baseline.passed} tests pass (${baseline.seconds.toFixed(1)} s); time limit per run ${limit.toFixed(0)} s\n`);

    const rows: Row[] = [];
    for (const m of mutants) {
      const originals = apply(work, m);
      if (typeof originals === "string") {
        rows.push({ name: m.name, verdict: "EDIT FAILED", property: "-", golden: "-", rule: "-", by: originals });
        console.log(`${m.name}: EDIT FAILED (${originals})`);
        continue;
      }
      const r = await runSuite(work, ruleOnly ? m.rule! : files, limit * 1000);
      // A hang names no failing test: the rule's tests alone tell whether they catch it.
      const ruleRun = r.timedOut && m.rule !== undefined && !ruleOnly ? await runSuite(work, m.rule, limit * 1000) : undefined;
      for (const [path, t] of originals) writeFileSync(path, t);
      const failed = r.failed ?? [];
      const byRule =
        m.rule === undefined
          ? undefined
          : r.timedOut
            ? ruleOnly || ruleRun!.timedOut || (ruleRun!.failed?.length ?? 0) > 0
            : failed.some((t) => m.rule!.some((f) => t.startsWith(`${f} `)));
      // A hang is a kill; otherwise a run needs its report and a failing test.
      const broken = !r.timedOut && r.failed === undefined;
      const detected = r.timedOut || failed.length > 0;
      const verdict = broken ? "BROKEN" : !detected ? "SURVIVED" : byRule === false ? "NOT BY RULE" : "killed";
      const part = (prefixes: readonly string[]) => (failed.some((t) => prefixes.some((p) => t.startsWith(p))) ? "yes" : "no");
      const by = r.timedOut
        ? `the suite hung: killed after ${limit.toFixed(0)} s${ruleRun === undefined ? "" : `; the rule's tests alone ${ruleRun.timedOut ? "hung too" : `failed ${ruleRun.failed?.length ?? 0}`}`}`
        : r.failed === undefined
          ? `no test report (build or vitest failed): ${r.output.trim().split("\n").slice(-3).join(" | ")}`
          : failed.length === 0
            ? "-"
            : byFile(failed);
      rows.push({
        name: m.name,
        verdict,
        property: failed.some((t) => t.includes(".property.")) ? "yes" : "no",
        golden: part(["test/golden/", "test/cli/golden"]),
        rule: byRule === undefined ? "-" : byRule ? "yes" : "no",
        by,
      });
      console.log(`${m.name}: ${verdict}${r.timedOut ? " (hung)" : ""} in ${r.seconds.toFixed(1)} s (${m.bug})`);
      for (const t of failed) console.log(`    ${t}`);
    }

    const width = Math.max(...rows.map((r) => r.name.length), "MUTANT".length);
    console.log(`\n${"MUTANT".padEnd(width)}  KILLED?      PROPERTY  GOLDEN  RULE  BY (failing tests per file)`);
    for (const r of rows)
      console.log(`${r.name.padEnd(width)}  ${r.verdict.padEnd(11)}  ${r.property.padEnd(8)}  ${r.golden.padEnd(6)}  ${r.rule.padEnd(4)}  ${r.by}`);
    const killed = rows.filter((r) => r.verdict === "killed").length;
    console.log(`\nkill rate: ${killed}/${rows.length} (${((100 * killed) / Math.max(rows.length, 1)).toFixed(0)}%)`);
    return killed === rows.length ? 0 : 1;
  } finally {
    if (args.includes("--keep")) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
