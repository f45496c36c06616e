// Where each per-expert input lands in the outputs. Fused target (oQ's prefuse, what mlx-vlm's
// qwen3_5_moe sanitize reads): gate_up [E, 2I, H] = per expert gate rows then up rows, down
// [E, H, I] = the down matrices stacked. Switch-MLP target (what that sanitize produces):
// gate, up and down each stacked [E, ...]. Every expert's slice of an output is contiguous,
// which is what lets strategies copy, stream and verify expert by expert.

import { DOWN_NAME, type FuseProblem, GATE_UP_NAME, LAYER_PREFIX, type Projection, expertTensorName, projBytes } from "./problem.js";

export interface Placement {
  /** The per-expert input tensor. */
  readonly source: string;
  readonly expert: number;
  /** Byte offset of its copy in the output tensor. */
  readonly offset: number;
}

export interface OutputTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** In expert order, `perExpert` per expert; consecutive placements are contiguous. */
  readonly placements: readonly Placement[];
  readonly perExpert: number;
}

/** The placements of experts [start, end): one contiguous byte range of the output. */
export function placementsFor(t: OutputTensor, start: number, end: number): readonly Placement[] {
  return t.placements.slice(start * t.perExpert, end * t.perExpert);
}

export const SWITCH_MLP_NAMES: Readonly<Record<Projection, string>> = {
  gate_proj: `${LAYER_PREFIX}.switch_mlp.gate_proj.weight`,
  up_proj: `${LAYER_PREFIX}.switch_mlp.up_proj.weight`,
  down_proj: `${LAYER_PREFIX}.switch_mlp.down_proj.weight`,
};

function stacked(name: string, shape: readonly number[], p: FuseProblem, projs: readonly Projection[]): OutputTensor {
  const e = projBytes(p.shape);
  const placements: Placement[] = [];
  for (let x = 0; x < p.experts; x++) {
    projs.forEach((proj, k) => {
      placements.push({ source: expertTensorName(x, proj), expert: x, offset: (x * projs.length + k) * e });
    });
  }
  return { name, shape, byteLength: e * projs.length * p.experts, placements, perExpert: projs.length };
}

/** The fused layout: gate_up_proj then down_proj. */
export function fusedLayout(p: FuseProblem): readonly OutputTensor[] {
  const { hidden: H, intermediate: I } = p.shape;
  return [stacked(GATE_UP_NAME, [p.experts, 2 * I, H], p, ["gate_proj", "up_proj"]), stacked(DOWN_NAME, [p.experts, H, I], p, ["down_proj"])];
}

/** The switch_mlp layout mlx-vlm's sanitize produces from the fused one. */
export function switchMlpLayout(p: FuseProblem): readonly OutputTensor[] {
  const { hidden: H, intermediate: I } = p.shape;
  return [
    stacked(SWITCH_MLP_NAMES.gate_proj, [p.experts, I, H], p, ["gate_proj"]),
    stacked(SWITCH_MLP_NAMES.up_proj, [p.experts, I, H], p, ["up_proj"]),
    stacked(SWITCH_MLP_NAMES.down_proj, [p.experts, H, I], p, ["down_proj"]),
  ];
}
