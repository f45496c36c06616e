// The plan: which layers the prefuse fuses, which it leaves alone and why, and the exact tensors
// it will write. It is computed from names, dtypes and shapes alone (headers), so a 60 GiB
// checkpoint is planned in milliseconds and every decision is visible before any byte moves.
//
// Layer states: `fused` (this run fuses it), `untouched` (incomplete or inconsistent: reasons
// say exactly why), `already-fused` (it has a fused or switch_mlp tensor, or its output names
// are taken), `dense` (the config has no expert count, so the checkpoint is treated as dense
// and nothing changes, as oQ does).

import type { ModelConfig } from "../checkpoint.js";
import { CONFIG_FILE } from "../checkpoint.js";
import { isFloat8 } from "../dtypes.js";
import { elementBytes } from "../ops/geometry.js";
import type { TensorSpec } from "../tensor.js";
import { type ExpertCount, resolveExpertCount } from "./expert-count.js";
import { mixedLayerWeights, promotedSpecs } from "./promote.js";
import { DEFAULT_READINGS, type PrefuseReadings, countLookupOf } from "./readings.js";
import { checkExpertLayer } from "./layer-check.js";
import { EXPERT_LAYOUTS, type ExpertLayout, type FuseTarget, type ModelTypeKey, selectLayout } from "./layouts.js";
import type { UntouchedReason } from "./reasons.js";
import { type PlannedOutput, fusedToSwitchOutputs, perExpertOutputs, recipeInputs } from "./recipes.js";
import { type ExpertGroup, scanExperts } from "./scan.js";
import { fusedDims } from "./shapes.js";

export type LayerState = "fused" | "untouched" | "already-fused" | "dense";

interface LayerBase {
  readonly prefix: string;
  /** Distinct expert ids among its per-expert tensors, or E of its fused tensors. */
  readonly expertsFound: number;
}

export interface FusedLayerPlan extends LayerBase {
  readonly state: "fused";
  /** What it is fused from: per-expert tensors, or (switch_mlp target) a fused pair. */
  readonly source: "per-expert" | "fused";
  readonly outputs: readonly string[];
  /** Input tensors the outputs replace. */
  readonly consumed: readonly string[];
  /** Companion tensors of the layer that pass through unfused. */
  readonly passthrough: readonly string[];
}

export interface UntouchedLayerPlan extends LayerBase {
  readonly state: "untouched";
  readonly reasons: readonly UntouchedReason[];
}

export interface AlreadyFusedLayerPlan extends LayerBase {
  readonly state: "already-fused";
  /** The fused tensors that make it so. */
  readonly tensors: readonly string[];
}

export interface DenseLayerPlan extends LayerBase {
  readonly state: "dense";
  readonly reason: string;
}

export type LayerPlan = FusedLayerPlan | UntouchedLayerPlan | AlreadyFusedLayerPlan | DenseLayerPlan;

export interface FusePlan {
  readonly target: FuseTarget;
  /** Registry name of the layout used. */
  readonly layout: string;
  readonly modelType: string | undefined;
  readonly modelTypeKey: ModelTypeKey | undefined;
  /** Undefined: no expert count in the config (dense, nothing changes). */
  readonly expertCount: ExpertCount | undefined;
  /** MoE layers by prefix, in natural order. */
  readonly layers: readonly LayerPlan[];
  /** Tensors the prefuse writes, in layer order. */
  readonly outputs: readonly PlannedOutput[];
  /** Input tensors replaced by the outputs; every other tensor passes through bit for bit. */
  readonly consumed: readonly string[];
  readonly warnings: readonly string[];
}

export interface PlanOptions {
  readonly target?: FuseTarget;
  /** How errors and warnings name config.json. */
  readonly configFile?: string;
  readonly registry?: readonly ExpertLayout[];
  /** How the points oQ's contract leaves open are read (default: this project's reading). */
  readonly readings?: PrefuseReadings;
}

function distinctExperts(g: ExpertGroup): number {
  return new Set(g.perExpert.map((t) => t.expert)).size;
}

function existingTensors(g: ExpertGroup): string[] {
  return [...(g.fused.gateUp === undefined ? [] : [g.fused.gateUp]), ...(g.fused.down === undefined ? [] : [g.fused.down]), ...g.switched.map((s) => s.name)];
}

/** The layer weights the `promote` reading converts to F32 (none under other readings). */
export function promotedWeights(specs: ReadonlyMap<string, TensorSpec>, config: ModelConfig, options: PlanOptions = {}): string[] {
  const readings = options.readings ?? DEFAULT_READINGS;
  return readings.mixedDtypes === "promote" ? mixedLayerWeights(specs, layoutFor(config, options).layout) : [];
}

function layoutFor(config: ModelConfig, options: PlanOptions): ReturnType<typeof selectLayout> {
  const known = options.readings?.layouts;
  const registry = (options.registry ?? EXPERT_LAYOUTS).filter((l) => known === undefined || known.includes(l.name));
  return selectLayout(config, registry);
}

export function planPrefuse(given: ReadonlyMap<string, TensorSpec>, config: ModelConfig, options: PlanOptions = {}): FusePlan {
  const target = options.target ?? "fused";
  const file = options.configFile ?? CONFIG_FILE;
  const readings = options.readings ?? DEFAULT_READINGS;
  const choice = layoutFor(config, options);
  const layout = choice.layout;
  const promoted = promotedWeights(given, config, options);
  const specs: ReadonlyMap<string, TensorSpec> = promoted.length > 0 ? promotedSpecs(given, promoted) : given;
  const expertCount = resolveExpertCount(config, file, countLookupOf(readings));
  const warnings: string[] = [...(expertCount?.warnings ?? [])];
  const layers: LayerPlan[] = [];
  const outputs: PlannedOutput[] = [];
  const producedBy = new Map<string, string>();

  const fuse = (g: ExpertGroup, source: FusedLayerPlan["source"], made: PlannedOutput[], passthrough: readonly string[], expertsFound: number, dropped: readonly string[] = []): void => {
    const taken = made.filter((o) => specs.has(o.name)).map((o) => o.name);
    if (taken.length > 0) {
      layers.push({ prefix: g.prefix, expertsFound, state: "already-fused", tensors: taken });
      return;
    }
    const clash = made.find((o) => producedBy.has(o.name));
    if (clash !== undefined) {
      const reason = `output ${clash.name} would also be written by layer ${producedBy.get(clash.name)}`;
      layers.push({ prefix: g.prefix, expertsFound, state: "untouched", reasons: [{ code: "MIXED_LAYOUT", tensor: clash.name, message: reason }] });
      return;
    }
    for (const o of made) producedBy.set(o.name, g.prefix);
    outputs.push(...made);
    const consumed = [...new Set([...made.flatMap((o) => recipeInputs(o.recipe)), ...dropped])];
    layers.push({ prefix: g.prefix, expertsFound, state: "fused", source, outputs: made.map((o) => o.name), consumed, passthrough });
    if (passthrough.length > 0) {
      const kinds = [...new Set(passthrough.map((n) => n.slice(n.lastIndexOf(".") + 1)))].join(", ");
      const rule = target === "fused" ? "the fused target fuses .weight tensors only" : "the switch_mlp target stacks .weight, .scales and .biases only";
      warnings.push(`layer ${g.prefix}: ${passthrough.length} companion tensor(s) (${kinds}) pass through per expert; ${rule}`);
    }
  };

  const groups = scanExperts(specs.keys(), layout);
  const scanned = readings.prefixPattern === undefined ? undefined : new RegExp(readings.prefixPattern);
  // The `checkpoint` reading: one fused layer anywhere leaves the whole checkpoint as it is.
  const fusedElsewhere = readings.alreadyFused === "checkpoint" && target === "fused" ? groups.find((g) => existingTensors(g).length > 0) : undefined;
  for (const g of groups) {
    const existing = existingTensors(g);
    const found = g.perExpert.length > 0 ? distinctExperts(g) : (specs.get(g.fused.gateUp ?? g.fused.down ?? "")?.shape[0] ?? 0);
    const base = { prefix: g.prefix, expertsFound: found };
    if (expertCount === undefined || expertCount.count === 0) {
      const reason = expertCount === undefined ? "the config has no expert count, so the checkpoint is treated as dense" : `'${expertCount.key}' is 0 and decides: no experts, so the checkpoint is treated as dense`;
      if (g.perExpert.length > 0) layers.push({ ...base, state: "dense", reason });
      else layers.push({ ...base, state: "already-fused", tensors: existing });
      continue;
    }
    const E = expertCount.count;
    const hasFused = g.fused.gateUp !== undefined || g.fused.down !== undefined;
    if (g.switched.length > 0 || (target === "fused" && hasFused)) {
      layers.push({ ...base, state: "already-fused", tensors: existing });
      continue;
    }
    if (scanned !== undefined && !scanned.test(g.prefix)) {
      layers.push({ ...base, state: "untouched", reasons: [{ code: "NOT_SCANNED", message: `${g.prefix} is outside the layer prefixes this reading scans (/${readings.prefixPattern}/)` }] });
      continue;
    }
    if (fusedElsewhere !== undefined) {
      const message = `${existingTensors(fusedElsewhere)[0]} is already fused, so the whole checkpoint is left as it is`;
      layers.push({ ...base, state: "untouched", reasons: [{ code: "CHECKPOINT_FUSED", tensor: existingTensors(fusedElsewhere)[0], message }] });
      continue;
    }
    if (hasFused && g.perExpert.length > 0) {
      const message = `per-expert tensors and fused tensors (${existing.join(", ")}) under one prefix`;
      layers.push({ ...base, state: "untouched", reasons: [{ code: "MIXED_LAYOUT", message }] });
      continue;
    }
    if (hasFused) {
      // switch_mlp target, fused layer: split gate_up, carry down over.
      const { gateUp, down } = g.fused;
      const problem =
        gateUp === undefined || down === undefined
          ? `${gateUp ?? down} has no ${gateUp === undefined ? "gate_up_proj" : "down_proj"} partner`
          : fusedProblem(specs.get(gateUp)!, specs.get(down)!, E, layout);
      if (typeof problem === "string") {
        layers.push({ ...base, state: "untouched", reasons: [{ code: "FUSED_MISMATCH", tensor: gateUp ?? down, message: problem }] });
        continue;
      }
      const made = fusedToSwitchOutputs({ name: gateUp!, spec: specs.get(gateUp!)! }, { name: down!, spec: specs.get(down!)! }, problem, layout, g.prefix);
      fuse(g, "fused", made, [], found);
      continue;
    }
    const check = checkExpertLayer(g.perExpert, specs, E, layout, target, readings.extraExperts, readings.duplicates);
    if (!check.ok) {
      layers.push({ ...base, state: "untouched", reasons: check.reasons });
      continue;
    }
    fuse(g, "per-expert", perExpertOutputs(check.layer, layout, g.prefix, target), check.layer.passthrough, found, check.layer.dropped);
  }

  // oQ fuses after dequantizing: fused FP8 bytes, their scales still per expert, are rarely wanted.
  const fp8Layers = new Set(outputs.filter((o) => isFloat8(o.dtype)).map((o) => o.layer));
  if (fp8Layers.size > 0) {
    warnings.push(`FP8 expert weights are fused as FP8 in ${fp8Layers.size} layer(s), their scales left per expert; dequantize first (fuse --dequant-fp8, or dequantFp8), as oQ does before its prefuse`);
  }
  const consumed = layers.flatMap((l) => (l.state === "fused" ? l.consumed : []));
  return { target, layout: layout.name, modelType: choice.modelType, modelTypeKey: choice.key, expertCount, layers, outputs, consumed, warnings };
}

/** Why a fused pair cannot be split into switch_mlp tensors, or its dims. */
function fusedProblem(gateUp: TensorSpec, down: TensorSpec, E: number, layout: ExpertLayout): ReturnType<typeof fusedDims> {
  const dims = fusedDims(gateUp.shape, down.shape, layout.orientation);
  if (typeof dims === "string") return dims;
  if (dims.E !== E) return `the fused tensors hold ${dims.E} experts, the config says ${E}`;
  if (gateUp.dtype !== down.dtype) return `gate_up is ${gateUp.dtype} but down is ${down.dtype}`;
  if (elementBytes(gateUp) === undefined) return `${gateUp.dtype} elements are smaller than a byte and cannot be split per expert`;
  return dims;
}
