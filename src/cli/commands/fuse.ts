// `moe-prefuse fuse <in> <out>`: the streaming prefuse of a checkpoint directory into a new one.
// Thin: parse options, call fuseCheckpointDir, print the plan and the result.

import type { Command } from "commander";
import { join } from "node:path";
import { CONFIG_FILE, type Checkpoint } from "../../reference/checkpoint.js";
import { UsageError } from "../../reference/errors.js";
import { oneOf, wholeNumber } from "../options.js";
import { dequantPlanReport } from "../../reference/fp8/report.js";
import { type DequantView, dequantView } from "../../reference/fp8/view.js";
import { BACKEND_NAMES, type BackendName } from "../../reference/ops/backend.js";
import { createBackend } from "../../reference/ops/engines.js";
import { DEFAULT_CHUNK } from "../../reference/prefuse/chunk.js";
import { type FuseResult, fuseCheckpointDir } from "../../reference/prefuse/fuse-checkpoint.js";
import { FUSE_TARGETS, type FuseTarget } from "../../reference/prefuse/layouts.js";
import { planReport } from "../../reference/prefuse/report.js";
import { formatBytes, parseSize } from "../../reference/size.js";
import { resolveCheckpointArg } from "../inputs.js";
import { progressBar } from "../progress.js";
import { THREADS_FLAG, THREADS_HELP, parseThreads } from "../threads.js";
import { say, warn } from "../output.js";
import { planLines, planWarnings } from "../plan-text.js";

interface FuseFlags {
  chunk: string;
  target: string;
  maxShardSize: string;
  engine: string;
  dequantFp8?: boolean;
  threads?: string;
  strict?: boolean;
  json?: boolean;
}

function printText(r: FuseResult, seconds: number): void {
  const lines = planLines(r.plan);
  lines.push(`wrote ${r.tensors} tensors, ${formatBytes(r.totalSize)} in ${r.files.length} file(s) to ${r.outDir} in ${seconds.toFixed(1)} s`);
  say(...lines);
}

export function registerFuse(program: Command): void {
  program
    .command("fuse")
    .description("prefuse per-expert MoE weights into fused tensors, streaming from <in> to a new directory <out>")
    .argument("<in>", "a checkpoint directory (config.json with model.safetensors, or an index and its shards)")
    .argument("<out>", "a new or empty directory, outside <in>")
    .option("--chunk <n>", "experts stacked per step (memory per step; never changes the bytes)", String(DEFAULT_CHUNK))
    .option("--target <target>", `output layout: ${FUSE_TARGETS.join(" | ")}`, "fused")
    .option("--max-shard-size <size>", "split the output into shards of at most this size (5GB, 512MiB, bytes)", "5GB")
    .option("--engine <engine>", `tensor-op engine: ${BACKEND_NAMES.join(" | ")}`, "typed")
    .option("--dequant-fp8", "dequantize FP8 block-scaled weights to BF16 on the fly, in the same streaming pass")
    .option(THREADS_FLAG, `${THREADS_HELP}; with --dequant-fp8`)
    .option("--strict", "fail, writing nothing, when a layer cannot be fused (default: leave it per expert, as oQ does)")
    .option("--json", "print the plan and the result as JSON")
    .action(async (input: string, output: string, flags: FuseFlags) => {
      const chunk = wholeNumber("chunk", flags.chunk.trim(), 1);
      const target = oneOf<FuseTarget>("target", flags.target, FUSE_TARGETS);
      const engine = oneOf<BackendName>("engine", flags.engine, BACKEND_NAMES);
      const maxShardSize = parseSize(flags.maxShardSize);
      if (flags.threads !== undefined && !flags.dequantFp8)
        throw new UsageError("INVALID_ARGUMENT", "--threads applies to FP8 dequantization: give --dequant-fp8 too");
      const threads = parseThreads(flags.threads);
      const backend = await createBackend(engine);
      const bar = progressBar();
      const started = performance.now();
      let result: FuseResult;
      let dequant: DequantView | undefined;
      try {
        const checkpoint = await resolveCheckpointArg(input);
        const dequantize = (ckpt: Checkpoint) => (dequant = dequantView(ckpt, ckpt.config, { checkpoint, configFile: join(ckpt.dir, CONFIG_FILE), threads }));
        result = await fuseCheckpointDir(checkpoint, output, {
          view: flags.dequantFp8 ? dequantize : undefined,
          strict: flags.strict === true,
          chunk,
          target,
          backend,
          maxShardSize,
          onProgress: bar === undefined ? undefined : (p) => bar.update(p.bytesDone, p.bytesTotal),
        });
      } finally {
        bar?.done();
        await dequant?.close();
        await backend.close();
      }
      const seconds = (performance.now() - started) / 1000;
      for (const w of planWarnings(result.plan)) warn(w);
      if (flags.json) {
        const { plan, ...rest } = result;
        const dequantReport = dequant === undefined ? null : dequantPlanReport(dequant.plan);
        process.stdout.write(`${JSON.stringify({ plan: planReport(plan), dequant: dequantReport, result: { ...rest, engine, chunk } }, null, 2)}\n`);
      } else {
        printText(result, seconds);
      }
    });
}
