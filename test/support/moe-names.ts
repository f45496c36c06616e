// Tensor names of a generated family's MoE layers, written from the fixture catalogue and the
// formats (transformers v5, mlx-vlm), not from the reference's layout registry, so the properties
// check the reference's names instead of repeating them.

import type { Projection } from "../../src/reference/prefuse/layouts.js";
import { type FamilyName, family } from "../../src/fixtures-gen/families.js";

export const GATE_UP = ".experts.gate_up_proj";
export const DOWN = ".experts.down_proj";

export function perExpertName(name: FamilyName, prefix: string, e: number | string, projection: Projection): string {
  return `${prefix}.experts.${e}.${family(name).moe.projections[projection]}.weight`;
}

/** Where transformers v5 puts a layer's fused experts: Mixtral's block_sparse_moe becomes mlp. */
export function fusedPrefixOf(prefix: string): string {
  return prefix.replace(/(^|\.)block_sparse_moe$/, "$1mlp");
}

/** Fused experts stored transposed ([E, H, 2I], [E, I, H]). */
export function storedTransposed(name: FamilyName): boolean {
  return family(name).moe.fusedTransposed;
}

/** mlx-vlm's final stacked names: `<prefix>.switch_mlp.{gate,up,down}_proj.weight`. */
export function switchName(prefix: string, projection: Projection): string {
  return `${prefix}.switch_mlp.${projection}_proj.weight`;
}

const PER_EXPERT = /^(.+)\.experts\.(\d+)\.[^.]+\.weight$/;

/** The layer prefix and expert id of a per-expert weight name, or undefined. */
export function parsePerExpert(name: string): { prefix: string; expert: number } | undefined {
  const m = PER_EXPERT.exec(name);
  return m === null ? undefined : { prefix: m[1]!, expert: Number(m[2]) };
}
