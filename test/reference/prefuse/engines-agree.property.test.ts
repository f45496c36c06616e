// The two tensor-op engines agree: the prefuse run on onnxruntime-node graphs (Concat, Split,
// Transpose) writes the same bytes as on typed arrays, for every family, layout, dtype, target
// and chunk size, and so does the switch_mlp conversion of the fused result.

import fc from "fast-check";
import { afterAll, describe, it } from "vitest";
import { createOnnxBackend } from "../../../src/reference/ops/onnx-backend.js";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import { anyPrefuseInput, fuseTarget } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample, targetStage } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { expectSameWeights } from "../../support/weights.js";

const onnx = createOnnxBackend();
afterAll(() => onnx.close());

describe("typed-array and ONNX Runtime engines", () => {
  it("property: both engines write the same bytes, for both targets and from fused input", async () => {
    await checkProperty({
      name: "engines-agree",
      arbitrary: fc.record({ spec: anyPrefuseInput, target: fuseTarget, chunk: fc.integer({ min: 1, max: 20 }) }),
      counterexample: ({ spec, target, chunk }) => specCounterexample(targetStage(target), spec, { chunk, engine: "onnx" }),
      predicate: async ({ spec, target, chunk }) => {
        const g = generateCheckpoint(spec);
        const typed = await prefuse(g.tensors, g.config, { target, chunk });
        expectSameWeights((await prefuse(g.tensors, g.config, { target, chunk, backend: onnx })).weights, typed.weights, `${target} on ONNX Runtime`);
        if (target === "fused") {
          const converted = await prefuse(typed.weights, g.config, { target: "switch_mlp", chunk });
          expectSameWeights(
            (await prefuse(typed.weights, g.config, { target: "switch_mlp", chunk, backend: onnx })).weights,
            converted.weights,
            "switch_mlp from fused on ONNX Runtime",
          );
        }
      },
    });
  });
});
