// `moe-prefuse dequant` as a library call: open a checkpoint, plan its FP8 dequantization, and
// stream every tensor (dequantized on the fly, or copied) into a new checkpoint directory that
// appears whole or not at all. The input is only read.

import { join } from "node:path";
import { CONFIG_FILE, Checkpoint, type ModelConfig } from "../checkpoint.js";
import { writeCheckpoint } from "../checkpoint-writer.js";
import { checkOutputPath } from "../output-path.js";
import type { KernelStrategy } from "./kernel.js";
import type { DequantPlan } from "./plan.js";
import { dequantView } from "./view.js";

export interface DequantCheckpointOptions {
  /** Split the output into shards of at most this many bytes (default: one file). */
  readonly maxShardSize?: number;
  readonly strategy?: KernelStrategy;
}

export interface DequantCheckpointResult {
  readonly plan: DequantPlan;
  /** The config written (the input's without quantization_config), or undefined when the input had none. */
  readonly config: ModelConfig | undefined;
  readonly files: readonly string[];
  readonly totalSize: number;
}

export async function dequantCheckpoint(input: string, output: string, options: DequantCheckpointOptions = {}): Promise<DequantCheckpointResult> {
  await checkOutputPath(input, output);
  const ckpt = await Checkpoint.open(input);
  try {
    const view = dequantView(ckpt, ckpt.config, { checkpoint: input, configFile: join(ckpt.dir, CONFIG_FILE), strategy: options.strategy });
    const sources = new Map([...view.specs.keys()].map((name) => [name, view.source(name)] as const));
    const written = await writeCheckpoint(output, sources, { config: view.config, metadata: ckpt.metadata, maxShardSize: options.maxShardSize });
    return { plan: view.plan, config: view.config, ...written };
  } finally {
    await ckpt.close();
  }
}
