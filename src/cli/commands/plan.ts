// `moe-prefuse plan <checkpoint | hf://owner/name[@rev]>`: what `fuse` would do and what each way
// of prefusing would need in memory, from headers alone (a Hub repository is read with range
// requests, never downloaded). Thin: parse options, call the library, print.

import type { Command } from "commander";
import { totalmem } from "node:os";
import { isHubRef, parseHubRef } from "../../hub/repo-ref.js";
import { hubSettings } from "../../hub/settings.js";
import { type CheckpointHeaders, checkpointPlanReport, hubHeaders, localHeaders, planCheckpoint } from "../../plan/plan.js";
import { UsageError } from "../../reference/errors.js";
import { DEFAULT_CHUNK } from "../../reference/prefuse/chunk.js";
import { FUSE_TARGETS, type FuseTarget } from "../../reference/prefuse/layouts.js";
import { formatBytes, parseSize } from "../../reference/size.js";
import { oneOf, wholeNumberList } from "../options.js";
import { THREADS_FLAG, THREADS_RANGE_HELP, parseThreads } from "../threads.js";
import { planLines, planWarnings } from "../plan-text.js";
import { say, warn } from "../output.js";
import { tableLines } from "../table.js";

interface PlanFlags {
  target: string;
  chunk: string;
  memoryBudget?: string;
  allowDownload?: boolean;
  threads?: string;
  json?: boolean;
}

export function registerPlan(program: Command): void {
  program
    .command("plan")
    .description("what fuse would do and the peak memory of each way of prefusing, from headers alone (a Hub repository is read with range requests)")
    .argument("<checkpoint>", "a checkpoint directory or .safetensors file, or hf://owner/name[@revision]")
    .option("--target <target>", `output layout: ${FUSE_TARGETS.join(" | ")}`, "fused")
    .option("--chunk <n>", "experts per step to estimate, or a comma-separated list", String(DEFAULT_CHUNK))
    .option("--memory-budget <size>", "judge each way against this budget (5GB, 48GiB, bytes; default: this machine's RAM)")
    .option(THREADS_FLAG, `for an FP8 checkpoint, the dequantization threads to estimate, as fuse --dequant-fp8 --threads: ${THREADS_RANGE_HELP}`)
    .option("--allow-download", "if the server ignores byte ranges, read each header from the start of its whole-file answer instead of failing")
    .option("--json", "print the plan (as fuse --json prints it) and the memory estimates as JSON")
    .action(async (arg: string, flags: PlanFlags) => {
      const target = oneOf<FuseTarget>("target", flags.target, FUSE_TARGETS);
      const chunks = wholeNumberList("chunk", flags.chunk.trim())!;
      if (chunks.length === 0 || chunks.includes(0))
        throw new UsageError("INVALID_ARGUMENT", `--chunk must list whole numbers of at least 1, not '${flags.chunk}'`);
      const budget = flags.memoryBudget === undefined ? totalmem() : parseSize(flags.memoryBudget);
      const threads = parseThreads(flags.threads);
      const headers: CheckpointHeaders = isHubRef(arg)
        ? await hubHeaders(parseHubRef(arg), { settings: hubSettings(), allowDownload: flags.allowDownload === true })
        : await localHeaders(arg);
      const result = planCheckpoint(headers, { target, chunks, budget, threads });
      for (const w of planWarnings(result.plan)) warn(w);
      const report = checkpointPlanReport(result);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const budgetText = `${formatBytes(budget)} ${flags.memoryBudget === undefined ? "(this machine's RAM)" : "(--memory-budget)"}`;
      const lines = [
        `checkpoint ${report.checkpoint}: ${headers.specs.size} tensors, ${formatBytes(report.totalBytes)} in ${report.files.length} file(s)${headers.fromCache ? " (headers from the cache)" : ""}; stage ${result.stage}`,
        ...planLines(result.plan),
        `memory: peak of each way of prefusing, against a budget of ${budgetText}${result.dequantThreads === undefined ? "" : `; FP8 dequantization on ${result.dequantThreads} thread(s) (--threads)`}`,
        ...tableLines(
          ["STRATEGY", "CHUNK", "PEAK", "FITS"],
          result.memory.map((m) => [m.strategy, String(m.chunk), formatBytes(m.peakBytes), m.fits ? "yes" : `no (needs ${formatBytes(m.peakBytes)})`]),
        ),
      ];
      say(...lines);
    });
}
