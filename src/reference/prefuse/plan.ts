// The plan: which layers the prefuse fuses, which it leaves alone and why, and the exact tensors
// it will write. It is computed from names, dtypes and shapes alone (headers), so a 60 GiB
// checkpoint is planned in milliseconds and every decision is visible before any byte moves.
//
// Layer states, the one vocabulary of plans, `inspect`, fixtures checks and reports:
// `fused` (this run fuses or stacks it), `untouched` (it cannot be: incomplete, inconsistent, or
// a form no loader-defined conversion turns into this target; reasons say exactly why),
// `already-fused` (it is in a stacked form already: fused or MLX tensors, stacks under the
// family's own names, or its output names are taken), `dense` (the config has no expert count,
// so the checkpoint is treated as dense and nothing changes, as oQ does). Every group of expert
// tensors the scanner finds gets one, with a code (`LayerCode`) saying why.

import type { ModelConfig } from "../checkpoint.js";
import { CONFIG_FILE } from "../checkpoint.js";
import { isFloat8 } from "../dtypes.js";
import { elementBytes } from "../ops/geometry.js";
import type { TensorSpec } from "../tensor.js";
import { EXPERT_COUNT_KEYS, type ExpertCount, resolveExpertCount, resolveSubModelCount } from "./expert-count.js";
import { checkExpertLayer, namesOf } from "./layer-check.js";
import {
  DEFAULT_LAYOUT,
  EXPERT_LAYOUTS,
  type ExpertLayout,
  type FuseTarget,
  type LayoutChoice,
  type ModelTypeKey,
  PROJECTIONS,
  configModelType,
  selectLayout,
} from "./layouts.js";
import { mixedLayerWeights, promotedSpecs } from "./promote.js";
import { DEFAULT_READINGS, type PrefuseReadings, countLookupOf } from "./readings.js";
import type { LayerCode, UntouchedReason } from "./reasons.js";
import { type FusedInput, type PlannedOutput, fusedToSwitchOutputs, interleavedToSwitchOutputs, perExpertOutputs, recipeInputs } from "./recipes.js";
import { type ExpertGroup, scanExperts } from "./scan.js";
import { fusedDims, sameShape } from "./shapes.js";

export type LayerState = "fused" | "untouched" | "already-fused" | "dense";

interface LayerBase {
  readonly prefix: string;
  /** Distinct expert ids among its per-expert tensors, or E of its fused tensors. */
  readonly expertsFound: number;
  /** Why the layer has its state (an untouched layer: its first reason's code). */
  readonly code: LayerCode;
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
  /** Sub-models with counts of their own (qwen3_omni_moe's thinker and talker), by tensor prefix. */
  readonly subModelCounts: readonly { readonly prefix: string; readonly count: ExpertCount | undefined }[];
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
  return [
    ...(g.fused.gateUp === undefined ? [] : [g.fused.gateUp]),
    ...(g.fused.down === undefined ? [] : [g.fused.down]),
    ...g.fusedCompanions,
    ...g.switched.map((s) => s.name),
  ];
}

/** What planning needs besides the group: the target, the layout and where counts come from. */
interface PlanContext {
  readonly specs: ReadonlyMap<string, TensorSpec>;
  readonly target: FuseTarget;
  readonly layout: ExpertLayout;
  readonly countFor: (prefix: string) => ExpertCount | undefined;
  readonly readings: PrefuseReadings;
  /** The layer prefixes a reading scans (`prefixPattern`); undefined: every prefix. */
  readonly scanned: RegExp | undefined;
  /** Per-expert names a reading scans (the known layouts' names); undefined: every naming the scanner knows. */
  readonly scannedNames: ReadonlySet<string> | undefined;
  /** The `checkpoint` reading of already-fused: a tensor that is fused already, anywhere in the checkpoint. */
  readonly fusedElsewhere: string | undefined;
}

/** A group's decision: a layer that needs no outputs, or the outputs a fused layer would get. */
type Decision =
  | { readonly layer: LayerPlan }
  | {
      readonly made: PlannedOutput[];
      readonly source: FusedLayerPlan["source"];
      readonly passthrough: readonly string[];
      readonly code: LayerCode;
      /** Inputs removed without an output (the `drop` reading of extra experts). */
      readonly dropped?: readonly string[];
    };

const untouched = (prefix: string, expertsFound: number, reasons: readonly UntouchedReason[]): { layer: LayerPlan } => ({
  layer: { prefix, expertsFound, state: "untouched", code: reasons[0]!.code, reasons },
});

/** The state of one group of expert tensors, in the order the cases exclude each other. */
function decide(g: ExpertGroup, ctx: PlanContext): Decision {
  const { specs, target, layout } = ctx;
  const existing = existingTensors(g);
  const count = ctx.countFor(g.prefix);
  // Stacks lead with the expert axis, except dbrx's 2-D [E * I, H]: there only the config can say.
  const stack = specs.get(g.fused.gateUp ?? g.fused.down ?? g.fusedCompanions[0] ?? g.stacked[0] ?? "");
  const stackExperts = stack === undefined ? 0 : stack.shape.length >= 3 ? stack.shape[0]! : (count?.count ?? 0);
  const found = g.perExpert.length > 0 ? distinctExperts(g) : stackExperts;
  const base = { prefix: g.prefix, expertsFound: found };
  const hasFused = g.fused.gateUp !== undefined || g.fused.down !== undefined || g.fusedCompanions.length > 0;
  if (g.perExpert.length === 0 && !hasFused && g.switched.length === 0) {
    if (g.stacked.length > 0) {
      return { layer: { ...base, state: "already-fused", code: "STACKED_OTHER_NAME", tensors: g.stacked } };
    }
    const message = `${g.unrecognized.length} expert tensor(s) of no known form (e.g. ${g.unrecognized[0]}): left as they are`;
    return untouched(g.prefix, found, [{ code: "UNRECOGNIZED_EXPERTS", tensor: g.unrecognized[0], message }]);
  }
  if (count === undefined || count.count === 0) {
    const reason =
      count === undefined
        ? "the config has no expert count, so the checkpoint is treated as dense"
        : `'${count.key}' is 0 and decides: no experts, so the checkpoint is treated as dense`;
    if (g.perExpert.length > 0) return { layer: { ...base, state: "dense", code: "NO_EXPERT_COUNT", reason } };
    return { layer: { ...base, state: "already-fused", code: "ALREADY_FUSED", tensors: existing } };
  }
  const E = count.count;
  if (g.switched.length > 0 || (target === "fused" && hasFused))
    return { layer: { ...base, state: "already-fused", code: "ALREADY_FUSED", tensors: existing } };
  // The readings of oQ's open points (readings.ts): prefixes and names it does not scan, one early return.
  const { readings, scanned, scannedNames, fusedElsewhere } = ctx;
  if (scanned !== undefined && !scanned.test(g.prefix)) {
    return untouched(g.prefix, found, [
      { code: "NOT_SCANNED", message: `${g.prefix} is outside the layer prefixes this reading scans (/${readings.prefixPattern}/)` },
    ]);
  }
  const unscannedName = scannedNames === undefined ? undefined : g.perExpert.find((t) => !scannedNames.has(t.leaf));
  if (unscannedName !== undefined) {
    const message = `${unscannedName.name}: '${unscannedName.leaf}' is not among the per-expert names this reading scans (${[...scannedNames!].join(", ")})`;
    return untouched(g.prefix, found, [{ code: "NOT_SCANNED", tensor: unscannedName.name, message }]);
  }
  if (fusedElsewhere !== undefined) {
    return untouched(g.prefix, found, [
      { code: "CHECKPOINT_FUSED", tensor: fusedElsewhere, message: `${fusedElsewhere} is already fused, so the whole checkpoint is left as it is` },
    ]);
  }
  if (hasFused && g.perExpert.length > 0) {
    const message = `per-expert tensors and fused tensors (${existing.join(", ")}) under one prefix`;
    return untouched(g.prefix, found, [{ code: "MIXED_LAYOUT", message }]);
  }
  if (hasFused && layout.storage === "non-gated") {
    return untouched(g.prefix, found, [
      {
        code: "NON_GATED",
        tensor: g.fused.gateUp ?? g.fused.down,
        message: `fused gate_up tensors in a ${layout.name} checkpoint, whose experts have no gate: no loader defines a split for them`,
      },
    ]);
  }
  if (hasFused) return splitFused(g, ctx, E, found);
  // Up and down only is nemotron_h's design (its registry entry says so); elsewhere a layer
  // without gates is a damaged gated layer, and each missing gate is named.
  const gated = layout.storage !== "non-gated" || g.perExpert.some((t) => t.projection === "gate");
  if (!gated && target === "fused") {
    const message = "non-gated experts (up and down projections, no gate): transformers v5 defines no fused gate_up form for them";
    return untouched(g.prefix, found, [{ code: "NON_GATED", message }]);
  }
  if (target === "fused" && layout.storage === "fused-interleaved") {
    const message = `${layout.name} fuses gate and up interleaved (gate_up[..., ::2] / [..., 1::2]); the prefuse writes no interleaved form, so the per-expert tensors stay`;
    return untouched(g.prefix, found, [{ code: "INTERLEAVED", message }]);
  }
  const shape = { projections: gated ? PROJECTIONS : (["up", "down"] as const), names: namesOf(g.perExpert, layout) };
  const check = checkExpertLayer(g.perExpert, specs, E, layout, target, shape, readings);
  if (!check.ok) return untouched(g.prefix, found, check.reasons);
  const { passthrough, dropped } = check.layer;
  return { made: perExpertOutputs(check.layer, layout, g.prefix, target), source: "per-expert", passthrough, code: "PER_EXPERT_COMPLETE", dropped };
}

/** switch_mlp target, fused layer: split gate_up, carry down over (rows or columns, as the layout stores them). */
function splitFused(g: ExpertGroup, ctx: PlanContext, E: number, found: number): Decision {
  const { specs, layout } = ctx;
  const { gateUp, down } = g.fused;
  if (g.fusedCompanions.length > 0 || layout.storage === "fused-interleaved") {
    const mxfp4 = layout.storage === "fused-interleaved" && gateUp === undefined && down === undefined ? mxfp4Parts(g, specs, E) : "not gpt-oss's MXFP4 blocks";
    if (typeof mxfp4 !== "string") return { made: interleavedToSwitchOutputs(mxfp4, layout, g.prefix), source: "fused", passthrough: [], code: "SPLIT_FUSED" };
    const message =
      `fused experts with gate and up interleaved (${existingTensors(g).join(", ")}): ${mxfp4}; ` +
      "mlx-lm's gpt_oss sanitize splits only the MXFP4 release's blocks (rows), so the prefuse leaves these as they are";
    return untouched(g.prefix, found, [{ code: "INTERLEAVED", tensor: gateUp ?? g.fusedCompanions[0], message }]);
  }
  const problem =
    gateUp === undefined || down === undefined
      ? `${gateUp ?? down} has no ${gateUp === undefined ? "gate_up_proj" : "down_proj"} partner`
      : fusedProblem(specs.get(gateUp)!, specs.get(down)!, E, layout);
  if (typeof problem === "string") return untouched(g.prefix, found, [{ code: "FUSED_MISMATCH", tensor: gateUp ?? down, message: problem }]);
  const made = fusedToSwitchOutputs({ name: gateUp!, spec: specs.get(gateUp!)! }, { name: down!, spec: specs.get(down!)! }, problem, layout, g.prefix);
  return { made, source: "fused", passthrough: [], code: "SPLIT_FUSED" };
}

const MXFP4_PARTS = ["gate_up_proj_blocks", "gate_up_proj_scales", "down_proj_blocks", "down_proj_scales"] as const;

/** gpt-oss's MXFP4 tensors of a layer, by suffix, or why they are not a set mlx-lm's sanitize splits. */
function mxfp4Parts(g: ExpertGroup, specs: ReadonlyMap<string, TensorSpec>, E: number): Record<string, FusedInput> | string {
  const parts: Record<string, FusedInput> = {};
  for (const name of g.fusedCompanions) parts[name.slice(`${g.prefix}.experts.`.length)] = { name, spec: specs.get(name)! };
  const missing = MXFP4_PARTS.filter((p) => parts[p] === undefined);
  if (missing.length > 0) return `no ${missing.join(", ")}`;
  const [gb, gs, db, ds] = MXFP4_PARTS.map((p) => parts[p]!.spec);
  const [gBias, dBias] = [parts.gate_up_proj_bias?.spec, parts.down_proj_bias?.spec];
  const [e, twoI, G] = gb!.shape;
  const [, H, Gd] = db!.shape;
  const ok =
    gb!.dtype === "U8" &&
    db!.dtype === "U8" &&
    gb!.shape.length === 4 &&
    db!.shape.length === 4 &&
    gb!.shape[3] === 16 &&
    db!.shape[3] === 16 &&
    e === E &&
    db!.shape[0] === E &&
    twoI! % 2 === 0 &&
    sameShape(gs!.shape, [E, twoI!, G!]) &&
    sameShape(ds!.shape, [E, H!, Gd!]) &&
    (gBias === undefined || sameShape(gBias.shape, [E, twoI!])) &&
    (dBias === undefined || sameShape(dBias.shape, [E, H!]));
  return ok ? parts : `blocks and scales do not form MXFP4 [E, 2I, G, 16] / [E, 2I, G] and [E, H, G', 16] / [E, H, G'] of ${E} experts`;
}

/** Warnings that say what the plan assumed about the family (registry entry or default rules). */
function familyWarnings(choice: LayoutChoice, config: ModelConfig, target: FuseTarget, fusedAny: boolean, groups: number): string[] {
  const layout = choice.layout;
  const out: string[] = [];
  if (choice.modelType === undefined && groups > 0) {
    const mt = configModelType(config);
    out.push(
      `model_type ${mt === undefined ? "(none)" : `'${mt.modelType}'`} is not in the layout registry: assumed the default rules (expert count from ${EXPERT_COUNT_KEYS.join(", ")}; ` +
        `per-expert gate/up/down as named on disk; fused as <prefix>.experts.gate_up_proj [E, 2I, H] rows; MLX stack <prefix>.switch_mlp.{gate,up,down}_proj)`,
    );
  }
  if (!fusedAny || choice.modelType === undefined) return out;
  if (target === "fused" && layout.fusedBy === undefined && layout.storage === "per-expert") {
    out.push(`transformers v5 defines no fused form for ${layout.name}: the fused target wrote the generic <prefix>.experts.gate_up_proj / down_proj names`);
  }
  if (target === "switch_mlp" && layout.mlxLoader === undefined)
    out.push(`no MLX loader reads ${layout.name}: the switch_mlp target wrote the default switch_mlp names`);
  if (target === "switch_mlp" && layout.mlxCaveat !== undefined) out.push(layout.mlxCaveat);
  return out;
}

/** The layer weights the `promote` reading converts to F32 (none under other readings). */
export function promotedWeights(specs: ReadonlyMap<string, TensorSpec>, options: PlanOptions = {}): string[] {
  return (options.readings ?? DEFAULT_READINGS).mixedDtypes === "promote" ? mixedLayerWeights(specs) : [];
}

/** The registry entries a reading knows (the `layouts` reading; the rest fall back to the default rules). */
function knownLayouts(options: PlanOptions): readonly ExpertLayout[] {
  const known = options.readings?.layouts;
  return (options.registry ?? EXPERT_LAYOUTS).filter((l) => known === undefined || known.includes(l.name));
}

export function planPrefuse(given: ReadonlyMap<string, TensorSpec>, config: ModelConfig, options: PlanOptions = {}): FusePlan {
  const target = options.target ?? "fused";
  const file = options.configFile ?? CONFIG_FILE;
  const readings = options.readings ?? DEFAULT_READINGS;
  const choice = selectLayout(config, knownLayouts(options));
  const layout = choice.layout;
  const promoted = promotedWeights(given, options);
  const specs: ReadonlyMap<string, TensorSpec> = promoted.length > 0 ? promotedSpecs(given, promoted) : given;
  const expertCount = resolveExpertCount(config, file, layout.countKeys, countLookupOf(readings));
  const subModelCounts = (layout.subModels ?? []).map((s) => ({ prefix: s.prefix, count: resolveSubModelCount(config, s.countKey, file) }));
  // A sub-model's own count wins for its layers; without one, the checkpoint's count applies.
  const countFor = (prefix: string): ExpertCount | undefined => {
    const sub = subModelCounts.find((s) => prefix.startsWith(s.prefix));
    return sub?.count ?? expertCount;
  };
  const warnings: string[] = [...(expertCount?.warnings ?? [])];
  const layers: LayerPlan[] = [];
  const outputs: PlannedOutput[] = [];
  const producedBy = new Map<string, string>();
  const groups = scanExperts(specs);

  const scanned = readings.prefixPattern === undefined ? undefined : new RegExp(readings.prefixPattern);
  const scannedNames =
    readings.layouts === undefined ? undefined : new Set([DEFAULT_LAYOUT, ...knownLayouts(options)].flatMap((l) => PROJECTIONS.map((p) => l.perExpert[p])));
  // The `checkpoint` reading: one fused layer anywhere leaves the whole checkpoint as it is.
  const fusedElsewhere = readings.alreadyFused === "checkpoint" && target === "fused" ? groups.map(existingTensors).find((t) => t.length > 0)?.[0] : undefined;
  const ctx: PlanContext = { specs, target, layout, countFor, readings, scanned, scannedNames, fusedElsewhere };

  for (const g of groups) {
    const d = decide(g, ctx);
    // Tensors of no known form beside recognised ones are never silent: they pass through, said here.
    const stray = g.unrecognized;
    const known =
      g.perExpert.length +
      g.stacked.length +
      g.switched.length +
      g.fusedCompanions.length +
      (g.fused.gateUp === undefined ? 0 : 1) +
      (g.fused.down === undefined ? 0 : 1);
    if (stray.length > 0 && known > 0) warnings.push(`layer ${g.prefix}: ${stray.length} expert tensor(s) of no known form pass through (e.g. ${stray[0]})`);
    if ("layer" in d) {
      layers.push(d.layer);
      continue;
    }
    const { made, source, passthrough, code, dropped = [] } = d;
    const expertsFound = g.perExpert.length > 0 ? distinctExperts(g) : made[0]!.shape[0]!;
    const taken = made.filter((o) => specs.has(o.name)).map((o) => o.name);
    if (taken.length > 0) {
      layers.push({ prefix: g.prefix, expertsFound, state: "already-fused", code: "OUTPUT_EXISTS", tensors: taken });
      continue;
    }
    const clash = made.find((o) => producedBy.has(o.name));
    if (clash !== undefined) {
      const reason = `output ${clash.name} would also be written by layer ${producedBy.get(clash.name)}`;
      layers.push({
        prefix: g.prefix,
        expertsFound,
        state: "untouched",
        code: "MIXED_LAYOUT",
        reasons: [{ code: "MIXED_LAYOUT", tensor: clash.name, message: reason }],
      });
      continue;
    }
    for (const o of made) producedBy.set(o.name, g.prefix);
    outputs.push(...made);
    const consumed = [...new Set([...made.flatMap((o) => recipeInputs(o.recipe)), ...dropped])];
    layers.push({ prefix: g.prefix, expertsFound, state: "fused", code, source, outputs: made.map((o) => o.name), consumed, passthrough });
    if (passthrough.length > 0) {
      const kinds = [...new Set(passthrough.map((n) => n.slice(n.lastIndexOf(".") + 1)))].join(", ");
      const rule = target === "fused" ? "the fused target fuses .weight tensors only" : "the switch_mlp target stacks .weight, .scales and .biases only";
      warnings.push(`layer ${g.prefix}: ${passthrough.length} companion tensor(s) (${kinds}) pass through per expert; ${rule}`);
    }
  }
  warnings.push(...familyWarnings(choice, config, target, outputs.length > 0, groups.length));

  // oQ fuses after dequantizing: fused FP8 bytes, their scales still per expert, are rarely wanted.
  const fp8Layers = new Set(outputs.filter((o) => isFloat8(o.dtype)).map((o) => o.layer));
  if (fp8Layers.size > 0) {
    warnings.push(
      `FP8 expert weights are fused as FP8 in ${fp8Layers.size} layer(s), their scales left per expert; dequantize first (fuse --dequant-fp8, or dequantFp8), as oQ does before its prefuse`,
    );
  }
  const consumed = layers.flatMap((l) => (l.state === "fused" ? l.consumed : []));
  return {
    target,
    layout: layout.name,
    modelType: choice.modelType,
    modelTypeKey: choice.key,
    expertCount,
    subModelCounts,
    layers,
    outputs,
    consumed,
    warnings,
  };
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
