// `prealloc`: allocate the fused tensors once, then copy every expert straight into its slice
// (the torch anchor's `prealloc`). Nothing but the output is ever allocated: the peak is the
// output itself, 3eE, whatever the chunk size.

import { fusedLayout, placementsFor } from "../layout.js";
import { type FuseProblem, outputBytes } from "../problem.js";
import { type MemoryStrategy, expertData } from "./strategy.js";

export const prealloc: MemoryStrategy = {
  name: "prealloc",
  summary: "allocate the fused tensors once, copy each expert into its slice (torch anchor's prealloc)",
  formula: "3eE (the output; independent of C)",
  inputs: "memory",
  chunked: false,
  analyticPeak: (p: FuseProblem) => outputBytes(p),
  outputLayout: fusedLayout,
  run({ problem, tensors, ledger }) {
    const layout = fusedLayout(problem);
    const fused = new Map(layout.map((t) => [t.name, ledger.alloc(t.byteLength, t.name.slice(t.name.lastIndexOf(".") + 1))] as const));
    // Expert by expert (gate, up, down of one expert, then the next), as the anchor loops.
    for (let x = 0; x < problem.experts; x++) {
      for (const t of layout) {
        const out = fused.get(t.name)!;
        for (const pl of placementsFor(t, x, x + 1)) out.set(expertData(tensors, pl.source), pl.offset);
      }
    }
    return { residency: "memory", tensors: fused };
  },
};
