// `moe-prefuse golden check|update`: verify the golden corpus against the reference, or rebuild
// it from its definitions (src/golden/cases.ts) showing the diff before anything is written.
// The default corpus is the package's own corpus/golden.

import type { Command } from "commander";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { UsageError } from "../../reference/errors.js";
import { GOLDEN_CASES } from "../../golden/cases.js";
import { checkCorpus } from "../../golden/check.js";
import { formatDiff, isEmptyDiff } from "../../golden/diff.js";
import { findFp8Oracle } from "../../golden/fp8-oracle.js";
import { planCorpusUpdate, writeCorpus } from "../../golden/update.js";
import { asLines, say, writeOutput } from "../output.js";
import { packageRoot } from "../../package-info.js";

function corpusDir(option: string | undefined): string {
  return option === undefined ? join(packageRoot(), "corpus", "golden") : resolve(option);
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerGolden(program: Command): void {
  const golden = program.command("golden").description("the golden corpus: exact expected outputs any prefuse implementation can be checked against");

  golden
    .command("check")
    .description("verify every case's manifest and that the reference reproduces its expected output byte for byte")
    .option("--corpus <dir>", "corpus directory (default: the package's corpus/golden)")
    .action(async (opts: { corpus?: string }) => {
      const root = corpusDir(opts.corpus);
      const width = 6;
      const result = await checkCorpus(root, (c) => {
        const label = (c.ok ? "ok" : "FAIL").padEnd(width);
        say(`${label}${c.id}${c.meta === undefined ? "" : ` [${c.meta.stage}]`}: ${c.detail}`);
      });
      await writeOutput(asLines([`${result.passed} passed, ${result.failed} failed`]));
      if (result.failed > 0) process.exitCode = 1;
    });

  golden
    .command("update")
    .description("rebuild the corpus from its case definitions; prints the diff before writing")
    .option("--corpus <dir>", "corpus directory (default: the package's corpus/golden)")
    .option("--yes", "write the changes without asking")
    .option("--dry-run", "only print the diff")
    .action(async (opts: { corpus?: string; yes?: boolean; dryRun?: boolean }) => {
      if (opts.yes && opts.dryRun) throw new UsageError("INVALID_ARGUMENT", "--yes and --dry-run contradict each other");
      const ask = !opts.yes && !opts.dryRun;
      if (ask && !process.stdin.isTTY)
        throw new UsageError("INVALID_ARGUMENT", "not writing without confirmation: pass --yes to write the changes, or --dry-run to only show them");
      const root = corpusDir(opts.corpus);
      const pkg = packageRoot();
      const oracle = findFp8Oracle(pkg);
      const plan = await planCorpusUpdate(root, GOLDEN_CASES, { fp8Fixtures: join(pkg, "corpus", "fp8"), oracle });
      const lines = [
        `corpus ${root}: ${plan.cases.length} cases defined in src/golden/cases.ts`,
        typeof oracle === "string" ? `FP8 oracle unavailable: ${oracle}` : `FP8 oracle: ${oracle.python} ${oracle.script}`,
        ...plan.notes.map((n) => `note: ${n}`),
        ...formatDiff(plan.diff),
      ];
      await writeOutput(asLines(lines));
      if (isEmptyDiff(plan.diff)) {
        await writeOutput(asLines(["the corpus is up to date; nothing written"]));
        return;
      }
      if (opts.dryRun) return;
      if (ask && !(await confirm(`write these changes to ${root}? [y/N] `))) {
        await writeOutput(asLines(["nothing written"]));
        return;
      }
      await writeCorpus(plan);
      await writeOutput(asLines([`wrote ${root} (${plan.cases.length} cases)`]));
    });
}
