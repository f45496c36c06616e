// One in-memory fuse of one MoE layer in a fresh process: builds the per-expert weights (not
// timed), then times `prefuse` and reports the peak RSS it added. Prints one JSON line.
// Usage: tsx bench/support/fuse-memory-child.ts E I H CHUNK

import { randomFillSync } from "node:crypto";
import { prefuse } from "../../src/reference/prefuse/prefuse.js";
import type { TensorMap } from "../../src/reference/tensor.js";

const [E, I, H, chunk] = process.argv.slice(2).map(Number) as [number, number, number, number];
const prefix = "model.layers.0.mlp";
const weights: TensorMap = new Map();
for (let e = 0; e < E; e++) {
  for (const [proj, shape] of [
    ["gate_proj", [I, H]],
    ["up_proj", [I, H]],
    ["down_proj", [H, I]],
  ] as const) {
    weights.set(`${prefix}.experts.${e}.${proj}.weight`, { dtype: "BF16", shape, data: randomFillSync(new Uint8Array(I * H * 2)) });
  }
}
const baseKiB = process.resourceUsage().maxRSS;
const t0 = performance.now();
const { weights: out, plan } = await prefuse(weights, { model_type: "qwen3_5_moe", num_experts: E }, { chunk });
const fuseSeconds = (performance.now() - t0) / 1000;
const peakKiB = process.resourceUsage().maxRSS;

// Spot checks: the last expert's up rows and the first expert's down.
const gateUp = out.get(`${prefix}.experts.gate_up_proj`)!;
const down = out.get(`${prefix}.experts.down_proj`)!;
const slab = 2 * I * H * 2;
const lastUp = gateUp.data.subarray((E - 1) * slab + I * H * 2, E * slab);
const ok =
  plan.layers[0]?.state === "fused" &&
  Buffer.from(lastUp).equals(weights.get(`${prefix}.experts.${E - 1}.up_proj.weight`)!.data) &&
  Buffer.from(down.data.subarray(0, I * H * 2)).equals(weights.get(`${prefix}.experts.0.down_proj.weight`)!.data);
console.log(JSON.stringify({ fuseSeconds, baseKiB, peakKiB, outBytes: gateUp.data.length + down.data.length, ok }));
