// A structural description of the MoE layers of any checkpoint, from tensor names and shapes
// alone (through the reference's one scanner): which module prefixes hold experts, how each
// stores them (`MoeLayout`: per expert, fused [E,2I,H] + [E,H,I], or fused transposed
// [E,H,2I] + [E,I,H]; what a layer holds, not the plan's state for it), which expert ids and
// projections it has, and where the config states the expert count. Used to check generated
// variants and real Hub checkpoints against what they claim to be; it judges nothing (the
// prefuse's own plan decides what is fusable).

import type { ModelConfig } from "../reference/checkpoint.js";
import type { DType } from "../reference/dtypes.js";
import type { TensorSpec } from "../reference/tensor.js";
import { configPath } from "../reference/config-path.js";
import { EXPERT_COUNT_KEYS, type ExpertCountKey } from "../reference/prefuse/expert-count.js";
import { scanExperts } from "../reference/prefuse/scan.js";

export type MoeLayout = "per-expert" | "fused" | "fused-transposed" | "fused-irregular" | "stacked-other";

export interface MoeLayerSummary {
  /** The module holding the experts, e.g. `model.layers.1.mlp`. */
  readonly prefix: string;
  readonly layout: MoeLayout;
  /** Expert ids present, ascending (fused: 0..E-1). */
  readonly experts: readonly number[];
  /** Projection leaf names present (per expert: any expert's; fused: gate_up_proj, down_proj). */
  readonly projections: readonly string[];
  /** Number of per-expert weight tensors. */
  readonly tensors: number;
  readonly dtypes: readonly DType[];
}

export interface CountKeyValue {
  readonly key: ExpertCountKey;
  readonly value: unknown;
}

/**
 * Every config location stating an expert count, in the reference's lookup order (oQ's, then
 * the extensions), whatever the value; null counts as absent, as in the reference.
 */
export function countKeysOf(config: ModelConfig | undefined, familyKeys: readonly string[] = []): CountKeyValue[] {
  if (config === undefined) return [];
  return [...new Set([...EXPERT_COUNT_KEYS, ...familyKeys])].flatMap((key) => {
    const value = configPath(config, key);
    return value === undefined ? [] : [{ key, value }];
  });
}

function fusedLayout(gateUp: TensorSpec | undefined, down: TensorSpec | undefined): MoeLayout {
  if (gateUp?.shape.length !== 3 || down?.shape.length !== 3) return "fused-irregular";
  const [, a, b] = gateUp.shape as [number, number, number];
  const [, c, d] = down.shape as [number, number, number];
  if (a === 2 * d && b === c) return "fused";
  if (b === 2 * c && a === d) return "fused-transposed";
  return "fused-irregular";
}

/** The storage of every group the reference's scanner finds (scan.ts): one scanner for plans and checks. */
export function describeMoeLayers(specs: ReadonlyMap<string, TensorSpec>): MoeLayerSummary[] {
  const out: MoeLayerSummary[] = [];
  for (const g of scanExperts(specs)) {
    const weights = g.perExpert.filter((t) => t.kind === "weight");
    if (g.perExpert.length > 0) {
      out.push({
        prefix: g.prefix,
        layout: "per-expert",
        experts: [...new Set(g.perExpert.map((t) => t.expert))].sort((a, b) => a - b),
        projections: [...new Set(weights.map((t) => t.leaf))].sort(),
        tensors: weights.length,
        dtypes: [...new Set(weights.map((t) => specs.get(t.name)!.dtype))].sort(),
      });
      continue;
    }
    if (g.stacked.length > 0) {
      // Stacked under the family's own names: the expert count is the config's to say.
      const parts = g.stacked.map((n) => specs.get(n)!);
      out.push({
        prefix: g.prefix,
        layout: "stacked-other",
        experts: [],
        projections: g.stacked.map((n) => n.slice(g.prefix.length + 1)).sort(),
        tensors: 0,
        dtypes: [...new Set(parts.map((t) => t.dtype))].sort(),
      });
      continue;
    }
    const gateUp = g.fused.gateUp === undefined ? undefined : specs.get(g.fused.gateUp);
    const down = g.fused.down === undefined ? undefined : specs.get(g.fused.down);
    if (gateUp === undefined && down === undefined) continue;
    const parts = [gateUp, down].filter((t): t is TensorSpec => t !== undefined);
    out.push({
      prefix: g.prefix,
      layout: fusedLayout(gateUp, down),
      experts: Array.from({ length: parts[0]!.shape[0] ?? 0 }, (_, e) => e),
      projections: [...(gateUp ? ["gate_up_proj"] : []), ...(down ? ["down_proj"] : [])],
      tensors: 0,
      dtypes: [...new Set(parts.map((t) => t.dtype))].sort(),
    });
  }
  return out.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}
