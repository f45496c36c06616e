// Checks a strategy's output byte for byte against its inputs, expert slice by expert slice,
// whether the output is held in memory or was written to disk. A benchmark of a wrong fuse is
// worthless, so every measured point is verified after its first run.

import { Checkpoint } from "../reference/checkpoint.js";
import { MoePrefuseError } from "../reference/errors.js";
import { bytesEqual, formatSpec, sameSpec } from "../reference/tensor.js";
import type { WeightSource } from "../reference/weights.js";
import type { OutputTensor } from "./layout.js";
import { BENCH_DTYPE, type FuseProblem, projBytes } from "./problem.js";
import type { StrategyOutput } from "./strategies/strategy.js";

/** A strategy's output that is not the fuse of its inputs: the measurement is discarded. */
export class BenchVerificationError extends MoePrefuseError<"BENCH_OUTPUT_MISMATCH"> {
  override readonly name = "BenchVerificationError";
}

function mismatch(t: OutputTensor, detail: string): BenchVerificationError {
  return new BenchVerificationError("BENCH_OUTPUT_MISMATCH", detail, { tensor: t.name });
}

export async function verifyOutput(layout: readonly OutputTensor[], problem: FuseProblem, output: StrategyOutput, weights: WeightSource): Promise<void> {
  const e = projBytes(problem.shape);
  const expected = new Uint8Array(e);
  const got = new Uint8Array(e);
  const names = new Set(layout.map((t) => t.name));
  const inMemory = output.residency === "memory" ? output.tensors : undefined;
  const ckpt = output.residency === "disk" ? await Checkpoint.open(output.dir) : undefined;
  try {
    const produced = [...(ckpt?.tensors ?? inMemory!).keys()];
    const extra = produced.filter((n) => !names.has(n));
    if (extra.length > 0 || produced.length !== names.size) {
      throw new BenchVerificationError("BENCH_OUTPUT_MISMATCH", `output holds [${produced.join(", ")}], expected [${[...names].join(", ")}]`);
    }
    for (const t of layout) {
      let read: (offset: number) => Promise<Uint8Array>;
      if (ckpt) {
        const entry = ckpt.get(t.name);
        const spec = { dtype: BENCH_DTYPE, shape: t.shape };
        if (!sameSpec(entry, spec)) throw mismatch(t, `is ${formatSpec(entry)}, expected ${formatSpec(spec)}`);
        read = async (offset) => {
          await entry.file.readInto(t.name, got, 0, offset, e);
          return got;
        };
      } else {
        const buf = inMemory!.get(t.name)!;
        if (buf.length !== t.byteLength) throw mismatch(t, `has ${buf.length} bytes, expected ${t.byteLength}`);
        read = async (offset) => buf.subarray(offset, offset + e);
      }
      for (const pl of t.placements) {
        await weights.readInto(pl.source, expected, 0);
        if (!bytesEqual(await read(pl.offset), expected)) throw mismatch(t, `bytes at ${pl.offset} differ from '${pl.source}' (expert ${pl.expert})`);
      }
    }
  } finally {
    await ckpt?.close();
  }
}
