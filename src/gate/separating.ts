// The separating cases: for every reading point, small checkpoints on which its alternatives give
// different answers, so that every generated run (any seed, 50 runs or more) fingerprints every
// point whatever fast-check draws. Sizes, seeds and expert counts follow the run's seed; the
// structure is fixed. test/gate/readings.test.ts checks that every point has cases it decides.

import type { FixtureSpec } from "../fixtures-gen/spec.js";
import type { Stage } from "../reference/stages.js";
import { readingPoints } from "../reference/reading-points.js";

/** Runs from which a generated run includes the separating cases. */
export const SEPARATING_FROM_RUNS = 50;

interface Separator {
  readonly point: string;
  /** Whether the checkpoint can be block-FP8 (the dequant+prefuse stage): fused FP8 layers and mixed FP8 dtypes do not exist. */
  readonly fp8: boolean;
  readonly spec: (E: number) => Omit<FixtureSpec, "seed" | "experts" | "hidden" | "intermediate" | "vocab">;
}

const Q35 = { family: "qwen3_5_moe", layers: 1, mtpLayers: 0 } as const;

const SEPARATORS: readonly Separator[] = [
  // oQ's chain reads text_config.num_local_experts (wrong) first; the PR's order reads num_experts (right) first, and the reverse.
  {
    point: "count-key-order",
    fp8: true,
    spec: (E) => ({ ...Q35, variants: [{ kind: "count-key", keys: [{ key: "num_experts" }, { key: "text_config.num_local_experts", value: E + 1 }] }] }),
  },
  {
    point: "count-key-order",
    fp8: true,
    spec: (E) => ({ ...Q35, variants: [{ kind: "count-key", keys: [{ key: "text_config.num_local_experts" }, { key: "num_experts", value: E + 2 }] }] }),
  },
  // Both alternatives read num_experts first; an order outside them (text_config first) does not: a bug, not a reading.
  {
    point: "count-key-order",
    fp8: true,
    spec: (E) => ({ ...Q35, variants: [{ kind: "count-key", keys: [{ key: "num_experts" }, { key: "text_config.num_experts", value: E + 1 }] }] }),
  },
  {
    point: "count-zero",
    fp8: true,
    spec: () => ({ ...Q35, variants: [{ kind: "count-key", keys: [{ key: "num_local_experts", value: 0 }, { key: "num_experts" }] }] }),
  },
  { point: "already-fused", fp8: false, spec: () => ({ ...Q35, layers: 2, variants: [{ kind: "fused", layer: 0 }] }) },
  { point: "extra-experts", fp8: true, spec: (E) => ({ ...Q35, variants: [{ kind: "extra-expert", layer: 0, id: E }] }) },
  { point: "outside-layers", fp8: true, spec: () => ({ ...Q35, mtpLayers: 1 }) },
  {
    point: "mixed-dtypes",
    fp8: false,
    spec: () => ({ family: "olmoe", layers: 1, variants: [{ kind: "partial", defect: "wrong-dtype", layer: 0, expert: 0, projection: "gate" }] }),
  },
  { point: "duplicate-ids", fp8: true, spec: () => ({ ...Q35, variants: [{ kind: "duplicate-expert", layer: 0, id: 1 }] }) },
  { point: "n-routed-experts", fp8: true, spec: () => ({ family: "deepseek_v3", layers: 2 }) },
  { point: "family-layouts", fp8: true, spec: () => ({ family: "mixtral", layers: 1 }) },
  { point: "family-layouts", fp8: false, spec: () => ({ family: "qwen3_vl_moe", layers: 1 }) },
];

export interface SeparatingCase {
  /** `sep-<point>-<n>`. */
  readonly name: string;
  readonly point: string;
  readonly spec: FixtureSpec;
}

/** The separating cases of a stage's reading points for a run's seed (none for stages without points). */
export function separatingCases(stage: Stage, seed: number): SeparatingCase[] {
  const points = new Set(readingPoints(stage).map((p) => p.id));
  const fp8 = stage === "dequant+prefuse";
  const n = new Map<string, number>();
  return SEPARATORS.filter((s) => points.has(s.point) && (!fp8 || s.fp8)).map((s, i) => {
    const k = (n.get(s.point) ?? 0) + 1;
    n.set(s.point, k);
    // Expert counts over the 16-expert seam and under it, sizes small; all follow the seed.
    const E = [4, 5, 17, 20][(seed + i) % 4]!;
    const spec: FixtureSpec = {
      ...s.spec(E),
      seed: (seed * 31 + i) % 0x10000,
      experts: E,
      hidden: 2 + ((seed + i) % 5),
      intermediate: 1 + ((seed + 2 * i) % 4),
      vocab: 8,
      dtype: (["BF16", "F16", "F32"] as const)[(seed + i) % 3]!,
      ...(fp8 ? { fp8: { blockSize: [2, 2] as [number, number] } } : {}),
    };
    return { name: `sep-${s.point}-${k}`, point: s.point, spec };
  });
}
