// `stream`: the disk-to-disk streaming fuse. The per-expert checkpoint is read lazily and the
// fused tensors are written straight to a new checkpoint through writeCheckpoint: each fused
// tensor is a TensorSource that fills one reused buffer with the next C experts' slices (every
// expert's slice of a fused tensor is contiguous) and yields it. Nothing grows with the layer:
// the peak is the buffer, C experts of gate_up (2eC), plus the writer's staging buffer.
//
// Stand-in: the reference prefuse (issue 3) will export its own streaming fuse over a
// WeightSource; this strategy should then call it instead of this minimal copy of the idea.

import { writeCheckpoint } from "../../reference/checkpoint-writer.js";
import type { TensorSource } from "../../reference/safetensors/source.js";
import { STAGE } from "../../reference/safetensors/writer.js";
import { fusedLayout, placementsFor } from "../layout.js";
import { BENCH_DTYPE, type FuseProblem, chunkRanges, effectiveChunk, projBytes } from "../problem.js";
import type { DiskStrategy } from "./strategy.js";

export const stream: DiskStrategy = {
  name: "stream",
  summary: "disk to disk: read C experts at a time into one reused buffer and stream the fused tensors to a new checkpoint",
  formula: "2eC + 4 MiB (one buffer of C experts' gate_up slices + the writer's staging buffer)",
  inputs: "disk",
  chunked: true,
  analyticPeak: (p: FuseProblem) => 2 * projBytes(p.shape) * effectiveChunk(p) + STAGE,
  outputLayout: fusedLayout,
  async run({ problem, weights, ledger, outDir }) {
    const buffer = ledger.alloc(2 * projBytes(problem.shape) * effectiveChunk(problem), "stream buffer");
    const stage = ledger.reserve(STAGE, "writer stage");
    const sources = new Map<string, TensorSource>();
    for (const t of fusedLayout(problem)) {
      sources.set(t.name, {
        dtype: BENCH_DTYPE,
        shape: t.shape,
        byteLength: t.byteLength,
        async *chunks() {
          for (const [start, end] of chunkRanges(problem)) {
            const slice = placementsFor(t, start, end);
            const base = slice[0]!.offset;
            for (const pl of slice) await weights.readInto(pl.source, buffer, pl.offset - base);
            yield buffer.subarray(0, (end - start) * t.perExpert * projBytes(problem.shape));
          }
        },
      });
    }
    await writeCheckpoint(outDir, sources);
    ledger.release(buffer, stage);
    return { residency: "disk", dir: outDir };
  },
};
