// `moe-prefuse dequant` as a library call: open a checkpoint, plan its FP8 dequantization, and
// stream every tensor (dequantized on the fly, or copied) into a new checkpoint directory that
// appears whole or not at all. The input is only read. The kernel runs on a pool of `threads`
// workers (one per core by default), started for the call and ended with it.

import { join } from "node:path";
import { CONFIG_FILE, Checkpoint, type ModelConfig } from "../checkpoint.js";
import { writeCheckpoint } from "../checkpoint-writer.js";
import { checkOutputPath } from "../output-path.js";
import type { KernelStrategy } from "./kernel.js";
import type { DequantPlan } from "./plan.js";
import { checkThreads, defaultThreads } from "./threads.js";
import { dequantView } from "./view.js";

export interface DequantCheckpointOptions {
  /** Split the output into shards of at most this many bytes (default: one file). */
  readonly maxShardSize?: number;
  readonly strategy?: KernelStrategy;
  /** Worker threads for the kernel (default: one per core; 1 runs it in-process). */
  readonly threads?: number;
}

export interface DequantCheckpointResult {
  readonly plan: DequantPlan;
  /** The config written (the input's without quantization_config), or undefined when the input had none. */
  readonly config: ModelConfig | undefined;
  readonly files: readonly string[];
  readonly totalSize: number;
}

export async function dequantCheckpoint(input: string, output: string, options: DequantCheckpointOptions = {}): Promise<DequantCheckpointResult> {
  const threads = checkThreads(options.threads ?? defaultThreads());
  await checkOutputPath(input, output);
  const ckpt = await Checkpoint.open(input);
  try {
    const view = dequantView(ckpt, ckpt.config, { checkpoint: input, configFile: join(ckpt.dir, CONFIG_FILE), strategy: options.strategy, threads });
    try {
      const sources = new Map([...view.specs.keys()].map((name) => [name, view.source(name)] as const));
      const written = await writeCheckpoint(output, sources, { config: view.config, metadata: ckpt.metadata, maxShardSize: options.maxShardSize });
      return { plan: view.plan, config: view.config, ...written };
    } finally {
      await view.close();
    }
  } finally {
    await ckpt.close();
  }
}
