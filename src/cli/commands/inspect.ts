// `moe-prefuse inspect <checkpoint>`: every tensor's name, dtype, shape and size, read from the
// headers alone (no tensor data is touched, so it answers at once on any size of checkpoint).

import type { Command } from "commander";
import { join, relative } from "node:path";
import { CONFIG_FILE, Checkpoint } from "../../reference/checkpoint.js";
import { planPrefuse } from "../../reference/prefuse/plan.js";
import { type MoeView, describeExpertCount, describeLayout, moeView } from "../../reference/prefuse/report.js";
import { formatBytes } from "../../reference/size.js";
import { resolveCheckpointArg } from "../inputs.js";
import { asLines, prettyJson, writeOutput } from "../output.js";
import { tableLines } from "../table.js";

export interface InspectReport {
  readonly checkpoint: string;
  readonly files: readonly string[];
  /** null when absent, so that --json always has the same keys. */
  readonly metadata: Readonly<Record<string, string>> | null;
  readonly modelType: string | null;
  readonly totalBytes: number;
  readonly tensors: readonly { name: string; dtype: string; shape: readonly number[]; bytes: number; file: string }[];
  /** MoE layers by prefix (null without config.json, which holds the expert count). */
  readonly moe: MoeView | null;
}

export async function inspectCheckpoint(path: string): Promise<InspectReport> {
  const ckpt = await Checkpoint.open(path);
  try {
    const fileNames = new Map(ckpt.files.map((f) => [f, relative(ckpt.dir, f.path)]));
    const tensors = [...ckpt.tensors.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.byteLength, file: fileNames.get(t.file)! }));
    const modelType = ckpt.config?.model_type;
    return {
      checkpoint: path,
      files: [...fileNames.values()],
      metadata: ckpt.metadata ?? null,
      modelType: typeof modelType === "string" ? modelType : null,
      totalBytes: tensors.reduce((a, t) => a + t.bytes, 0),
      tensors,
      moe: ckpt.config === undefined ? null : moeView(planPrefuse(ckpt.specs, ckpt.config, { configFile: join(ckpt.dir, CONFIG_FILE) })),
    };
  } finally {
    await ckpt.close();
  }
}

function moeLines(moe: MoeView | null): string[] {
  if (moe === null) return ["MoE: no config.json, so no expert count"];
  const head = `MoE: ${describeLayout(moe)}, ${describeExpertCount(moe.expertCount)}`;
  if (moe.layers.length === 0) return [head, "no MoE expert tensors"];
  return [
    head,
    ...moe.warnings.map((w) => `warning: ${w}`),
    "state: what `fuse` (fused target) would do with each layer",
    ...tableLines(
      ["LAYER", "STATE", "CODE", "EXPERTS", "DETAIL"],
      moe.layers.map((l) => [l.prefix, l.state, l.code, String(l.experts), l.detail]),
    ),
  ];
}

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("list every tensor of a checkpoint (name, dtype, shape, bytes) from its headers")
    .argument("<checkpoint>", "a checkpoint directory or a .safetensors file")
    .option("--json", "print the report as JSON")
    .action(async (arg: string, opts: { json?: boolean }) => {
      const report = await inspectCheckpoint(await resolveCheckpointArg(arg));
      if (opts.json) {
        await writeOutput(prettyJson(report));
        await writeOutput(["\n"]);
        return;
      }
      const out = [
        `checkpoint ${report.checkpoint}: ${report.tensors.length} tensors, ${formatBytes(report.totalBytes)} in ${report.files.length} file(s)` +
          (report.modelType ? `, model_type ${report.modelType}` : ""),
        ...tableLines(
          ["NAME", "DTYPE", "SHAPE", "BYTES"],
          report.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(", ")}]`, String(t.bytes)]),
        ),
        ...moeLines(report.moe),
      ];
      await writeOutput(asLines(out));
    });
}
