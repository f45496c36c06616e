import { beforeAll, describe, expect, it } from "vitest";
import { diagnoseChunkSeam, firstBadExpert, nearChunkBoundary } from "../../src/gate/diagnoses/chunk-seam.js";
import { diagnoseCountKeyPrecedence } from "../../src/gate/diagnoses/count-precedence.js";
import { diagnose } from "../../src/gate/diagnoses/diagnose.js";
import type { DiagnosisContext } from "../../src/gate/diagnoses/diagnosis.js";
import { diagnoseDtypeChanged } from "../../src/gate/diagnoses/dtype-changed.js";
import { diagnoseExpertsBeyondCount } from "../../src/gate/diagnoses/experts-beyond-count.js";
import { diagnoseExpertsPermuted, expertPermutation, lexicographicOrder } from "../../src/gate/diagnoses/experts-permuted.js";
import { diagnoseGateUpSwapped } from "../../src/gate/diagnoses/gate-up-swapped.js";
import { diagnoseLayersNotFused } from "../../src/gate/diagnoses/layer-left.js";
import { diagnoseUntouchedLayersChanged } from "../../src/gate/diagnoses/partial-fused.js";
import { diagnoseTensorSet } from "../../src/gate/diagnoses/tensor-set.js";
import { diagnoseTransposed } from "../../src/gate/diagnoses/transposed.js";
import type { TensorMap } from "../../src/reference/tensor.js";
import { RICH, RICH_FUSED, RICH_PARTIAL, type Reference, fuseWith, reference, withFault } from "../support/gate-fixture.js";

let ref: Reference;
let switchRef: Reference;
beforeAll(async () => {
  ref = await reference(RICH);
  switchRef = await reference(RICH, "switch_mlp");
});

const ctx = (actual: TensorMap, r: Reference = ref): DiagnosisContext => ({ expected: r.expected, actual, plan: r.plan, config: r.config });
const kinds = (actual: TensorMap, r: Reference = ref) => diagnose(ctx(actual, r)).map((d) => d.kind);
const E = RICH.experts!;

/** Every diagnosis, on the reference's own output: none may fire. */
const ALL = [
  diagnoseChunkSeam,
  diagnoseExpertsBeyondCount,
  diagnoseCountKeyPrecedence,
  diagnoseDtypeChanged,
  diagnoseExpertsPermuted,
  diagnoseGateUpSwapped,
  diagnoseLayersNotFused,
  diagnoseUntouchedLayersChanged,
  (c: DiagnosisContext) => diagnoseTensorSet(c),
  diagnoseTransposed,
];

describe("diagnoses", () => {
  it("none fires on the reference's own output", () => {
    for (const d of ALL) expect(d(ctx(ref.expected))).toEqual([]);
    for (const d of ALL) expect(d(ctx(switchRef.expected, switchRef))).toEqual([]);
  });

  it("gate/up swapped: fused gate_up with each expert's up rows first", () => {
    const actual = withFault(ref, RICH_FUSED, E, { swapGateUp: true });
    const found = diagnoseGateUpSwapped(ctx(actual));
    expect(found).toHaveLength(1);
    expect(found[0]!.tensors).toEqual(RICH_FUSED.map((p) => `${p}.experts.gate_up_proj`));
    expect(kinds(actual)[0]).toBe("gate-up-swapped");
    // An unrelated change of gate_up is not a swap.
    expect(diagnoseGateUpSwapped(ctx(withFault(ref, RICH_FUSED, E, { order: [1, 0, ...Array.from({ length: E - 2 }, (_, i) => i + 2)] })))).toEqual([]);
  });

  it("gate/up swapped: switch_mlp gate_proj and up_proj exchanged", () => {
    const actual = new Map(switchRef.expected);
    const p = `${RICH_FUSED[0]}.switch_mlp`;
    actual.set(`${p}.gate_proj.weight`, switchRef.expected.get(`${p}.up_proj.weight`)!);
    actual.set(`${p}.up_proj.weight`, switchRef.expected.get(`${p}.gate_proj.weight`)!);
    expect(diagnoseGateUpSwapped(ctx(actual, switchRef)).map((d) => d.tensors)).toEqual([[`${p}.gate_proj.weight`, `${p}.up_proj.weight`]]);
  });

  it("transposed: down_proj stored [E, I, H]", () => {
    const actual = withFault(ref, RICH_FUSED, E, { transposeDown: true });
    const found = diagnoseTransposed(ctx(actual));
    expect(found.map((d) => d.kind)).toEqual(["transposed"]);
    expect(found[0]!.message).toContain(`[${E}, 4, 6] where [${E}, 6, 4] is expected`);
    expect(kinds(actual)[0]).toBe("transposed");
  });

  it("transposed: square experts keep their shape, the bytes decide", async () => {
    const square = await reference({ ...RICH, hidden: 4, intermediate: 4, variants: [] });
    const prefixes = square.plan!.layers.map((l) => l.prefix);
    const actual = withFault(square, prefixes, E, { transposeDown: true });
    expect(diagnoseTransposed(ctx(actual, square))[0]?.tensors).toEqual(prefixes.map((p) => `${p}.experts.down_proj`));
  });

  it("experts permuted: lexicographic order is named as such, only for E > 10", async () => {
    const actual = withFault(ref, RICH_FUSED, E, { order: lexicographicOrder(E) });
    const found = diagnoseExpertsPermuted(ctx(actual));
    expect(found).toHaveLength(1);
    expect(found[0]!.detail).toEqual({ order: "lexicographic" });
    expect(found[0]!.tensors).toHaveLength(4);
    expect(kinds(actual)[0]).toBe("experts-permuted");
    expect(lexicographicOrder(12)).toEqual([0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(lexicographicOrder(10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("experts permuted: any other order is reported as its mapping", () => {
    const order = Array.from({ length: E }, (_, e) => E - 1 - e);
    const found = diagnoseExpertsPermuted(ctx(withFault(ref, RICH_FUSED, E, { order })));
    expect(found[0]!.detail).toMatchObject({ order: "other", mapping: order });
    expect(found[0]!.message).toContain("slot 0 holds expert 19");
    // Not a permutation (an expert twice): not this diagnosis.
    expect(expertPermutation([new Uint8Array([1]), new Uint8Array([2])], [new Uint8Array([1]), new Uint8Array([1])])).toBeUndefined();
  });

  it("chunk seam: right up to expert 15, wrong from the 16-expert boundary on", () => {
    const order = [...Array.from({ length: 16 }, (_, e) => e), 15, 16, 17, 18];
    const actual = withFault(ref, RICH_FUSED, E, { order });
    const found = diagnoseChunkSeam(ctx(actual));
    expect(found.map((d) => d.detail)).toEqual([{ firstBadExpert: 16 }]);
    expect(found[0]!.message).toContain("slot 16 holds expert 15");
    expect(kinds(actual)[0]).toBe("chunk-seam");
    // Fewer experts than expected: compared over the ones both have.
    const short = withFault(ref, RICH_FUSED, E, { order: Array.from({ length: 16 }, (_, e) => e) });
    expect(diagnoseChunkSeam(ctx(short))[0]?.detail).toEqual({ firstBadExpert: 16 });
    // A difference far from a boundary is not a seam.
    expect(diagnoseChunkSeam(ctx(withFault(ref, RICH_FUSED, E, { order: [0, 1, 2, 3, 4, 6, 5, ...Array.from({ length: 13 }, (_, i) => i + 7)] })))).toEqual([]);
    expect([14, 15, 16, 17, 18, 31, 32, 33, 1, 0].map(nearChunkBoundary)).toEqual([false, true, true, true, false, true, true, true, false, false]);
    expect(firstBadExpert([new Uint8Array([1])], [new Uint8Array([1])])).toBeUndefined();
  });

  it("experts beyond the count: the reference's experts, right and in order, then more; not a chunk seam where the count is a multiple of 16", async () => {
    // transformers' MergeModulelist stacks every experts.<e> on disk: with an id >= E, E + 1 of them.
    const extra = withFault(ref, RICH_FUSED, E, { order: [...Array.from({ length: E }, (_, e) => e), 0, 1] });
    const found = diagnoseExpertsBeyondCount(ctx(extra));
    expect(found.map((d) => d.detail)).toEqual([{ expected: E, stacked: E + 2 }]);
    expect(found[0]!.tensors).toHaveLength(4);
    expect(found[0]!.message).toContain(`experts 0..${E - 1} are right, and 2 more were stacked`);
    expect(kinds(extra)[0]).toBe("experts-beyond-count");
    // With 32 experts the extra one sits at a chunk boundary: still this diagnosis, and no seam.
    const r32 = await reference({ ...RICH, experts: 32, variants: RICH.variants!.filter((v) => v.kind === "partial") });
    const at32 = withFault(r32, RICH_FUSED, 32, { order: [...Array.from({ length: 32 }, (_, e) => e), 5] });
    expect(diagnoseChunkSeam(ctx(at32, r32))).toEqual([]);
    expect(kinds(at32, r32)[0]).toBe("experts-beyond-count");
    // More experts with a wrong one among the expected: not this diagnosis.
    const wrong = withFault(ref, RICH_FUSED, E, { order: [1, 0, ...Array.from({ length: E - 2 }, (_, e) => e + 2), 0] });
    expect(diagnoseExpertsBeyondCount(ctx(wrong))).toEqual([]);
  });

  it("dtype changed: widened fused tensors", () => {
    const actual = new Map(ref.expected);
    for (const p of RICH_FUSED) {
      const name = `${p}.experts.down_proj`;
      const t = ref.expected.get(name)!;
      const wide = new Uint8Array(t.data.length * 2);
      for (let i = 0; i < t.data.length / 2; i++) wide.set(t.data.subarray(2 * i, 2 * i + 2), 4 * i + 2); // bf16 bits as the high half of f32
      actual.set(name, { dtype: "F32", shape: t.shape, data: wide });
    }
    const found = diagnoseDtypeChanged(ctx(actual));
    expect(found.map((d) => d.detail)).toEqual([{ change: "BF16 -> F32 (widened)" }]);
    expect(found[0]!.tensors).toHaveLength(2);
    expect(kinds(actual)).toEqual(["dtype-changed"]);
  });

  it("layer left per expert, and layer missing", () => {
    const left = new Map(ref.expected);
    const p = RICH_FUSED[0]!;
    left.delete(`${p}.experts.gate_up_proj`);
    left.delete(`${p}.experts.down_proj`);
    const missing = new Map(left);
    for (const [n, t] of ref.input) if (n.startsWith(`${p}.experts.`)) left.set(n, t);
    expect(diagnoseLayersNotFused(ctx(left)).map((d) => [d.kind, d.detail])).toEqual([["layer-left-per-expert", { layer: p, experts: E }]]);
    expect(diagnoseLayersNotFused(ctx(missing)).map((d) => d.kind)).toEqual(["layer-missing"]);
    // The per-expert names are explained by the layer diagnosis, not listed again as extra tensors.
    expect(kinds(left)).toEqual(["layer-left-per-expert"]);
  });

  it("partial layer fused: the untouched layer's experts stacked anyway", () => {
    const actual = new Map(ref.expected);
    const ids = Array.from({ length: E }, (_, e) => e).filter((e) => e !== 3);
    for (const [n] of ref.input) if (n.startsWith(`${RICH_PARTIAL}.experts.`)) actual.delete(n);
    const { gateUp, down } = fuseWith(ref.input, RICH_PARTIAL, E, { order: ids });
    actual.set(`${RICH_PARTIAL}.experts.gate_up_proj`, gateUp);
    actual.set(`${RICH_PARTIAL}.experts.down_proj`, down);
    const found = diagnoseUntouchedLayersChanged(ctx(actual));
    expect(found.map((d) => [d.kind, d.detail])).toEqual([["partial-layer-fused", { layer: RICH_PARTIAL, reason: "MISSING_TENSOR" }]]);
    expect(found[0]!.message).toContain("expert 3 has no gate_proj.weight");
    expect(kinds(actual)).toEqual(["partial-layer-fused"]);
  });

  it("untouched layer changed: a dense checkpoint's experts fused", async () => {
    const dense = await reference({ ...RICH, variants: [{ kind: "count-key", keys: [] }] });
    const prefixes = dense.plan!.layers.map((l) => l.prefix);
    expect(dense.plan!.layers.every((l) => l.state === "dense")).toBe(true);
    const actual = new Map([...dense.expected].filter(([n]) => !prefixes.some((p) => n.startsWith(`${p}.experts.`))));
    for (const p of prefixes) {
      const { gateUp, down } = fuseWith(dense.input, p, E);
      actual.set(`${p}.experts.gate_up_proj`, gateUp);
      actual.set(`${p}.experts.down_proj`, down);
    }
    const found = diagnoseUntouchedLayersChanged(ctx(actual, dense));
    expect(found.map((d) => d.detail)).toEqual(prefixes.map((layer) => ({ layer, state: "dense" })));
    expect(found[0]!.message).toContain("no expert count");
  });

  it("count key precedence: every complete layer left per expert, or stacked with a later key's count", async () => {
    // What a reader of text_config.num_experts (17) first does: ids 17..19 make every layer incomplete.
    const wrong = (await reference(RICH, "prefuse", { ...ref.config, num_experts: 17 })).expected;
    const found = diagnoseCountKeyPrecedence(ctx(wrong));
    expect(found.map((d) => d.kind)).toEqual(["count-key-precedence"]);
    expect(found[0]!.message).toContain("num_experts = 20 comes first");
    expect(kinds(wrong)[0]).toBe("count-key-precedence");
    // Stacked with 17 experts.
    const stacked = withFault(ref, RICH_FUSED, E, { order: Array.from({ length: 17 }, (_, e) => e) });
    expect(diagnoseCountKeyPrecedence(ctx(stacked))[0]?.detail).toMatchObject({ used: 17, expected: 20 });
    // Every expert on disk stacked whatever the count says: the count was ignored, not misread.
    const text = ref.config.text_config as Record<string, unknown>;
    const swapped = await reference(RICH, "prefuse", { ...ref.config, num_experts: 17, text_config: { ...text, num_experts: 20 } });
    expect(diagnoseCountKeyPrecedence(ctx(ref.expected, swapped))).toEqual([]);
    expect(kinds(ref.expected, swapped)[0]).toBe("partial-layer-fused");
    // One layer left while others fuse is not a precedence problem.
    const oneLeft = new Map(ref.expected);
    for (const n of [`${RICH_FUSED[0]}.experts.gate_up_proj`, `${RICH_FUSED[0]}.experts.down_proj`]) oneLeft.delete(n);
    for (const [n, t] of ref.input) if (n.startsWith(`${RICH_FUSED[0]}.experts.`)) oneLeft.set(n, t);
    expect(diagnoseCountKeyPrecedence(ctx(oneLeft))).toEqual([]);
    // Without conflicting keys there is nothing to diagnose.
    const plain = await reference({ ...RICH, variants: [] });
    expect(diagnoseCountKeyPrecedence(ctx(new Map(), plain))).toEqual([]);
  });

  it("tensor set: renamed, missing and extra tensors", () => {
    const actual = new Map(ref.expected);
    const norm = "model.language_model.norm.weight";
    actual.set("model.norm.weight", actual.get(norm)!);
    actual.delete(norm);
    actual.delete("lm_head.weight");
    actual.set("extra.bias", { dtype: "BF16", shape: [1], data: new Uint8Array(2) });
    const found = diagnoseTensorSet(ctx(actual));
    expect(found.map((d) => [d.kind, d.tensors])).toEqual([
      ["renamed", [norm, "model.norm.weight"]],
      ["missing-tensors", ["lm_head.weight"]],
      ["extra-tensors", ["extra.bias"]],
    ]);
    expect(diagnoseTensorSet(ctx(actual), new Set(["lm_head.weight", "extra.bias"])).map((d) => d.kind)).toEqual(["renamed"]);
  });
});
