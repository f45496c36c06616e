// `moe-prefuse dequant <in> <out>`: FP8 block dequantization of a whole checkpoint, exactly as
// MLX computes it (bf16_rne(f32(fp8) * f32(scale)) per block), streamed tensor by tensor into a
// new checkpoint directory written atomically, its config without quantization_config.

import type { Command } from "commander";
import { DEFAULT_MAX_SHARD_SIZE } from "../../reference/checkpoint-writer.js";
import { dequantCheckpoint } from "../../reference/fp8/checkpoint.js";
import { dequantPlanReport } from "../../reference/fp8/report.js";
import { formatBytes, parseSize } from "../../reference/size.js";
import { resolveCheckpointArg } from "../inputs.js";
import { THREADS_FLAG, THREADS_HELP, parseThreads } from "../threads.js";
import { say } from "../output.js";

export function registerDequant(program: Command): void {
  program
    .command("dequant")
    .description("dequantize every FP8 weight of a checkpoint to BF16 (block scales, as MLX/oQ do) into a new checkpoint")
    .argument("<in>", "a checkpoint directory or a .safetensors file")
    .argument("<out>", "the output directory (must not exist, or be empty)")
    .option("--max-shard-size <size>", "largest output shard (e.g. 5GB, 512MiB)", String(DEFAULT_MAX_SHARD_SIZE))
    .option(THREADS_FLAG, THREADS_HELP)
    .option("--json", "print the plan and the written files as JSON")
    .action(async (input: string, output: string, opts: { maxShardSize: string; threads?: string; json?: boolean }) => {
      const maxShardSize = parseSize(opts.maxShardSize);
      const threads = parseThreads(opts.threads);
      const result = await dequantCheckpoint(await resolveCheckpointArg(input), output, { maxShardSize, threads });
      const { plan } = result;
      if (opts.json) {
        const report = {
          input,
          output,
          ...dequantPlanReport(plan),
          files: result.files,
          totalSize: result.totalSize,
        };
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const lines = [
        `dequantized ${plan.dequantized.length} FP8 weight(s) to BF16${plan.scheme === undefined ? " (no quantization_config)" : ` with ${plan.scheme}`}`,
        `removed ${plan.removedScales.length} weight scale(s), dropped ${plan.droppedActivationScales.length} activation scale(s), copied ${plan.passthrough.length} tensor(s) unchanged`,
        `wrote ${output}: ${result.files.join(", ")} (${formatBytes(result.totalSize)})${result.config === undefined ? ", no config.json (the input has none)" : ", config.json without quantization_config"}`,
      ];
      say(...lines);
    });
}
