// The layout registry's shape and rules: how each model family names its per-expert tensors on
// disk, how its fused tensors are oriented, and where MLX's stacked experts live. The entries
// are data (families.ts): adding a family is one entry. The layout is chosen by config
// `model_type` (top level first, then text_config's); unknown types get the default, which is
// exactly oQ's pattern, and the plan says so.

import type { ModelConfig } from "../checkpoint.js";
import { configPath, topThenText } from "../config-path.js";
import { DEFAULT_LAYOUT, FAMILY_REGISTRY as EXPERT_LAYOUTS } from "./families.js";

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

export interface SourceRef {
  readonly repo: string;
  readonly path: string;
  readonly commit: string;
}

/**
 * How a family's releases hold their experts. `per-expert`: one gated triple per expert (the
 * prefuse case); `fused`: already `experts.gate_up_proj` + `down_proj`; `fused-interleaved`:
 * fused with gate and up rows alternating (gpt-oss); `non-gated`: per expert, up and down only;
 * `stacked-other`: stacked `[E, ...]` under names of the family's own (nothing to prefuse).
 */
export type ExpertStorage = "per-expert" | "fused" | "fused-interleaved" | "non-gated" | "stacked-other";

/** A sub-model with an expert count of its own (qwen3_omni_moe's thinker and talker). */
export interface SubModel {
  /** Tensor-name prefix of its layers. */
  readonly prefix: string;
  /** Dotted config path of its expert count. */
  readonly countKey: string;
}

/** One registry entry (src/reference/prefuse/families.ts holds them, with their sources). */
export interface ExpertLayout {
  /** Registry name (the canonical model_type), reported in plans. */
  readonly name: string;
  /** config model_type values (top level or text_config) that select this layout: the type and its aliases. */
  readonly modelTypes: readonly string[];
  readonly storage: ExpertStorage;
  /** Per-expert projection names on disk: `<prefix>.experts.<e>.<name>.weight`. */
  readonly perExpert: Readonly<Record<Projection, string>>;
  /** The expert module under the layer root (`mlp`, `block_sparse_moe`, `feed_forward`, `mixer`; "" directly under it). */
  readonly module: string;
  /** The family's own expert-count paths, tried after the global chain (EXPERT_COUNT_KEYS). */
  readonly countKeys: readonly string[];
  /** Sub-models with counts of their own, by tensor prefix. */
  readonly subModels?: readonly SubModel[];
  /** Container renamed in fused output names (transformers v5 mixtral: block_sparse_moe -> mlp). */
  readonly fusedContainer?: { readonly from: string; readonly to: string };
  readonly orientation: FusedOrientation;
  /** Where transformers v5 defines the fused form; undefined: the fused target writes the generic names (with a warning). */
  readonly fusedBy: SourceRef | undefined;
  /** MLX's stacked-experts module under the expert module: `<prefix>.<switchModule>.<proj>.weight`. */
  readonly switchModule: string;
  /** Container the MLX loader moves the stack to (kimi_linear: block_sparse_moe -> mlp). */
  readonly switchContainer?: { readonly from: string; readonly to: string };
  /** MLX's names of the stacked projections (nemotron_h: up -> fc1, down -> fc2). */
  readonly switchProjections: Readonly<Record<Projection, string>>;
  /** Companions the loader's sanitize stacks with `.weight` (the switch target stacks scales and biases for every family). */
  readonly mlxStacks: readonly string[];
  /** The MLX loader(s) that read this family; undefined: none. */
  readonly mlxLoader: string | undefined;
  /** A way the loader's output differs from a plain load of the switch target, said in plans. */
  readonly mlxCaveat?: string;
  /** The files this entry was read from. */
  readonly sources: readonly SourceRef[];
}

export { DEFAULT_LAYOUT, EXPERT_LAYOUTS };

/** Whether a layout's names and orientation are oQ's own (`experts.<e>.{gate,up,down}_proj`, rows, no rename). */
export function followsOqPattern(layout: ExpertLayout): boolean {
  const p = layout.perExpert;
  return (
    layout.storage === "per-expert" &&
    p.gate === "gate_proj" &&
    p.up === "up_proj" &&
    p.down === "down_proj" &&
    layout.orientation === "rows" &&
    layout.fusedContainer === undefined
  );
}

export type ModelTypeKey = "model_type" | "text_config.model_type";

export interface LayoutChoice {
  readonly layout: ExpertLayout;
  /** The model_type that selected it (undefined for the default layout). */
  readonly modelType: string | undefined;
  readonly key: ModelTypeKey | undefined;
}

export function layoutForModelType(modelType: string, registry: readonly ExpertLayout[] = EXPERT_LAYOUTS): ExpertLayout | undefined {
  return registry.find((l) => l.modelTypes.includes(modelType));
}

/** The config's model_type, top level then text_config's, whether or not the registry knows it. */
export function configModelType(config: ModelConfig): { readonly modelType: string; readonly key: ModelTypeKey } | undefined {
  for (const key of topThenText("model_type") as readonly ModelTypeKey[]) {
    const v = configPath(config, key);
    if (typeof v === "string") return { modelType: v, key };
  }
  return undefined;
}

export function selectLayout(config: ModelConfig, registry: readonly ExpertLayout[] = EXPERT_LAYOUTS): LayoutChoice {
  for (const key of topThenText("model_type") as readonly ModelTypeKey[]) {
    const v = configPath(config, key);
    if (typeof v !== "string") continue;
    const layout = layoutForModelType(v, registry);
    if (layout !== undefined) return { layout, modelType: v, key };
  }
  return { layout: DEFAULT_LAYOUT, modelType: undefined, key: undefined };
}

/** `prefix` with its last segment `from` replaced by `to` (a container rename). */
function renameContainer(prefix: string, c: { readonly from: string; readonly to: string } | undefined): string {
  if (c === undefined) return prefix;
  const tail = `.${c.from}`;
  if (prefix === c.from) return c.to;
  return prefix.endsWith(tail) ? `${prefix.slice(0, -tail.length)}.${c.to}` : prefix;
}

/** The prefix fused tensors of a layer go under (mixtral's container renamed). */
export function fusedPrefix(layout: ExpertLayout, prefix: string): string {
  return renameContainer(prefix, layout.fusedContainer);
}

export function fusedNames(layout: ExpertLayout, prefix: string): { readonly gateUp: string; readonly down: string } {
  const p = fusedPrefix(layout, prefix);
  return { gateUp: `${p}.experts.gate_up_proj`, down: `${p}.experts.down_proj` };
}

/** MLX's stacked tensor for a projection, e.g. `<prefix>.switch_mlp.gate_proj.weight` (kimi_linear: moved to `mlp`). */
export function switchName(layout: ExpertLayout, prefix: string, projection: Projection, kind = "weight"): string {
  return `${renameContainer(prefix, layout.switchContainer)}.${layout.switchModule}.${layout.switchProjections[projection]}.${kind}`;
}
