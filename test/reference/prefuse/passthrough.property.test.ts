// Pass-through: every tensor that is not a per-expert weight of a layer being fused comes out
// under its own name with its dtype, shape and bytes unchanged (embeddings, attention, norms,
// routers, shared experts, vision tower, untouched and already-fused layers alike), and a fused
// layer's per-expert weights leave together: none of them is left behind.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { bytesEqual } from "../../../src/reference/tensor.js";
import { generateCheckpoint } from "../../../src/fixtures-gen/generate.js";
import { anyPrefuseInput, fuseTarget } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample, targetStage } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { DOWN, GATE_UP, parsePerExpert } from "../../support/moe-names.js";

/** Names a prefuse may write: fused pairs and mlx-vlm's switch_mlp stacks. */
const WRITTEN = new RegExp(`(${GATE_UP.replace(/\./g, "\\.")}|${DOWN.replace(/\./g, "\\.")}|\\.switch_mlp\\.(gate|up|down)_proj\\.weight)$`);

describe("pass-through", () => {
  it("property: every tensor outside the fused layers passes through bit for bit; fused layers leave no expert behind", async () => {
    await checkProperty({
      name: "passthrough",
      arbitrary: fc.record({ spec: anyPrefuseInput, target: fuseTarget }),
      counterexample: ({ spec, target }) => specCounterexample(targetStage(target), spec),
      predicate: async ({ spec, target }) => {
        const g = generateCheckpoint(spec);
        const { weights } = await prefuse(g.tensors, g.config, { target });
        const gone = [...g.tensors.keys()].filter((n) => !weights.has(n));
        // What left: per-expert weights (whole layers), or fused pairs converted to switch_mlp.
        const layersGone = new Set<string>();
        for (const n of gone) {
          const layer = parsePerExpert(n)?.prefix;
          if (layer !== undefined) layersGone.add(layer);
          else expect(target === "switch_mlp" && (n.endsWith(GATE_UP) || n.endsWith(DOWN)), `${n} disappeared`).toBe(true);
        }
        for (const n of weights.keys()) {
          const layer = parsePerExpert(n)?.prefix;
          if (layer !== undefined) expect(layersGone.has(layer), `${n} left behind by its fused layer`).toBe(false);
        }
        for (const [n, t] of weights) {
          const before = g.tensors.get(n);
          if (before === undefined) {
            expect(n, "a new tensor").toMatch(WRITTEN);
            continue;
          }
          expect(t.dtype, n).toBe(before.dtype);
          expect(t.shape, n).toEqual(before.shape);
          expect(bytesEqual(t.data, before.data), `${n} bytes`).toBe(true);
        }
      },
    });
  });
});
