// A small FP8 dequantization in a fresh process, through the default pool and the WebAssembly
// kernel (the pipeline's path): prints "ok <first bf16 bits>" or lets the error out (exit 1).
// test/reference/fp8/arena.test.ts runs it under a data-segment limit (ulimit -d).

import { dequantView } from "../../src/reference/fp8/view.js";
import { memoryWeights } from "../../src/reference/weights.js";
import { f32, fp8 } from "../reference/fp8/tensors.js";

const weights = memoryWeights(
  new Map([
    ["a.weight", fp8([512, 1024])],
    ["a.weight_scale_inv", f32([4, 8])],
  ]),
);
const view = dequantView(weights, { model_type: "x", quantization_config: { quant_method: "fp8", fmt: "e4m3", weight_block_size: [128, 128] } });
const t = await view.read("a.weight");
await view.close();
process.stdout.write(`ok ${new Uint16Array(t.data.slice(0, 2).buffer)[0]}\n`);
process.exit(0);
