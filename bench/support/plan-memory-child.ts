// One way of prefusing a whole checkpoint, in a fresh process whose peak RSS the parent reads
// (bench/plan-memory.ts). Every mode imports the same modules and opens the checkpoint's headers,
// so `idle` is the baseline the others are measured against.
//   idle      open the checkpoint, close it
//   oq-eager  oQ's path: every tensor read into memory, then per fused layer the benchmark's
//             stack-concat (src/bench/strategies/stack-concat.ts), its output replacing the
//             layer's per-expert tensors in the weight dict
//   prealloc  the same weight dict, each layer fused by the benchmark's prealloc
//   stream    `moe-prefuse fuse` (fuseCheckpointDir) to <out>; of an FP8 checkpoint, through the
//             dequantizing view, as `fuse --dequant-fp8 --threads 1` (one thread: a worker started
//             here would load tsx too, so it would not weigh what the built CLI's workers weigh;
//             the plan's term for those, DEQUANT_WORKER_BYTES, is measured on the built CLI)
// Usage: node --expose-gc --import tsx bench/support/plan-memory-child.ts MODE DIR CHUNK OUT

import { collectGarbage, MemoryLedger } from "../../src/bench/ledger.js";
import { type Projection, expertTensorName } from "../../src/bench/problem.js";
import { prealloc } from "../../src/bench/strategies/prealloc.js";
import { stackConcat } from "../../src/bench/strategies/stack-concat.js";
import type { MemoryStrategy } from "../../src/bench/strategies/strategy.js";
import { Checkpoint } from "../../src/reference/checkpoint.js";
import { isFp8Weight } from "../../src/reference/fp8/formats.js";
import { type DequantView, dequantView } from "../../src/reference/fp8/view.js";
import { fuseCheckpointDir } from "../../src/reference/prefuse/fuse-checkpoint.js";
import { planPrefuse } from "../../src/reference/prefuse/plan.js";
import type { OutputRecipe } from "../../src/reference/prefuse/recipes.js";
import type { Tensor } from "../../src/reference/tensor.js";

const [mode, dir, chunkText, out] = process.argv.slice(2) as [string, string, string, string];
const chunk = Number(chunkText);

/** Per-expert names of a fused layer's gate, up and down, from its planned recipes. */
function layerSeries(recipes: readonly OutputRecipe[]): Record<Projection, readonly string[]> {
  const gateUp = recipes.find((r) => r.op === "concat-rows");
  const down = recipes.find((r) => r.op === "stack");
  if (gateUp?.op !== "concat-rows" || down?.op !== "stack")
    throw new Error("the synthetic checkpoint should fuse as rows (gate_up [E, 2I, H], down [E, H, I])");
  return { gate_proj: gateUp.gate.names, up_proj: gateUp.up.names, down_proj: down.inputs.names };
}

async function eager(ckpt: Checkpoint, strategy: MemoryStrategy): Promise<void> {
  const config = ckpt.config!;
  const weights = new Map<string, Tensor>();
  for (const name of ckpt.tensors.keys()) weights.set(name, await ckpt.read(name));
  collectGarbage();
  const plan = planPrefuse(ckpt.specs, config, { target: "fused" });
  for (const layer of plan.layers) {
    if (layer.state !== "fused") continue;
    const outputs = plan.outputs.filter((o) => o.layer === layer.prefix);
    const series = layerSeries(outputs.map((o) => o.recipe));
    const [I, H] = ckpt.specs.get(series.gate_proj[0]!)!.shape as [number, number];
    // The layer under the benchmark's names: the same buffers, not copies.
    const tensors = new Map<string, Tensor>();
    for (const p of ["gate_proj", "up_proj", "down_proj"] as const) {
      for (const [x, name] of series[p].entries()) tensors.set(expertTensorName(x, p), weights.get(name)!);
    }
    const problem = { shape: { name: layer.prefix, hidden: H, intermediate: I }, experts: series.gate_proj.length, chunk };
    const result = strategy.run({ problem, tensors, ledger: new MemoryLedger() });
    tensors.clear();
    // oQ writes the fused tensors back into the dict and drops the per-expert ones.
    for (const name of layer.consumed) weights.delete(name);
    const fused = [...result.tensors.values()];
    for (const [k, o] of outputs.entries()) weights.set(o.name, { dtype: o.dtype, shape: o.shape, data: fused[k]! });
    collectGarbage();
  }
}

/** The fuse, as the CLI runs it: through the dequantizing view when the checkpoint has FP8 weights. */
async function stream(ckpt: Checkpoint): Promise<void> {
  if (![...ckpt.specs.values()].some((spec) => isFp8Weight(spec.dtype))) {
    await fuseCheckpointDir(dir, out, { chunk });
    return;
  }
  let view: DequantView | undefined;
  try {
    await fuseCheckpointDir(dir, out, { chunk, view: (c) => (view = dequantView(c, c.config, { threads: 1 })) });
  } finally {
    await view?.close();
  }
}

const ckpt = await Checkpoint.open(dir);
try {
  if (mode === "oq-eager") await eager(ckpt, stackConcat);
  else if (mode === "prealloc") await eager(ckpt, prealloc);
  else if (mode === "stream") await stream(ckpt);
  else if (mode !== "idle") throw new Error(`unknown mode ${mode}`);
} finally {
  await ckpt.close();
}
