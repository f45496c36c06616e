// The layer rules as properties over their whole space, each checked against an independent
// statement (test/support/oracle.ts builds fused tensors element by element from the definitions):
// - every layout of the registry reads its family's per-expert names and writes gate before up
//   in its family's orientation (rows: gate_up [E, 2I, H], down [E, H, I]; columns: gate_up
//   [E, H, 2I], down [E, I, H]), and its switch_mlp stacks, for any E, I, H, chunk and
//   byte-aligned dtype, in memory and streamed (names and orientations stated below, not read
//   from the registry);
// - the switch_mlp target stacks every `.scales` and `.biases` companion in expert order, and
//   only those (other companions pass through per expert);
// - a layer is fused only when all its weights share one dtype, compared by name: a BF16 expert
//   in an F16 layer (same width) blocks it like an F32 one, and the odd tensors out are named.

import fc from "fast-check";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DType } from "../../../src/reference/dtypes.js";
import {
  DEFAULT_LAYOUT,
  EXPERT_LAYOUTS,
  type ExpertLayout,
  FUSE_TARGETS,
  type FuseTarget,
  PROJECTIONS,
  fusedNames,
  switchName,
} from "../../../src/reference/prefuse/layouts.js";
import { fuseCheckpoint } from "../../../src/reference/prefuse/fuse-checkpoint.js";
import { planPrefuse } from "../../../src/reference/prefuse/plan.js";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { serializeSafetensors } from "../../../src/reference/safetensors/memory.js";
import { type Tensor, type TensorMap, bytesEqual } from "../../../src/reference/tensor.js";
import { memoryWeights } from "../../../src/reference/weights.js";
import { expertName, tensor } from "../../support/moe.js";
import { oracleGateUpColumns, oracleGateUpRows, oracleStack } from "../../support/oracle.js";
import { targetStage } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { tempDir } from "../../support/tmp.js";

/**
 * The layouts whose per-expert gate, up and down this prefuse fuses: every registry entry stored
 * per expert or as a gated fused pair. Interleaved (gpt_oss), non-gated (nemotron_h) and stacked
 * under other names (granitemoe, jetmoe, dbrx, step3p5) have no gate/up order to state; their
 * conversions and states are held to the loaders by families.property.test.ts.
 */
const LAYOUTS: readonly ExpertLayout[] = [DEFAULT_LAYOUT, ...EXPERT_LAYOUTS.filter((l) => l.storage === "per-expert" || l.storage === "fused")];

const GATED = ["gate_proj", "up_proj", "down_proj"] as const;
const W1_W3_W2 = ["w1", "w3", "w2"] as const;

/**
 * What each layout must be, stated here independently of the registry (so a swapped name or
 * orientation in the registry is seen): per-expert names of gate, up, down, and whether fused
 * tensors are stored transposed. Sources: mlx-lm models/{mixtral,phimoe,minimax,kimi_linear,
 * lfm2_moe}.py (w1 gate, w3 up, w2 down; arctic's HF modeling_arctic.py the same), transformers
 * models/qwen3_vl_moe and models/llama4 (fused experts [E, H, 2I]); every other family names its
 * experts gate_proj / up_proj / down_proj and stores fused pairs as rows [E, 2I, H].
 */
const EXPECTED: Readonly<Record<string, { readonly names: readonly [string, string, string]; readonly columns: boolean }>> = {
  default: { names: GATED, columns: false },
  ...Object.fromEntries(["mixtral", "phimoe", "minimax", "kimi_linear", "lfm2_moe", "arctic"].map((n) => [n, { names: W1_W3_W2, columns: false }])),
  ...Object.fromEntries(["qwen3_vl_moe", "llama4"].map((n) => [n, { names: GATED, columns: true }])),
  ...Object.fromEntries(
    [
      "qwen2_moe",
      "olmoe",
      "hunyuan_v1_moe",
      "bailing_moe",
      "deepseek_v2",
      "deepseek_v3",
      "glm4_moe",
      "glm4v_moe",
      "qwen3_moe",
      "qwen3_next",
      "ernie4_5_moe",
      "dots1",
      "afmoe",
      "qwen3_5_moe",
      "qwen3_omni_moe",
      "gemma4",
    ].map((n) => [n, { names: GATED, columns: false }]),
  ),
};

const expectedOf = (l: ExpertLayout) => {
  const x = EXPECTED[l.name];
  if (x === undefined) throw new Error(`layout ${l.name} has no expected names and orientation in this test: add them (from the family's loader source)`);
  return x;
};
const nameOf = (l: ExpertLayout, p: "gate" | "up" | "down") => expectedOf(l).names[PROJECTIONS.indexOf(p)]!;

/** The layer prefix a layout's checkpoints use (mixtral's container is renamed when fused). */
const prefixOf = (l: ExpertLayout) => (l.fusedContainer === undefined ? "model.layers.0.mlp" : `model.layers.0.${l.fusedContainer.from}`);
const configOf = (l: ExpertLayout, E: number) => ({ model_type: l.modelTypes[0] ?? "some_new_moe", num_experts: E });

function expectSame(what: string, a: Tensor | undefined, b: Tensor): void {
  expect(a, `${what} missing`).toBeDefined();
  expect([a!.dtype, a!.shape], what).toEqual([b.dtype, b.shape]);
  expect(bytesEqual(a!.data, b.data), `${what}: bytes differ from the oracle`).toBe(true);
}

interface LayerCase {
  readonly layout: ExpertLayout;
  readonly target: FuseTarget;
  readonly E: number;
  readonly I: number;
  readonly H: number;
  readonly chunk: number;
  readonly dtype: DType;
}

const layerCase: fc.Arbitrary<LayerCase> = fc.record({
  layout: fc.constantFrom(...LAYOUTS),
  target: fc.constantFrom(...FUSE_TARGETS),
  E: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 9, max: 20 })),
  // I != H most of the time, so a transposed or swapped axis changes the shape or the bytes.
  I: fc.integer({ min: 1, max: 4 }),
  H: fc.integer({ min: 1, max: 5 }),
  chunk: fc.integer({ min: 1, max: 17 }),
  dtype: fc.constantFrom<DType>("BF16", "F16", "F32", "F8_E4M3", "U8", "I64"),
});

function perExpert(c: LayerCase, companions: readonly string[] = []): TensorMap {
  const w: TensorMap = new Map();
  const prefix = prefixOf(c.layout);
  for (let e = 0; e < c.E; e++) {
    for (const p of PROJECTIONS) {
      const name = expertName(prefix, e, nameOf(c.layout, p));
      const shape = p === "down" ? [c.H, c.I] : [c.I, c.H];
      w.set(name, tensor(name, c.dtype, shape));
      for (const kind of companions) {
        const n = expertName(prefix, e, nameOf(c.layout, p), kind);
        w.set(n, tensor(n, "BF16", [shape[0]!, 1]));
      }
    }
  }
  return w;
}

const seriesOf = (w: TensorMap, c: LayerCase, p: "gate" | "up" | "down", kind = "weight") =>
  Array.from({ length: c.E }, (_, e) => w.get(expertName(prefixOf(c.layout), e, nameOf(c.layout, p), kind))!);

describe("layer rules (properties)", () => {
  it("every registry layout has its independent expectation here", () => {
    for (const l of LAYOUTS) expect(() => expectedOf(l), l.name).not.toThrow();
  });

  it("every layout: gate before up, in its orientation, and the switch_mlp stacks, equal the element-wise oracle (in memory and streamed)", async () => {
    const root = tempDir();
    let run = 0;
    await checkProperty({
      name: "layout-oracle",
      arbitrary: layerCase,
      counterexample: (c) => ({
        stage: targetStage(c.target),
        config: configOf(c.layout, c.E),
        tensors: perExpert(c),
        params: { layout: c.layout.name, target: c.target, chunk: c.chunk },
      }),
      predicate: async (c) => {
        const w = perExpert(c);
        const { weights, plan } = await prefuse(w, configOf(c.layout, c.E), { target: c.target, chunk: c.chunk });
        expect(plan.layout).toBe(c.layout.name);
        expect(plan.layers.map((l) => l.state)).toEqual(["fused"]);
        const prefix = prefixOf(c.layout);
        const [gate, up, down] = [seriesOf(w, c, "gate"), seriesOf(w, c, "up"), seriesOf(w, c, "down")];
        if (c.target === "fused") {
          const names = fusedNames(c.layout, prefix);
          const columns = expectedOf(c.layout).columns;
          expectSame(names.gateUp, weights.get(names.gateUp), columns ? oracleGateUpColumns(gate, up, c.I, c.H) : oracleGateUpRows(gate, up, c.I, c.H));
          expectSame(names.down, weights.get(names.down), oracleStack(down, columns));
        } else {
          for (const [p, xs] of [
            ["gate", gate],
            ["up", up],
            ["down", down],
          ] as const)
            expectSame(switchName(c.layout, prefix, p), weights.get(switchName(c.layout, prefix, p)), oracleStack(xs));
        }
        // The streaming fuse (reads into reused buffers, chunk by chunk) writes the same bytes.
        const out = join(root, `out${run++}`);
        await fuseCheckpoint(memoryWeights(w), configOf(c.layout, c.E), out, { target: c.target, chunk: c.chunk });
        const written = await readFile(join(out, "model.safetensors"));
        await rm(out, { recursive: true });
        expect(bytesEqual(written, serializeSafetensors(weights)), "streamed output").toBe(true);
      },
    });
  });

  it("switch_mlp stacks each .scales and .biases series in expert order, and passes other companions through per expert", async () => {
    const arb = fc.record({
      c: layerCase.map((c) => ({ ...c, target: "switch_mlp" as const, dtype: "U32" as const })),
      companions: fc.subarray(["scales", "biases", "input_scale"]),
    });
    await checkProperty({
      name: "switch-mlp-companions",
      arbitrary: arb,
      counterexample: ({ c, companions }) => ({
        stage: "switch_mlp",
        config: configOf(c.layout, c.E),
        tensors: perExpert(c, companions),
        params: { layout: c.layout.name, chunk: c.chunk, companions },
      }),
      predicate: async ({ c, companions }) => {
        const w = perExpert(c, companions);
        const { weights, plan } = await prefuse(w, configOf(c.layout, c.E), { target: "switch_mlp", chunk: c.chunk });
        expect(plan.layers.map((l) => l.state)).toEqual(["fused"]);
        const prefix = prefixOf(c.layout);
        for (const kind of ["weight", ...companions]) {
          for (const p of PROJECTIONS) {
            const stacked = weights.get(switchName(c.layout, prefix, p, kind));
            const inputs = seriesOf(w, c, p, kind);
            if (kind === "input_scale") {
              expect(stacked, `${kind} is not stacked`).toBeUndefined();
              for (let e = 0; e < c.E; e++) expectSame(`passthrough ${kind} ${e}`, weights.get(expertName(prefix, e, nameOf(c.layout, p), kind)), inputs[e]!);
            } else {
              expectSame(`${p} ${kind}`, stacked, oracleStack(inputs));
              for (let e = 0; e < c.E; e++) expect(weights.has(expertName(prefix, e, nameOf(c.layout, p), kind)), `per-expert ${kind} left behind`).toBe(false);
            }
          }
        }
      },
    });
  });

  it("one dtype per layer, by name: any mix (same-width pairs BF16/F16, F8_E4M3/F8_E5M2, I32/F32 included) leaves it untouched, naming exactly the odd tensors", async () => {
    const PAIRS: readonly (readonly [DType, DType])[] = [
      ["BF16", "F16"],
      ["F16", "BF16"],
      ["F8_E4M3", "F8_E5M2"],
      ["F32", "I32"],
      ["U8", "I8"],
      ["BF16", "F32"],
      ["F8_E4M3", "BF16"],
    ];
    const arb = fc.record({
      c: layerCase,
      pair: fc.constantFrom(...PAIRS),
      // (expert, projection) slots given the second dtype; the first dtype keeps a strict majority.
      odd: fc.uniqueArray(fc.tuple(fc.nat(19), fc.constantFrom(...PROJECTIONS)), { minLength: 1, maxLength: 6, selector: ([e, p]) => `${e}${p}` }),
    });
    await checkProperty({
      name: "dtype-mix",
      arbitrary: arb
        .map(({ c, pair, odd }) => {
          const slots = odd.filter(([e]) => e < c.E);
          return { c: { ...c, dtype: pair[0] }, other: pair[1], odd: slots.length === 0 ? [[0, odd[0]![1]] as const] : slots };
        })
        .filter(({ c, odd }) => 2 * odd.length < 3 * c.E),
      counterexample: ({ c }) => ({ stage: targetStage(c.target), config: configOf(c.layout, c.E), tensors: perExpert(c) }),
      predicate: ({ c, other, odd }) => {
        const w = perExpert(c);
        const prefix = prefixOf(c.layout);
        const oddNames = odd.map(([e, p]) => expertName(prefix, e, nameOf(c.layout, p))).sort();
        for (const n of oddNames) w.set(n, { ...w.get(n)!, dtype: other });
        const plan = planPrefuse(new Map([...w].map(([n, t]) => [n, { dtype: t.dtype, shape: t.shape }])), configOf(c.layout, c.E), { target: c.target });
        const layer = plan.layers[0]!;
        expect(layer.state).toBe("untouched");
        const reasons = layer.state === "untouched" ? layer.reasons.filter((r) => r.code === "DTYPE_MISMATCH") : [];
        expect(reasons.map((r) => r.tensor).sort()).toEqual(oddNames);
        for (const r of reasons) expect([r.dtype, r.expectedDtype]).toEqual([other, c.dtype]);
      },
    });
  });
});
