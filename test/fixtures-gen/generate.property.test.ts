import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSafetensors, serializeSafetensors } from "../../src/reference/safetensors/memory.js";
import { EXPERT_COUNT_KEYS } from "../../src/reference/prefuse/expert-count.js";
import { PROJECTIONS } from "../../src/reference/prefuse/layouts.js";
import { FAMILY_NAMES, family } from "../../src/fixtures-gen/families.js";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import { countKeysOf, describeMoeLayers } from "../../src/fixtures-gen/moe-structure.js";
import { type FixtureSpec, layerKey, moeLayers, resolveSpec } from "../../src/fixtures-gen/spec.js";
import { PARTIAL_DEFECTS, type Variant } from "../../src/fixtures-gen/variants.js";
import { fcSettings } from "../unit/fp8/fc-settings.js";

/** A random spec every combination of which is valid (layer and expert picked by index into what exists). */
const specArb = fc
  .record({
    family: fc.constantFrom(...FAMILY_NAMES),
    seed: fc.nat({ max: 0xffffffff }),
    experts: fc.integer({ min: 1, max: 18 }),
    layers: fc.integer({ min: 1, max: 4 }),
    hidden: fc.integer({ min: 1, max: 12 }),
    intermediate: fc.integer({ min: 1, max: 8 }),
    shards: fc.integer({ min: 1, max: 3 }),
    fp8Block: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    variant: fc.oneof(
      fc.constant({ kind: "none" as const }),
      fc.record({ kind: fc.constant("fused" as const), layerPick: fc.option(fc.nat(), { nil: undefined }) }),
      fc.constant({ kind: "dense" as const }),
      fc.record({ kind: fc.constant("partial" as const), defect: fc.constantFrom(...PARTIAL_DEFECTS), layerPick: fc.nat(), expertPick: fc.nat(), projection: fc.constantFrom(...PROJECTIONS) }),
      fc.record({ kind: fc.constant("extra-expert" as const), layerPick: fc.nat(), extra: fc.nat({ max: 5 }) }),
      fc.record({ kind: fc.constant("count-key" as const), keys: fc.subarray([...EXPERT_COUNT_KEYS]), values: fc.array(fc.option(fc.integer({ min: -2, max: 40 }), { nil: undefined }), { minLength: 6, maxLength: 6 }) }),
    ),
  })
  .map((r) => {
    const base: FixtureSpec = { family: r.family, seed: r.seed, experts: r.experts, layers: r.layers, hidden: r.hidden, intermediate: r.intermediate };
    const fp8 = r.fp8Block !== undefined || family(r.family).fp8.byDefault;
    const layers = moeLayers(resolveSpec(base));
    const pick = (n: number) => layers[n % layers.length]!;
    let variant: Variant | undefined;
    const v = r.variant;
    if (v.kind === "fused" && !fp8) variant = v.layerPick === undefined || layers.length === 0 ? { kind: "fused" } : { kind: "fused", layer: pick(v.layerPick) };
    if (v.kind === "dense") variant = { kind: "dense" };
    if (v.kind === "partial" && layers.length > 0 && (v.defect !== "drop-scale" || fp8)) {
      variant = { kind: "partial", defect: v.defect, layer: pick(v.layerPick), expert: v.expertPick % r.experts, projection: v.projection };
    }
    if (v.kind === "extra-expert" && layers.length > 0) variant = { kind: "extra-expert", layer: pick(v.layerPick), id: r.experts + v.extra };
    if (v.kind === "count-key") variant = { kind: "count-key", keys: v.keys.map((key, i) => (v.values[i] === undefined ? { key } : { key, value: v.values[i]! })) };
    const spec: FixtureSpec = {
      ...base,
      ...(variant ? { variants: [variant] } : {}),
      ...(r.fp8Block !== undefined ? { fp8: { blockSize: [r.fp8Block, r.fp8Block] as const } } : {}),
      shards: r.shards,
    };
    return spec;
  });

describe("generator properties", () => {
  it("any valid spec: deterministic, loadable, and structured exactly as its variants claim", () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const g = generateCheckpoint(spec);
        const again = generateCheckpoint(spec);
        const file = serializeSafetensors(g.tensors, g.metadata);
        expect(Buffer.from(serializeSafetensors(again.tensors, again.metadata)).equals(Buffer.from(file))).toBe(true);
        const parsed = parseSafetensors(file);
        expect(parsed.tensors.size).toBe(g.tensors.size);

        const s = g.spec;
        const def = s.family;
        const variant = spec.variants?.[0];
        // The expert count sits where the variant says (default: the family's own location).
        const counted = countKeysOf(g.config).map((c) => c.key).sort();
        const expectedKeys = variant?.kind === "dense" ? [] : variant?.kind === "count-key" ? variant.keys.filter((k) => k.value !== null).map((k) => k.key) : [def.countKey];
        expect(counted).toEqual([...expectedKeys].sort());

        // MoE layers: where the family puts them, in the layout asked for, with the experts asked for.
        const described = new Map(describeMoeLayers(g.tensors).map((l) => [l.prefix, l]));
        let seen = 0;
        for (const layer of moeLayers(s)) {
          const module = typeof layer === "number" ? `${def.textPrefix}layers.${layer}.` : `mtp.layers.${layer.slice(4)}.`;
          const fused = s.fusedLayers.has(layerKey(layer));
          const l = described.get(`${module}${fused ? "mlp" : def.moe.block}`);
          let experts = Array.from({ length: s.experts }, (_, e) => e);
          if (variant?.kind === "partial" && layerKey(variant.layer!) === layerKey(layer) && variant.defect === "drop-expert") experts = experts.filter((e) => e !== variant.expert);
          if (variant?.kind === "extra-expert" && layerKey(variant.layer!) === layerKey(layer)) experts.push(variant.id!);
          if (experts.length === 0) {
            expect(l).toBeUndefined(); // its only expert was dropped: no expert tensor left
            continue;
          }
          seen++;
          expect(l, `${module} in ${[...described.keys()].join(", ")}`).toBeDefined();
          expect(l!.layout).toBe(fused ? (def.moe.fusedTransposed ? "fused-transposed" : "fused") : "per-expert");
          expect(l!.experts).toEqual(experts);
          expect(l!.tensors).toBe(fused ? 0 : 3 * experts.length - (variant?.kind === "partial" && variant.defect === "drop-projection" && layerKey(variant.layer!) === layerKey(layer) ? 1 : 0));
        }

        expect(described.size).toBe(seen);
        // Experts are never copies of each other (every per-expert weight of at least 8 elements,
        // with its FP8 scale: with 1x1 blocks the codes alone are just signs).
        for (const l of described.values()) {
          if (l.layout !== "per-expert") continue;
          for (const proj of l.projections) {
            const names = l.experts.map((e) => `${l.prefix}.experts.${e}.${proj}.weight`).filter((n) => g.tensors.has(n) && g.tensors.get(n)!.data.length / (g.tensors.get(n)!.dtype === "F8_E4M3" ? 1 : 2) >= 8);
            const content = names.map((n) => Buffer.concat([g.tensors.get(n)!.data, g.tensors.get(`${n}_scale_inv`)?.data ?? new Uint8Array()]).toString("hex"));
            expect(new Set(content).size).toBe(names.length);
          }
        }

        // FP8: every E4M3 weight has its scale, unless a defect removed it.
        const missing = [...g.tensors].filter(([n, t]) => t.dtype === "F8_E4M3" && !g.tensors.has(`${n}_scale_inv`)).length;
        expect(missing).toBe(variant?.kind === "partial" && variant.defect === "drop-scale" ? 1 : 0);
        if (s.fp8 === undefined) expect([...g.tensors.values()].some((t) => t.dtype === "F8_E4M3")).toBe(false);

        // Sharding into exactly the number of files asked for.
        if (s.shards > 1) {
          expect(g.shardGroups).toHaveLength(s.shards);
          expect(g.shardGroups!.flat()).toEqual([...g.tensors.keys()]);
        } else expect(g.shardGroups).toBeUndefined();
      }),
      fcSettings("generator: any valid spec"),
    );
  });
});
