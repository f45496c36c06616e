// The layout registry: how each model family names its per-expert tensors on disk, how its fused
// tensors are oriented, and where MLX's stacked experts live. It is data: adding a family is one
// entry. The layout is chosen by config `model_type` (top level first, then text_config's);
// unknown types get the default, which is exactly oQ's pattern.

import type { ModelConfig } from "../checkpoint.js";
import { configValue } from "./expert-count.js";

export type Projection = "gate" | "up" | "down";
export const PROJECTIONS: readonly Projection[] = ["gate", "up", "down"];

/** What the prefuse writes: the fused transformers-v5 tensors, or MLX's final switch_mlp stacks. */
export type FuseTarget = "fused" | "switch_mlp";
export const FUSE_TARGETS: readonly FuseTarget[] = ["fused", "switch_mlp"];

/**
 * Orientation of a family's fused tensors. `rows`: gate_up `[E, 2I, H]` (gate rows then up rows),
 * down `[E, H, I]`. `columns` (stored transposed): gate_up `[E, H, 2I]` (gate columns then up
 * columns), down `[E, I, H]`; loaders split the last axis and transpose(0, 2, 1).
 */
export type FusedOrientation = "rows" | "columns";

export interface ExpertLayout {
  /** Registry name, reported in plans. */
  readonly name: string;
  /** config model_type values (top level or text_config) that select this layout. */
  readonly modelTypes: readonly string[];
  /** Per-expert projection names: `<prefix>.experts.<e>.<name>.weight`. */
  readonly perExpert: Readonly<Record<Projection, string>>;
  /** Container renamed in fused output names (transformers v5 mixtral: block_sparse_moe -> mlp). */
  readonly fusedContainer?: { readonly from: string; readonly to: string };
  readonly orientation: FusedOrientation;
  /** MLX's stacked-experts module: `<prefix>.<switchModule>.{gate,up,down}_proj.weight`. */
  readonly switchModule: string;
}

const GATE_UP_DOWN: Readonly<Record<Projection, string>> = { gate: "gate_proj", up: "up_proj", down: "down_proj" };

/** Unknown model types: oQ's `...experts.{n}.(gate|up|down)_proj.weight`, fused as `[E, 2I, H]`. */
export const DEFAULT_LAYOUT: ExpertLayout = {
  name: "default",
  modelTypes: [],
  perExpert: GATE_UP_DOWN,
  orientation: "rows",
  switchModule: "switch_mlp",
};

export const EXPERT_LAYOUTS: readonly ExpertLayout[] = [
  // The VLM the oQ fix is for; its text model lives under text_config.
  { ...DEFAULT_LAYOUT, name: "qwen3_5_moe", modelTypes: ["qwen3_5_moe", "qwen3_5_moe_text"] },
  // transformers v5 MergeModulelist(0) + Concatenate(1) families.
  { ...DEFAULT_LAYOUT, name: "transformers_v5", modelTypes: ["qwen3_moe", "qwen2_moe", "olmoe", "deepseek_v3", "glm4_moe"] },
  // w1 = gate, w3 = up, w2 = down; transformers v5 fuses them under `mlp.experts`, while mlx-lm
  // keeps `block_sparse_moe.switch_mlp`.
  {
    name: "mixtral",
    modelTypes: ["mixtral"],
    perExpert: { gate: "w1", up: "w3", down: "w2" },
    fusedContainer: { from: "block_sparse_moe", to: "mlp" },
    orientation: "rows",
    switchModule: "switch_mlp",
  },
  // Fused and transposed on disk.
  { ...DEFAULT_LAYOUT, name: "qwen3_vl_moe", modelTypes: ["qwen3_vl_moe", "qwen3_vl_moe_text"], orientation: "columns" },
  // mlx-lm names llama4's SwitchGLU `experts`: feed_forward.experts.gate_proj.weight.
  { ...DEFAULT_LAYOUT, name: "llama4", modelTypes: ["llama4", "llama4_text"], orientation: "columns", switchModule: "experts" },
];

export type ModelTypeKey = "model_type" | "text_config.model_type";

export interface LayoutChoice {
  readonly layout: ExpertLayout;
  /** The model_type that selected it (undefined for the default layout). */
  readonly modelType: string | undefined;
  readonly key: ModelTypeKey | undefined;
}

export function layoutForModelType(modelType: string): ExpertLayout | undefined {
  return EXPERT_LAYOUTS.find((l) => l.modelTypes.includes(modelType));
}

export function selectLayout(config: ModelConfig, registry: readonly ExpertLayout[] = EXPERT_LAYOUTS): LayoutChoice {
  for (const key of ["model_type", "text_config.model_type"] as const) {
    const v = configValue(config, key);
    if (typeof v !== "string") continue;
    const layout = registry.find((l) => l.modelTypes.includes(v));
    if (layout !== undefined) return { layout, modelType: v, key };
  }
  return { layout: DEFAULT_LAYOUT, modelType: undefined, key: undefined };
}

/** The prefix fused tensors of a layer go under (mixtral's container renamed). */
export function fusedPrefix(layout: ExpertLayout, prefix: string): string {
  const c = layout.fusedContainer;
  if (c === undefined) return prefix;
  const tail = `.${c.from}`;
  if (prefix === c.from) return c.to;
  return prefix.endsWith(tail) ? `${prefix.slice(0, -tail.length)}.${c.to}` : prefix;
}

export function fusedNames(layout: ExpertLayout, prefix: string): { readonly gateUp: string; readonly down: string } {
  const p = fusedPrefix(layout, prefix);
  return { gateUp: `${p}.experts.gate_up_proj`, down: `${p}.experts.down_proj` };
}

/** MLX's stacked tensor for a projection, e.g. `<prefix>.switch_mlp.gate_proj.weight`. */
export function switchName(layout: ExpertLayout, prefix: string, projection: Projection, kind = "weight"): string {
  return `${prefix}.${layout.switchModule}.${GATE_UP_DOWN[projection]}.${kind}`;
}
