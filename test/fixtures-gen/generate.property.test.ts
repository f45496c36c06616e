import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSafetensors, serializeSafetensors } from "../../src/reference/safetensors/memory.js";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import { countKeysOf, describeMoeLayers } from "../../src/fixtures-gen/moe-structure.js";
import { layerKey, moeLayers } from "../../src/fixtures-gen/spec.js";
import { fcParams } from "../support/fc.js";
import { anyFixtureSpec } from "../support/arbitraries/fixture-spec.js";
import { fusedPrefixOf } from "../support/moe-names.js";

describe("generator properties", () => {
  it("any valid spec: deterministic, loadable, and structured exactly as its variants claim", () => {
    fc.assert(
      fc.property(anyFixtureSpec, (spec) => {
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
        const counted = countKeysOf(g.config, [def.countKey])
          .map((c) => c.key)
          .sort();
        const expectedKeys =
          variant?.kind === "dense" ? [] : variant?.kind === "count-key" ? variant.keys.filter((k) => k.value !== null).map((k) => k.key) : [def.countKey];
        expect(counted).toEqual([...expectedKeys].sort());

        // MoE layers: where the family puts them, in the layout asked for, with the experts asked for.
        const described = new Map(describeMoeLayers(g.tensors).map((l) => [l.prefix, l]));
        let seen = 0;
        for (const layer of moeLayers(s)) {
          const module = typeof layer === "number" ? `${def.layerRoot ?? `${def.textPrefix}layers.`}${layer}.` : `mtp.layers.${layer.slice(4)}.`;
          const fused = s.fusedLayers.has(layerKey(layer));
          const blockPrefix = def.moe.block === "" ? module.slice(0, -1) : `${module}${def.moe.block}`;
          const l = described.get(fused ? fusedPrefixOf(def.name, blockPrefix) : blockPrefix);
          if (def.moe.stacked !== "fused") {
            seen++;
            expect(l?.layout, blockPrefix).toBe("stacked-other");
            continue;
          }
          let experts = Array.from({ length: s.experts }, (_, e) => e);
          if (variant?.kind === "partial" && layerKey(variant.layer!) === layerKey(layer) && variant.defect === "drop-expert")
            experts = experts.filter((e) => e !== variant.expert);
          if (variant?.kind === "extra-expert" && layerKey(variant.layer!) === layerKey(layer)) experts.push(variant.id!);
          if (experts.length === 0) {
            expect(l).toBeUndefined(); // its only expert was dropped: no expert tensor left
            continue;
          }
          seen++;
          expect(l, `${module} in ${[...described.keys()].join(", ")}`).toBeDefined();
          expect(l!.layout).toBe(fused ? (def.moe.fusedStyle === "rows" ? "fused" : "fused-transposed") : "per-expert");
          expect(l!.experts).toEqual(experts);
          expect(l!.tensors).toBe(
            fused
              ? 0
              : (def.moe.gated ? 3 : 2) * experts.length -
                  (variant?.kind === "partial" && variant.defect === "drop-projection" && layerKey(variant.layer!) === layerKey(layer) ? 1 : 0),
          );
        }

        expect(described.size).toBe(seen);
        // Experts are never copies of each other (every per-expert weight of at least 8 elements,
        // with its FP8 scale: with 1x1 blocks the codes alone are just signs).
        for (const l of described.values()) {
          if (l.layout !== "per-expert") continue;
          for (const proj of l.projections) {
            const names = l.experts
              .map((e) => `${l.prefix}.experts.${e}.${proj}.weight`)
              .filter((n) => g.tensors.has(n) && g.tensors.get(n)!.data.length / (g.tensors.get(n)!.dtype === "F8_E4M3" ? 1 : 2) >= 8);
            const content = names.map((n) =>
              Buffer.concat([g.tensors.get(n)!.data, g.tensors.get(`${n}_scale_inv`)?.data ?? new Uint8Array()]).toString("hex"),
            );
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
      fcParams(),
    );
  });
});
