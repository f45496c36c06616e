// `stack-concat`: oQ today. Experts are stacked C at a time into chunk tensors, the chunk
// results are kept, and the chunks are concatenated at the end, step for step as the torch
// anchor's `chunked16` does it (so the two languages run the same algorithm side by side):
//   gate_up: per chunk, stack the C gates, stack the C ups, concatenate them per expert (the
//            two stacks are dropped after each chunk, where oQ calls mx.clear_cache()); then
//            one concatenation of all chunks;
//   down:    stack each chunk, then one concatenation of all chunks.
// The final concatenation allocates the output while every chunk is still alive, so the chunk
// size never lowers the peak: 2eE of chunks + 2eE of gate_up output = 4eE, i.e. 4/3 of the
// output (the down phase reaches the same 2eE + eE + eE).

import type { Tensor } from "../../reference/tensor.js";
import { fusedLayout } from "../layout.js";
import type { MemoryLedger } from "../ledger.js";
import { DOWN_NAME, type FuseProblem, GATE_UP_NAME, type Projection, chunkRanges, expertTensorName, projBytes } from "../problem.js";
import { type MemoryStrategy, type MemoryStrategyInput, expertData } from "./strategy.js";

/** torch.stack over experts [start, end) of one projection. */
function stack(tensors: ReadonlyMap<string, Tensor>, ledger: MemoryLedger, start: number, end: number, proj: Projection, label: string): Uint8Array {
  const first = expertData(tensors, expertTensorName(start, proj));
  const out = ledger.alloc(first.length * (end - start), label);
  for (let x = start; x < end; x++) out.set(expertData(tensors, expertTensorName(x, proj)), (x - start) * first.length);
  return out;
}

/** torch.cat along the expert axis. */
function concat(ledger: MemoryLedger, parts: readonly Uint8Array[], label: string): Uint8Array {
  const out = ledger.alloc(
    parts.reduce((a, b) => a + b.length, 0),
    label,
  );
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/** One gate_up chunk [c, 2I, H]: cat([stack(gates), stack(ups)], dim=1). Its stacks die with this frame. */
function gateUpChunk({ problem, tensors, ledger }: MemoryStrategyInput, start: number, end: number): Uint8Array {
  const e = projBytes(problem.shape);
  const gates = stack(tensors, ledger, start, end, "gate_proj", "gate stack");
  const ups = stack(tensors, ledger, start, end, "up_proj", "up stack");
  const chunk = ledger.alloc(2 * e * (end - start), "gate_up chunk");
  for (let j = 0; j < end - start; j++) {
    chunk.set(gates.subarray(j * e, (j + 1) * e), 2 * j * e);
    chunk.set(ups.subarray(j * e, (j + 1) * e), (2 * j + 1) * e);
  }
  ledger.release(gates, ups);
  return chunk;
}

/** The fused gate_up and down tensors, built the oQ way. */
export function fuseByStackConcat(input: MemoryStrategyInput): { gateUp: Uint8Array; down: Uint8Array } {
  const { problem, tensors, ledger } = input;
  const ranges = chunkRanges(problem);

  const gateUpParts: Uint8Array[] = [];
  for (const [start, end] of ranges) {
    gateUpParts.push(gateUpChunk(input, start, end));
    ledger.collect("step");
  }
  const gateUp = concat(ledger, gateUpParts, "gate_up output");
  ledger.release(...gateUpParts.splice(0));
  ledger.collect("phase");

  const downParts = ranges.map(([start, end]) => stack(tensors, ledger, start, end, "down_proj", "down chunk"));
  const down = concat(ledger, downParts, "down output");
  ledger.release(...downParts.splice(0));
  ledger.collect("phase");
  return { gateUp, down };
}

export const stackConcat: MemoryStrategy = {
  name: "stack-concat",
  summary: "oQ today (and the torch anchor's chunked16): stack C experts per chunk, keep the chunks, concatenate them at the end",
  formula: "4eE (chunks 2eE + gate_up output 2eE at the final concat; independent of C)",
  inputs: "memory",
  chunked: true,
  analyticPeak: (p: FuseProblem) => 4 * projBytes(p.shape) * p.experts,
  outputLayout: fusedLayout,
  run(input) {
    const { gateUp, down } = fuseByStackConcat(input);
    return {
      residency: "memory",
      tensors: new Map([
        [GATE_UP_NAME, gateUp],
        [DOWN_NAME, down],
      ]),
    };
  },
};
