// FP8: dequantize-then-fuse equals fuse-then-dequantize, expert by expert. The FP8 bytes fused
// as they are (scales passing through per expert), cut back into each expert's gate, up and
// down and dequantized with that expert's scales, give exactly the dequant+prefuse stage's
// slot of that expert; and the one-pass streaming path (`fuse --dequant-fp8`: a dequantizing
// view under the streaming fuse) writes the same file. Block sizes from 1 to 5 against tiny
// weights make partial edge blocks the rule. (That the kernel agrees with an independent engine,
// onnxruntime's DequantizeLinear, is test/reference/fp8/kernel.property.test.ts; golden FP8 cases
// hold the numpy oracle's bytes.)

import fc from "fast-check";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dequantFp8 } from "../../../src/reference/fp8/dequant.js";
import { dequantView } from "../../../src/reference/fp8/view.js";
import { fuseCheckpoint } from "../../../src/reference/prefuse/fuse-checkpoint.js";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { serializeSafetensors } from "../../../src/reference/safetensors/memory.js";
import { runStage } from "../../../src/reference/stages.js";
import { type TensorMap, bytesEqual } from "../../../src/reference/tensor.js";
import { memoryWeights } from "../../../src/reference/weights.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../../src/fixtures-gen/spec.js";
import { ROWS_FAMILIES, expertCount, tinySpec } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { DOWN, GATE_UP, fusedPrefixOf, perExpertName } from "../../support/moe-names.js";
import { expertSlot } from "../../support/weights.js";
import { tempDir } from "../../support/tmp.js";

const fp8Arb: fc.Arbitrary<FixtureSpec> = fc
  .tuple(
    tinySpec({ families: [...ROWS_FAMILIES, "qwen3_5_moe_fp8"], experts: expertCount(20) }),
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 5 }),
    fc.constantFrom("F32" as const, "BF16" as const),
  )
  .map(([s, bm, bn, scaleDtype]) => ({ ...s, fp8: { blockSize: [bm, bn] as const, scaleDtype } }));

describe("FP8: dequantize then fuse", () => {
  it("property: equals fusing the FP8 bytes and dequantizing each expert with its own scales; the one-pass stream writes the same", async () => {
    const root = tempDir();
    let run = 0;
    await checkProperty({
      name: "fp8-dequant-fuse",
      arbitrary: fp8Arb,
      counterexample: (spec) => specCounterexample("dequant+prefuse", spec),
      predicate: async (spec) => {
        const g = generateCheckpoint(spec);
        const stage = await runStage("dequant+prefuse", g.tensors, g.config);
        const fp8Fused = await prefuse(g.tensors, g.config);
        let layers = 0;
        for (const [name, gateUp] of fp8Fused.weights) {
          if (!name.endsWith(GATE_UP)) continue;
          layers++;
          const p = name.slice(0, -GATE_UP.length);
          // The per-expert layer it was fused from (transformers v5 moves Mixtral-style block_sparse_moe to mlp).
          const source = [p, p.replace(/\.mlp$/, ".block_sparse_moe")].find(
            (q) => fusedPrefixOf(spec.family, q) === p && g.tensors.has(perExpertName(spec.family, q, 0, "up")),
          )!;
          const down = fp8Fused.weights.get(`${p}${DOWN}`)!;
          const [, twoI, H] = gateUp.shape as [number, number, number];
          const I = twoI / 2;
          // Each expert cut back out of the fused FP8 tensors, with its own scale tensors.
          const experts: TensorMap = new Map();
          for (let e = 0; e < gateUp.shape[0]!; e++) {
            const slot = expertSlot(gateUp, e);
            const parts = { gate: slot.subarray(0, I * H), up: slot.subarray(I * H), down: expertSlot(down, e) };
            for (const proj of ["gate", "up", "down"] as const) {
              const w = perExpertName(spec.family, source, e, proj);
              experts.set(w, { dtype: gateUp.dtype, shape: g.tensors.get(w)!.shape, data: parts[proj] });
              experts.set(`${w}_scale_inv`, g.tensors.get(`${w}_scale_inv`)!);
            }
          }
          const dequantized = dequantFp8(experts, g.config).weights;
          const bf16GateUp = stage.weights.get(name)!;
          const bf16Down = stage.weights.get(`${p}${DOWN}`)!;
          for (let e = 0; e < gateUp.shape[0]!; e++) {
            const want = expertSlot(bf16GateUp, e);
            const gate = dequantized.get(perExpertName(spec.family, source, e, "gate"))!.data;
            expect(bytesEqual(want.subarray(0, gate.length), gate), `${name}: expert ${e} gate`).toBe(true);
            expect(bytesEqual(want.subarray(gate.length), dequantized.get(perExpertName(spec.family, source, e, "up"))!.data), `${name}: expert ${e} up`).toBe(
              true,
            );
            expect(bytesEqual(expertSlot(bf16Down, e), dequantized.get(perExpertName(spec.family, source, e, "down"))!.data), `${p}${DOWN}: expert ${e}`).toBe(
              true,
            );
          }
        }
        expect(layers).toBeGreaterThan(0);

        const view = dequantView(memoryWeights(g.tensors), g.config);
        const out = join(root, `out${run++}`);
        await fuseCheckpoint(view, view.config!, out, { metadata: g.metadata, chunk: 1 + (run % 7) });
        expect(bytesEqual(await readFile(join(out, "model.safetensors")), serializeSafetensors(stage.weights, g.metadata)), "one-pass stream").toBe(true);
      },
    });
  });
});
