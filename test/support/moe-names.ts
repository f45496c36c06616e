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

/** Families transformers v5's conversion_mapping fuses under `mlp` (`.block_sparse_moe` -> `.mlp`: mixtral and its copies). */
const RENAMED_TO_MLP: readonly string[] = ["mixtral", "phimoe", "minimax"];

/** Where transformers v5 puts a layer's fused experts: Mixtral's block_sparse_moe becomes mlp. */
export function fusedPrefixOf(name: FamilyName, prefix: string): string {
  return RENAMED_TO_MLP.includes(name) ? prefix.replace(/(^|\.)block_sparse_moe$/, "$1mlp") : prefix;
}

/** Fused experts stored transposed ([E, H, 2I], [E, I, H]). */
export function storedTransposed(name: FamilyName): boolean {
  return family(name).moe.fusedStyle === "columns";
}

/**
 * The MLX loaders' final stacked name of a projection, as each family's `sanitize` writes it
 * (mlx-lm / mlx-vlm, read from their text): `<prefix>.switch_mlp.<p>_proj.weight` by default;
 * SwitchGLU named `experts` (dots1, afmoe, llama4, gpt_oss); gemma4's `experts.switch_glu`;
 * kimi_linear's stack moved from block_sparse_moe to mlp; nemotron_h's fc1 (up) / fc2 (down).
 * Undefined: the loader has no name for it (nemotron_h's gate).
 */
export function switchName(prefix: string, projection: Projection, name: FamilyName = "qwen3_moe", kind = "weight"): string | undefined {
  switch (name) {
    case "dots1":
    case "afmoe":
    case "llama4":
    case "gpt_oss":
      return `${prefix}.experts.${projection}_proj.${kind}`;
    case "gemma4":
      return `${prefix}.experts.switch_glu.${projection}_proj.${kind}`;
    case "kimi_linear":
      return `${prefix.replace(/\.block_sparse_moe$/, ".mlp")}.switch_mlp.${projection}_proj.${kind}`;
    case "nemotron_h":
      return projection === "gate" ? undefined : `${prefix}.switch_mlp.${projection === "up" ? "fc1" : "fc2"}.${kind}`;
    default:
      return `${prefix}.switch_mlp.${projection}_proj.${kind}`;
  }
}

const PER_EXPERT = /^(.+)\.experts\.(\d+)\.[^.]+\.weight$/;

/** The layer prefix and expert id of a per-expert weight name, or undefined. */
export function parsePerExpert(name: string): { prefix: string; expert: number } | undefined {
  const m = PER_EXPERT.exec(name);
  return m === null ? undefined : { prefix: m[1]!, expert: Number(m[2]) };
}
