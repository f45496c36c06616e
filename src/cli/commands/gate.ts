// `moe-prefuse gate --candidate '<template>'`: the release gate (src/gate), checking any prefuse
// implementation through files; `gate merge <reports...>` joins the reports of a sharded run and
// `gate table <reports...>` puts several implementations side by side. Thin: options in, the
// library's runGate / mergeReports / conformanceTable, files out.

import type { Command } from "commander";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { conformanceTable } from "../../gate/conformance.js";
import { type GateOptions, GATE_DEFAULTS, MAX_RUNS, runGate } from "../../gate/gate.js";
import { junitXml } from "../../gate/junit.js";
import { caseLine, detailLines } from "../../gate/lines.js";
import { markdownSummary } from "../../gate/markdown.js";
import { type GateReport, mergeReports, readReport, reportPasses, summaryLine } from "../../gate/report.js";
import { readingLines } from "../../gate/reading-lines.js";
import { readReadingsFile, readingsFileText } from "../../gate/readings-file.js";
import { parseShard } from "../../gate/shard.js";
import { writeFileAtomically } from "../../reference/atomic.js";
import { UsageError } from "../../reference/errors.js";
import { nameList, optionalSize, optionalWholeNumber, timerSeconds } from "../options.js";
import { say } from "../output.js";
import { parseStage } from "../../reference/stages.js";
import { PACKAGE, packageRoot } from "../../package-info.js";

interface OutputOptions {
  junit?: string;
  report?: string;
  markdown?: string;
  recordReadings?: string;
}

interface GateCliOptions extends OutputOptions {
  candidate?: string;
  serve?: boolean;
  passEnv?: string;
  maxOutputSize?: string;
  name?: string;
  stage: string;
  corpus?: string | false;
  runs?: string;
  seed?: string;
  timeout?: string;
  jobs?: string;
  shard?: string;
  tolerance?: string;
  shrink?: string;
  shrinkBudget?: string;
  saveFailures?: string;
  keepTemp?: boolean;
  readings?: string;
}

function tolerance(text: string | undefined): { ulp: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^ulp=(\d+)$/.exec(text);
  if (m === null) throw new UsageError("INVALID_ARGUMENT", `--tolerance must be ulp=N (N a whole number of ulps), not '${text}'`);
  return { ulp: Number(m[1]) };
}

/** The GateOptions a command line asks for (--readings FILE is read here: a bad file stops the gate before any case runs). */
export async function gateOptionsFromCli(o: GateCliOptions): Promise<GateOptions> {
  if (o.candidate === undefined)
    throw new UsageError(
      "INVALID_ARGUMENT",
      `gate needs --candidate '<command template${o.serve === true ? " for serve/1 workers (with --serve: no {input} or {output})" : " with {input} and {output}"}>'`,
    );
  const corpus =
    o.corpus === false ? null : o.corpus === undefined ? { dir: join(packageRoot(), "corpus", "golden"), optional: true } : { dir: o.corpus, optional: false };
  const values = {
    name: o.name,
    serve: o.serve,
    passEnv: nameList("pass-env", o.passEnv),
    maxOutputSize: optionalSize("max-output-size", o.maxOutputSize),
    runs: optionalWholeNumber("runs", o.runs, 0, MAX_RUNS),
    seed: optionalWholeNumber("seed", o.seed, 0, 0xffffffff),
    timeoutSec: timerSeconds("timeout", o.timeout),
    jobs: optionalWholeNumber("jobs", o.jobs, 1, 256),
    shard: o.shard === undefined ? undefined : parseShard(o.shard),
    tolerance: tolerance(o.tolerance),
    shrink: optionalWholeNumber("shrink", o.shrink, 0),
    shrinkBudget: optionalWholeNumber("shrink-budget", o.shrinkBudget, 1),
    saveFailures: o.saveFailures,
    keepTemp: o.keepTemp,
  };
  const stage = parseStage(o.stage);
  const readings = o.readings === undefined ? undefined : await readReadingsFile(o.readings, stage);
  const defined = Object.fromEntries(Object.entries({ ...values, readings }).filter(([, v]) => v !== undefined));
  return { candidate: o.candidate, stage, corpus, tool: `${PACKAGE.name} ${PACKAGE.version}`, ...defined };
}

async function writeOutputs(report: GateReport, o: OutputOptions): Promise<void> {
  const files: [string | undefined, string][] = [
    [o.report, `${JSON.stringify(report, null, 2)}\n`],
    [o.junit, junitXml(report)],
    [o.markdown, markdownSummary(report)],
  ];
  if (o.recordReadings !== undefined && report.readings !== undefined) {
    files.push([o.recordReadings, readingsFileText(report.readings, { gate: report.tool, stage: report.stage, candidate: report.name })]);
  }
  for (const [file, text] of files) if (file !== undefined) await writeFileAtomically(file, (temp) => writeFile(temp, text));
}

export function registerGate(program: Command): void {
  // --junit, --report, --markdown and --record-readings belong to `gate` and apply to `gate merge` too (optsWithGlobals).
  const gate = program
    .command("gate")
    .description("release gate: run a prefuse implementation (any language, through files) over the golden corpus and generated cases")
    .option(
      "--candidate <template>",
      "command run per case, without a shell: {input} (dir with config.json + model.safetensors), {output} (.safetensors to write), {stage}",
    )
    .option("--serve", "serve mode (protocol serve/1): --candidate starts long-lived workers that take one JSON request per line (no {input}/{output})")
    .option("--pass-env <NAMES>", "environment variables passed to candidates besides the harmless ones (PATH, HOME, LANG, PYTHON*, ...), comma-separated")
    .option("--max-output-size <SIZE>", "largest candidate output read (default: 4x the larger of the case's input and expected output, plus 1 MiB)")
    .option("--stage <stage>", "prefuse (oQ's function), dequant+prefuse, switch_mlp or dequant", GATE_DEFAULTS.stage)
    .option("--corpus <dir>", "golden corpus (default: the package's corpus/golden, when present)")
    .option("--no-corpus", "generated cases only")
    .option("--runs <N>", `generated cases (default ${GATE_DEFAULTS.runs})`)
    .option("--seed <S>", `seed of the generated cases (default ${GATE_DEFAULTS.seed})`)
    .option("--timeout <SEC>", `per case (default ${GATE_DEFAULTS.timeoutSec})`)
    .option("--jobs <N>", "candidate processes at a time (default: the number of cores)")
    .option("--shard <K/N>", "run the K-th of N deterministic parts of the cases")
    .option("--tolerance <ulp=N>", "accept BF16/F16/F32 elements within N ulps (dequant stages only; default bit-exact)")
    .option("--shrink <N>", `shrink up to N failing generated cases, one per distinct failure (default ${GATE_DEFAULTS.shrink}; 0: none)`)
    .option("--shrink-budget <N>", `candidate runs per shrink (default ${GATE_DEFAULTS.shrinkBudget})`)
    .option("--save-failures <dir>", `where shrunk cases are saved as golden case folders (default ./${GATE_DEFAULTS.saveFailures})`)
    .option("--name <name>", "the implementation's name in reports (default: the template's script)")
    .option("--keep-temp", "keep each case's input and output files")
    .option("--junit <file>", "write JUnit XML (one testcase per case)")
    .option("--report <file>", "write the JSON report (what `gate merge` and `gate table` read)")
    .option("--markdown <file>", "write a Markdown summary (for $GITHUB_STEP_SUMMARY)")
    .option("--readings <file>", "pin the reading points to a readings file (from --record-readings): another alternative fails as reading-changed")
    .option("--record-readings <file>", "write the readings the run inferred (point -> alternative) as a readings file")
    .action(async (o: GateCliOptions) => {
      const report = await runGate(await gateOptionsFromCli(o), say);
      await writeOutputs(report, o);
      process.exitCode = reportPasses(report) ? 0 : 1;
    });

  gate
    .command("merge")
    .description("merge the --report files of a sharded run into one (--junit/--report/--markdown write it), print it, exit 0 only if every case passed")
    .argument("<reports...>", "JSON reports of every shard")
    .action(async (files: string[], _options: unknown, cmd: Command) => {
      const report = mergeReports(await Promise.all(files.map(readReport)));
      for (const r of report.cases) {
        say(caseLine(r));
        for (const l of detailLines(r)) say(l);
      }
      for (const l of readingLines(report.readings ?? { pinned: null, rows: [] })) say(l);
      say(`gate: merged ${files.length} report(s), ${report.cases.length} of ${report.totalCases} cases`);
      say(summaryLine(report.totals));
      await writeOutputs(report, cmd.optsWithGlobals<OutputOptions>());
      process.exitCode = reportPasses(report) ? 0 : 1;
    });

  gate
    .command("table")
    .description("conformance table (Markdown) of several implementations' --report files: case groups x implementations")
    .argument("<reports...>", "JSON reports, one per implementation")
    .action(async (files: string[]) => {
      say(
        ...conformanceTable(await Promise.all(files.map(readReport)))
          .trimEnd()
          .split("\n"),
      );
    });
}
