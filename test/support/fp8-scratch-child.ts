// The kernel memory's scratch in a fresh process (the main thread's scratch not yet taken), one
// small dequantization through a pool; test/reference/fp8/arena.test.ts runs it. Two modes:
// - `reserve <extra> [default]`: a pool of defaultThreads() + extra threads, one run between a
//   step buffer's take and give ("default": the default pool first asked for in the middle of
//   it), the pool closed. Prints the step's offset and the next run's step's (another class): the
//   second at or below the first when nothing the run left behind holds the top up.
// - `many <threads>`: a pool of that many threads (the CLI's --threads). Prints "<memory bytes
//   grown when the pool is made> <whether a 4 MiB piece is in the kernel memory> <workers started>".

import { kernelArena } from "../../src/reference/fp8/arena.js";
import { DequantPool, defaultPool } from "../../src/reference/fp8/pool.js";
import { defaultThreads } from "../../src/reference/fp8/threads.js";
import { dequantView } from "../../src/reference/fp8/view.js";
import { memoryWeights } from "../../src/reference/weights.js";
import { f32, fp8 } from "../reference/fp8/tensors.js";

const MiB = 1 << 20;
const [mode, count, extra] = process.argv.slice(2);
const arena = kernelArena();
const pool = new DequantPool(mode === "many" ? Number(count) : defaultThreads() + Number(count), { minTaskElements: 1 << 16 });

async function dequantize(): Promise<void> {
  const weights = memoryWeights(
    new Map([
      ["a.weight", fp8([512, 1024])],
      ["a.weight_scale_inv", f32([4, 8])],
    ]),
  );
  const view = dequantView(weights, { model_type: "x", quantization_config: { quant_method: "fp8", fmt: "e4m3", weight_block_size: [128, 128] } }, { pool });
  await view.read("a.weight");
  await view.close();
}

if (mode === "many") {
  const grown = arena.memory?.buffer.byteLength;
  const piece = arena.take(4 * MiB);
  const inMemory = arena.offsetOf(piece) !== undefined;
  arena.give(piece);
  await dequantize();
  process.stdout.write(`${grown} ${inMemory} ${pool.started}\n`);
  await pool.close();
} else {
  const step = arena.take(80 * MiB);
  if (extra === "default") defaultPool();
  await dequantize();
  await pool.close();
  arena.give(step);
  const next = arena.take(88 * MiB);
  process.stdout.write(`${arena.offsetOf(step)} ${arena.offsetOf(next)}\n`);
}
process.exit(0);
