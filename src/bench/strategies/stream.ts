// `stream`: the reference's disk-to-disk streaming fuse (`fuseCheckpoint`, src/reference/prefuse).
// The per-expert checkpoint is read lazily and the fused tensors are written straight to a new
// checkpoint, a step of experts at a time, through two reused step buffers (one is written
// while the next step is read into the other) and the writer's staging buffer. Nothing grows
// with the layer.
//
// The reference caps a step at a byte budget (4 MiB by default, which is one expert's gate_up
// slice at H 2048 / I 512). Here the budget is lifted to exactly C experts, so that C means
// what it means for the other strategies and the chart shows what the step size costs; the
// reference's default corresponds to C = 4 MiB / (4 I H) at any shape.
//
// The reference allocates internally, so the ledger holds its documented buffers rather than
// observing them: 2 step buffers of C gate_up slices (2eC each) + the 4 MiB stage.

import { fuseCheckpoint } from "../../reference/prefuse/fuse-checkpoint.js";
import { STAGE } from "../../reference/safetensors/writer.js";
import { fusedLayout } from "../layout.js";
import { type FuseProblem, effectiveChunk, projBytes } from "../problem.js";
import type { DiskStrategy } from "./strategy.js";

/** Bytes of one step: C experts' slices of gate_up, the larger fused tensor. */
function stepBytes(p: FuseProblem): number {
  return 2 * projBytes(p.shape) * effectiveChunk(p);
}

export const stream: DiskStrategy = {
  name: "stream",
  summary: "the reference's streaming fuse (fuseCheckpoint), disk to disk, C experts per step through two reused step buffers",
  formula: "4eC + 4 MiB (two step buffers of C experts' gate_up slices + the writer's staging buffer)",
  inputs: "disk",
  chunked: true,
  analyticPeak: (p: FuseProblem) => 2 * stepBytes(p) + STAGE,
  outputLayout: fusedLayout,
  async run({ problem, weights, config, ledger, outDir }) {
    const held = [ledger.reserve(stepBytes(problem), "step buffer"), ledger.reserve(stepBytes(problem), "step buffer"), ledger.reserve(STAGE, "writer stage")];
    await fuseCheckpoint(weights, config, outDir, { chunk: problem.chunk, maxStepBytes: stepBytes(problem) });
    ledger.release(...held);
    return { residency: "disk", dir: outDir };
  },
};
