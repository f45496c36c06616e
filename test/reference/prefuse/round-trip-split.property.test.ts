// Round-trip split invariance (oQ's test plan, property 1 of the issue): splitting every fused
// gate_up_proj in two along axis -2, as `mx.split(fused, 2, axis=-2)` does in mlx-vlm (for the
// transposed families: along the last axis, then transpose(0, 2, 1)), gives back each expert's
// gate and up bytes, and down_proj[e] is expert e's down. The split runs on onnxruntime-node,
// not on the reference's tensor ops. The switch_mlp target must equal that same split.

import { afterAll, describe, expect, it } from "vitest";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import { tinySpec, withVariant } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { DOWN, GATE_UP, fusedPrefixOf, perExpertName, storedTransposed, switchName } from "../../support/moe-names.js";
import { OrtSplit } from "../../support/ort-split.js";
import { expectSameBytes, expertSlot } from "../../support/weights.js";

const ort = new OrtSplit();
afterAll(() => ort.close());

describe("round-trip split invariance", () => {
  it("property: ONNX Runtime's split of every fused gate_up gives back each expert's gate and up; down[e] is expert e's; switch_mlp equals that split", async () => {
    await checkProperty({
      name: "round-trip-split",
      arbitrary: withVariant(tinySpec({ dtypes: true }), ["none", "none", "partial", "fused-layer"]),
      counterexample: (spec) => specCounterexample("prefuse", spec),
      predicate: async (spec) => {
        const g = generateCheckpoint(spec);
        const fused = await prefuse(g.tensors, g.config);
        const switched = (await prefuse(g.tensors, g.config, { target: "switch_mlp" })).weights;
        const columns = storedTransposed(spec.family);
        let layers = 0;
        for (const [name, gateUp] of fused.weights) {
          if (!name.endsWith(GATE_UP)) continue;
          layers++;
          const p = name.slice(0, -GATE_UP.length);
          const down = fused.weights.get(`${p}${DOWN}`)!;
          const [gate, up] = await ort.halves(gateUp, columns);
          const downRows = columns ? await ort.swapLast(down) : down;
          // The per-expert layer it was fused from (Mixtral's lived under block_sparse_moe), if any.
          const source = [p, p.replace(/\.mlp$/, ".block_sparse_moe")].find(
            (q) => g.tensors.has(perExpertName(spec.family, q, 0, "gate")) && fusedPrefixOf(spec.family, q) === p,
          );
          if (source !== undefined) {
            for (let e = 0; e < gateUp.shape[0]!; e++) {
              expectSameBytes(expertSlot(gate, e), g.tensors.get(perExpertName(spec.family, source, e, "gate"))!.data, `${name} gate half of expert ${e}`);
              expectSameBytes(expertSlot(up, e), g.tensors.get(perExpertName(spec.family, source, e, "up"))!.data, `${name} up half of expert ${e}`);
              expectSameBytes(expertSlot(downRows, e), g.tensors.get(perExpertName(spec.family, source, e, "down"))!.data, `${p}${DOWN} of expert ${e}`);
            }
          }
          const s = source ?? p;
          for (const [projection, want] of [
            ["gate", gate],
            ["up", up],
            ["down", downRows],
          ] as const) {
            const n = switchName(s, projection, spec.family)!;
            expectSameBytes(switched.get(n)?.data, want.data, n);
          }
        }
        // Every layer that is not left untouched went through the split.
        expect(layers).toBe(fused.plan.layers.filter((l) => l.state !== "untouched").length);
      },
    });
  });
});
