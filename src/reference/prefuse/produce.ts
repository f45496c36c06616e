// Producing experts [first, first + count) of a planned output into `out`, through a tensor
// backend. This is the step both executors repeat: the in-memory prefuse writes each step into
// its slice of the preallocated output, the streaming fuse into one reused chunk buffer that is
// then written to disk. `count` is the chunk size (the last chunk may be shorter), so the bytes
// never depend on it.
//
// Inputs come from an ExpertReader. Where an input lands in the output unchanged, it is asked to
// read straight into its output slot (`into`); the memory reader returns its tensor instead, and
// the backend then copies it there.

import type { TensorBackend } from "../ops/backend.js";
import { type Tensor, type TensorSpec, specByteLength } from "../tensor.js";
import type { FusedInput, OutputRecipe } from "./recipes.js";

export interface ExpertReader {
  /** One per-expert tensor, possibly read into `into` (which has its exact byte length). */
  tensor(name: string, spec: TensorSpec, into: Uint8Array): Promise<Tensor>;
  /**
   * Experts [first, first + count) of a tensor whose leading axis is the expert, possibly read
   * into `into`. Calls for one name come in increasing, contiguous order.
   */
  experts(name: string, spec: TensorSpec, first: number, count: number, into: Uint8Array): Promise<Tensor>;
}

/** Reusable work buffers of one producer, by role: memory stays bounded by the largest step. */
export class Scratch {
  private readonly buffers = new Map<string, Uint8Array>();

  get(role: string, bytes: number): Uint8Array {
    let b = this.buffers.get(role);
    if (b === undefined || b.length < bytes) {
      b = new Uint8Array(bytes);
      this.buffers.set(role, b);
    }
    return b.subarray(0, bytes);
  }
}

/** Bytes of one expert's slice of an output (its leading axis is the expert). */
export function sliceBytes(spec: TensorSpec): number {
  const E = spec.shape[0]!;
  return E === 0 ? 0 : specByteLength(spec) / E;
}

const T2 = [1, 0] as const;
const T3 = [0, 2, 1] as const;

const rangeBytes = (input: FusedInput, count: number) => sliceBytes(input.spec) * count;

/** What one executor brings to every step: where inputs come from, the engine, its work buffers. */
export interface Producer {
  readonly io: ExpertReader;
  readonly backend: TensorBackend;
  readonly scratch: Scratch;
}

/** Experts [first, first + count): one step of one output. */
export interface ExpertRange {
  readonly first: number;
  readonly count: number;
}

export async function produceExperts(recipe: OutputRecipe, { first, count }: ExpertRange, out: Uint8Array, { io, backend, scratch }: Producer): Promise<void> {
  const experts = Array.from({ length: count }, (_, i) => first + i);
  switch (recipe.op) {
    case "stack": {
      const { names, spec } = recipe.inputs;
      const b = specByteLength(spec);
      const parts = await Promise.all(experts.map((e, i) => io.tensor(names[e]!, spec, out.subarray(i * b, (i + 1) * b))));
      await backend.stack(parts, out);
      return;
    }
    case "stack-transposed": {
      const { names, spec } = recipe.inputs;
      const b = specByteLength(spec);
      const slots: Tensor[] = [];
      for (const [i, e] of experts.entries()) {
        const t = await io.tensor(names[e]!, spec, scratch.get("in", b));
        slots.push(await backend.transpose(t, T2, out.subarray(i * b, (i + 1) * b)));
      }
      await backend.stack(slots, out);
      return;
    }
    case "concat-rows": {
      const { gate, up } = recipe;
      const gb = specByteLength(gate.spec);
      const eb = gb + specByteLength(up.spec);
      // Reads run concurrently; engine calls one at a time (an ORT session runs one graph at once).
      const pairs = await Promise.all(
        experts.map((e, i) => {
          const slot = out.subarray(i * eb, (i + 1) * eb);
          return Promise.all([io.tensor(gate.names[e]!, gate.spec, slot.subarray(0, gb)), io.tensor(up.names[e]!, up.spec, slot.subarray(gb))]);
        }),
      );
      const slabs: Tensor[] = [];
      for (const [i, pair] of pairs.entries()) slabs.push(await backend.concat(pair, 0, out.subarray(i * eb, (i + 1) * eb)));
      await backend.stack(slabs, out);
      return;
    }
    case "concat-columns": {
      const { gate, up } = recipe;
      const gb = specByteLength(gate.spec);
      const ub = specByteLength(up.spec);
      const slabs: Tensor[] = [];
      for (const [i, e] of experts.entries()) {
        const g = await io.tensor(gate.names[e]!, gate.spec, scratch.get("gate", gb));
        const u = await io.tensor(up.names[e]!, up.spec, scratch.get("up", ub));
        const gt = await backend.transpose(g, T2, scratch.get("gate^T", gb));
        const ut = await backend.transpose(u, T2, scratch.get("up^T", ub));
        slabs.push(await backend.concat([gt, ut], 1, out.subarray(i * (gb + ub), (i + 1) * (gb + ub))));
      }
      await backend.stack(slabs, out);
      return;
    }
    case "split-rows":
    case "split-columns": {
      const { input, half } = recipe;
      const bytes = rangeBytes(input, count);
      const x = await io.experts(input.name, input.spec, first, count, scratch.get("in", bytes));
      const axis = recipe.op === "split-rows" ? 1 : 2;
      const mid = input.spec.shape[axis]! / 2;
      const other = scratch.get("other half", bytes / 2);
      if (recipe.op === "split-rows") {
        await backend.split(x, axis, [mid, mid], half === 0 ? [out, other] : [other, out]);
      } else {
        const mine = scratch.get("half", bytes / 2);
        const pieces = await backend.split(x, axis, [mid, mid], half === 0 ? [mine, other] : [other, mine]);
        await backend.transpose(pieces[half]!, T3, out);
      }
      return;
    }
    case "take-rows": {
      // Byte selection: rows half, half + 2, ... of each expert's slice.
      const { input, half } = recipe;
      const rows = input.spec.shape[1]!;
      const inSlice = sliceBytes(input.spec);
      const rowBytes = inSlice / rows;
      const x = await io.experts(input.name, input.spec, first, count, scratch.get("in", inSlice * count));
      for (let i = 0; i < count; i++) {
        for (let r = 0; r < rows / 2; r++) {
          const from = i * inSlice + (2 * r + half) * rowBytes;
          out.set(x.data.subarray(from, from + rowBytes), (i * (rows / 2) + r) * rowBytes);
        }
      }
      return;
    }
    case "copy": {
      const x = await io.experts(recipe.input.name, recipe.input.spec, first, count, out);
      await backend.concat([x], 0, out);
      return;
    }
    case "transpose": {
      const x = await io.experts(recipe.input.name, recipe.input.spec, first, count, scratch.get("in", rangeBytes(recipe.input, count)));
      await backend.transpose(x, T3, out);
      return;
    }
  }
}
