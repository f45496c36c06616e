// A structural description of the MoE layers of any checkpoint, from tensor names and shapes
// alone: which module prefixes hold experts, whether each is stored per expert, fused
// ([E,2I,H] + [E,H,I]) or fused transposed ([E,H,2I] + [E,I,H]), which expert ids and
// projections it has, and where the config states the expert count. Used to check generated
// variants and real Hub checkpoints against what they claim to be; it judges nothing (the
// prefuse's own plan decides what is fusable).

import type { ModelConfig } from "../reference/checkpoint.js";
import type { DType } from "../reference/dtypes.js";
import type { TensorSpec } from "../reference/tensor.js";
import { EXPERT_COUNT_KEYS, type ExpertCountKey, configValue } from "../reference/prefuse/expert-count.js";

export type MoeLayout = "per-expert" | "fused" | "fused-transposed" | "fused-irregular";

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

const PER_EXPERT = /^(.+)\.experts\.(\d+)\.([^.]+)\.weight$/;
const FUSED = /^(.+)\.experts\.(gate_up_proj|down_proj)$/;

/**
 * Every config location stating an expert count, in the reference's lookup order (oQ's, then
 * n_routed_experts), whatever the value; null counts as absent, as in the reference.
 */
export function countKeysOf(config: ModelConfig | undefined): CountKeyValue[] {
  if (config === undefined) return [];
  return EXPERT_COUNT_KEYS.flatMap((key) => {
    const value = configValue(config, key);
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

export function describeMoeLayers(specs: ReadonlyMap<string, TensorSpec>): MoeLayerSummary[] {
  const perExpert = new Map<string, { ids: Set<number>; leaves: Set<string>; tensors: number; dtypes: Set<DType> }>();
  const fused = new Map<string, { gateUp?: TensorSpec; down?: TensorSpec }>();
  for (const [name, spec] of specs) {
    const m = PER_EXPERT.exec(name);
    if (m !== null) {
      const g = perExpert.get(m[1]!) ?? { ids: new Set(), leaves: new Set(), tensors: 0, dtypes: new Set() };
      g.ids.add(Number(m[2]));
      g.leaves.add(m[3]!);
      g.tensors++;
      g.dtypes.add(spec.dtype);
      perExpert.set(m[1]!, g);
      continue;
    }
    const f = FUSED.exec(name);
    if (f !== null) {
      const g = fused.get(f[1]!) ?? {};
      if (f[2] === "gate_up_proj") g.gateUp = spec;
      else g.down = spec;
      fused.set(f[1]!, g);
    }
  }
  const out: MoeLayerSummary[] = [];
  for (const [prefix, g] of perExpert) {
    out.push({
      prefix,
      layout: "per-expert",
      experts: [...g.ids].sort((a, b) => a - b),
      projections: [...g.leaves].sort(),
      tensors: g.tensors,
      dtypes: [...g.dtypes].sort(),
    });
  }
  for (const [prefix, g] of fused) {
    const parts = [g.gateUp, g.down].filter((t): t is TensorSpec => t !== undefined);
    const experts = parts[0]?.shape[0] ?? 0;
    out.push({
      prefix,
      layout: fusedLayout(g.gateUp, g.down),
      experts: Array.from({ length: experts }, (_, e) => e),
      projections: [...(g.gateUp ? ["gate_up_proj"] : []), ...(g.down ? ["down_proj"] : [])],
      tensors: 0,
      dtypes: [...new Set(parts.map((t) => t.dtype))].sort(),
    });
  }
  return out.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}
