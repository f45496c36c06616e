// From a spec to a plan: config.json plus one producer per tensor, in name order. This is where
// the variants act on the family's layout: MoE layers are emitted per expert, fused (as the
// family stores fused experts) or damaged (a missing expert or projection, a wrong shape or
// dtype, a missing FP8 scale, an extra expert id), and FP8 replaces each quantizable weight by
// its E4M3 codes and block scales. Nothing is computed until a producer is filled.

import type { ModelConfig } from "../reference/checkpoint.js";
import { numelOf } from "../reference/dtypes.js";
import { UsageError } from "../reference/errors.js";
import { compareNames } from "../reference/safetensors/layout.js";
import { buildConfig } from "./config.js";
import type { FloatDType } from "./float-codec.js";
import { EXPERT_DISTRIBUTION, type MoeBlockDecl, ROLE_DISTRIBUTION, modelLayout } from "./model-layout.js";
import {
  type TensorProducer,
  concatProducer,
  convertedProducer,
  expertProducer,
  fp8ScaleProducer,
  fp8WeightProducer,
  interleavedRowsProducer,
  plainProducer,
  transposedProducer,
} from "./producers.js";
import { type FixtureSpec, type ResolvedPartial, type ResolvedSpec, layerKey, resolveSpec } from "./spec.js";
import { type KindRef, ValueCache, cacheBudget } from "./value-cache.js";
import { SIGN_PERIOD } from "./values.js";
import { PROJECTIONS, type Projection } from "../reference/prefuse/layouts.js";

export interface FixturePlan {
  readonly spec: ResolvedSpec;
  readonly config: ModelConfig;
  readonly metadata: Readonly<Record<string, string>>;
  /** Every tensor, in name order (UTF-8 bytes). */
  readonly tensors: ReadonlyMap<string, TensorProducer>;
}

/** What transformers' save_pretrained writes into every safetensors header. */
const FIXTURE_METADATA: Readonly<Record<string, string>> = { format: "pt" };

class Emitter {
  readonly tensors = new Map<string, TensorProducer>();
  readonly cache: ValueCache;

  constructor(readonly spec: ResolvedSpec) {
    // Expert kinds are the largest arrays drawn (I x H elements of up to 4 bytes).
    this.cache = new ValueCache(spec.seed, cacheBudget(spec.intermediate * spec.hidden * 4));
  }

  add(name: string, p: TensorProducer): void {
    if (this.tensors.has(name)) throw new Error(`fixture plan declares ${name} twice`);
    this.tensors.set(name, p);
  }

  /** A weight: its kind's values, as they are or (FP8, quantizable 2-D) as E4M3 codes plus scales. */
  weight(name: string, kind: KindRef, quantizable: boolean, expert?: number, withScale = true): void {
    const source = expert === undefined ? { kind } : expertSource(kind, expert);
    const fp8 = this.spec.fp8;
    if (fp8 !== undefined && quantizable && kind.shape.length === 2) {
      this.add(name, fp8WeightProducer(this.cache, source.kind, fp8, source.expert));
      if (withScale) this.add(`${name}${fp8.scaleSuffix}`, fp8ScaleProducer(this.cache, source.kind, fp8, source.expert));
      return;
    }
    this.add(name, this.values(source));
  }

  /** The 16-bit (or F32) values of expert `e` of a kind, as stored per expert or inside a fused tensor. */
  expert(kind: KindRef, e: number): TensorProducer<FloatDType> {
    return this.values(expertSource(kind, e));
  }

  private values(source: { kind: KindRef; expert?: number }): TensorProducer<FloatDType> {
    return source.expert === undefined ? plainProducer(this.cache, source.kind) : expertProducer(this.cache, source.kind, source.expert);
  }
}

/**
 * Where expert `e`'s values come from: large experts vary the kind's base (cheap at any scale);
 * experts too small for that to make them all distinct (fewer elements than a sign pattern) are
 * kinds of their own, drawn independently.
 */
function expertSource(kind: KindRef, e: number): { kind: KindRef; expert?: number } {
  return numelOf(kind.shape) < SIGN_PERIOD ? { kind: { ...kind, key: `${kind.key}#${e}` } } : { kind, expert: e };
}

function expertKinds(spec: ResolvedSpec, block: MoeBlockDecl): Record<Projection, KindRef> {
  const names = spec.family.moe.projections;
  const kind = (p: Projection, shape: readonly number[]): KindRef => ({
    key: `${block.blockPrefix}.experts.*.${names[p]}.weight`,
    dtype: spec.dtype,
    shape,
    dist: EXPERT_DISTRIBUTION,
  });
  const I = spec.intermediate;
  const H = spec.hidden;
  return { gate: kind("gate", [I, H]), up: kind("up", [I, H]), down: kind("down", [H, I]) };
}

function emitFused(em: Emitter, block: MoeBlockDecl, kinds: Record<Projection, KindRef>): void {
  const { experts: E, intermediate: I, hidden: H } = em.spec;
  const ids = Array.from({ length: E }, (_, e) => e);
  const expert = (p: Projection, e: number) => em.expert(kinds[p], e);
  const p = `${block.fusedPrefix}.experts`;
  // The columns layouts (and gpt-oss) store down transposed: [E, I, H].
  const downColumns = () =>
    concatProducer(
      ids.map((e) => transposedProducer(expert("down", e), H, I, [I, H])),
      [E, I, H],
    );
  switch (em.spec.family.moe.fusedStyle) {
    case "rows":
      em.add(
        `${p}.gate_up_proj`,
        concatProducer(
          ids.map((e) => concatProducer([expert("gate", e), expert("up", e)], [2 * I, H])),
          [E, 2 * I, H],
        ),
      );
      em.add(
        `${p}.down_proj`,
        concatProducer(
          ids.map((e) => expert("down", e)),
          [E, H, I],
        ),
      );
      return;
    case "columns": {
      const gateUp = ids.map((e) => transposedProducer(concatProducer([expert("gate", e), expert("up", e)], [2 * I, H]), 2 * I, H, [H, 2 * I]));
      em.add(`${p}.gate_up_proj`, concatProducer(gateUp, [E, H, 2 * I]));
      em.add(`${p}.down_proj`, downColumns());
      return;
    }
    case "interleaved": {
      // transformers' GptOssExperts: gate_up_proj [E, H, 2I], gate = [..., ::2], up = [..., 1::2]; biases alongside.
      const gateUp = ids.map((e) => transposedProducer(interleavedRowsProducer(expert("gate", e), expert("up", e), I, [2 * I, H]), 2 * I, H, [H, 2 * I]));
      em.add(`${p}.gate_up_proj`, concatProducer(gateUp, [E, H, 2 * I]));
      em.add(`${p}.down_proj`, downColumns());
      const bias = (leaf: string, shape: readonly number[]) =>
        em.weight(`${p}.${leaf}`, { key: `${p}.${leaf}`, dtype: em.spec.dtype, shape, dist: ROLE_DISTRIBUTION.bias }, false);
      bias("gate_up_proj_bias", [E, 2 * I]);
      bias("down_proj_bias", [E, H]);
      return;
    }
  }
}

/** Experts stacked under a family's own names: the only form its releases have. */
function emitStacked(em: Emitter, block: MoeBlockDecl, kinds: Record<Projection, KindRef>, style: "granite" | "dbrx" | "step"): void {
  const { experts: E, intermediate: I, hidden: H } = em.spec;
  const ids = Array.from({ length: E }, (_, e) => e);
  const expert = (p: Projection, e: number) => em.expert(kinds[p], e);
  const stack = (p: Projection, shape: readonly number[]) =>
    concatProducer(
      ids.map((e) => expert(p, e)),
      shape,
    );
  const b = block.blockPrefix;
  switch (style) {
    case "granite":
      // input_linear [E, 2I, H] (gate rows then up rows, split in halves by mlx-lm's granitemoe), output_linear [E, H, I].
      em.add(
        `${b}.input_linear.weight`,
        concatProducer(
          ids.map((e) => concatProducer([expert("gate", e), expert("up", e)], [2 * I, H])),
          [E, 2 * I, H],
        ),
      );
      em.add(`${b}.output_linear.weight`, stack("down", [E, H, I]));
      return;
    case "dbrx":
      // experts.mlp.{w1,v1,w2} [E*I, H]; mlx-lm's dbrx splits them per expert and transposes w2.
      em.add(`${b}.experts.mlp.w1`, stack("gate", [E * I, H]));
      em.add(`${b}.experts.mlp.v1`, stack("up", [E * I, H]));
      em.add(
        `${b}.experts.mlp.w2`,
        concatProducer(
          ids.map((e) => transposedProducer(expert("down", e), H, I, [I, H])),
          [E * I, H],
        ),
      );
      return;
    case "step":
      em.add(`${b}.gate_proj.weight`, stack("gate", [E, I, H]));
      em.add(`${b}.up_proj.weight`, stack("up", [E, I, H]));
      em.add(`${b}.down_proj.weight`, stack("down", [E, H, I]));
      return;
  }
}

function wrongShape(p: ResolvedPartial, correct: readonly number[]): readonly number[] {
  const shape = p.shape ?? [correct[0]! + 1, ...correct.slice(1)];
  if (shape.length === correct.length && shape.every((d, i) => d === correct[i])) {
    throw new UsageError("INVALID_ARGUMENT", `partial:wrong-shape at layer ${p.layer}: [${shape.join(", ")}] is the correct shape`);
  }
  return shape;
}

function wrongDtype(spec: ResolvedSpec, p: ResolvedPartial): FloatDType {
  const dtype = p.dtype ?? (spec.dtype === "F32" || spec.fp8 !== undefined ? "BF16" : "F32");
  if (spec.fp8 === undefined && dtype === spec.dtype) {
    throw new UsageError("INVALID_ARGUMENT", `partial:wrong-dtype at layer ${p.layer}: the weights already are ${dtype}`);
  }
  return dtype;
}

function emitPerExpert(em: Emitter, block: MoeBlockDecl, kinds: Record<Projection, KindRef>): void {
  const spec = em.spec;
  const key = layerKey(block.layer);
  const names = spec.family.moe.projections;
  const extras = spec.extras.filter((x) => layerKey(x.layer) === key).map((x) => x.id);
  const ids = [...Array.from({ length: spec.experts }, (_, e) => e), ...extras];
  const partials = spec.partials.filter((p) => layerKey(p.layer) === key);
  const projections = spec.family.moe.gated ? PROJECTIONS : PROJECTIONS.filter((p) => p !== "gate");
  for (const id of ids) {
    for (const proj of projections) {
      const name = `${block.blockPrefix}.experts.${id}.${names[proj]}.weight`;
      const kind = kinds[proj];
      const defect = partials.find((p) => p.expert === id && (p.defect === "drop-expert" || p.projection === proj));
      switch (defect?.defect) {
        case undefined:
          em.weight(name, kind, true, id);
          break;
        case "drop-expert":
        case "drop-projection":
          break;
        case "wrong-shape":
          // A tensor of its own (values drawn for the wrong shape), quantized like the others.
          em.weight(name, { ...kind, key: `${name}#wrong-shape`, shape: wrongShape(defect, kind.shape) }, true);
          break;
        case "wrong-dtype":
          em.add(name, convertedProducer(em.expert(kind, id), wrongDtype(spec, defect)));
          break;
        case "drop-scale":
          em.weight(name, kind, true, id, false);
          break;
      }
    }
  }
  // A second tensor for an expert, under its zero-padded id, with values of its own (those of an id past every other).
  for (const d of spec.duplicates.filter((x) => layerKey(x.layer) === key)) {
    for (const proj of PROJECTIONS) em.weight(`${block.blockPrefix}.experts.0${d.id}.${names[proj]}.weight`, kinds[proj], true, spec.experts + 3 + d.id);
  }
}

function emitMoe(em: Emitter, block: MoeBlockDecl): void {
  const spec = em.spec;
  const fused = spec.fusedLayers.has(layerKey(block.layer));
  const prefix = fused ? block.fusedPrefix : block.blockPrefix;
  const E = spec.experts;
  // The router moves with the experts when fused (Mixtral's block_sparse_moe becomes mlp) but
  // keeps its values: its kind is named after the per-expert location.
  const router = (leaf: string, shape: readonly number[], dtype: FloatDType, role: "linear-kept" | "bias") =>
    em.weight(`${prefix}.${leaf}`, { key: `${block.blockPrefix}.${leaf}`, dtype, shape, dist: ROLE_DISTRIBUTION[role] }, false);
  router("gate.weight", [E, spec.hidden], spec.dtype, "linear-kept");
  // DeepSeek keeps its router score correction bias in float32 whatever the weights' dtype.
  if (spec.family.moe.routerBias) router("gate.e_score_correction_bias", [E], "F32", "bias");
  const kinds = expertKinds(spec, block);
  const stacked = spec.family.moe.stacked;
  if (stacked !== "fused") emitStacked(em, block, kinds, stacked);
  else if (fused) emitFused(em, block, kinds);
  else emitPerExpert(em, block, kinds);
}

export function planFixture(input: FixtureSpec): FixturePlan {
  const spec = resolveSpec(input);
  const em = new Emitter(spec);
  const layout = modelLayout(spec);
  for (const t of layout.tensors) em.weight(t.name, { key: t.name, dtype: t.dtype, shape: t.shape, dist: ROLE_DISTRIBUTION[t.role] }, t.role === "linear");
  for (const block of layout.moe) emitMoe(em, block);
  const tensors = new Map([...em.tensors].sort(([a], [b]) => compareNames(a, b)));
  return { spec, config: buildConfig(spec), metadata: FIXTURE_METADATA, tensors };
}

/** Total bytes of the tensors of a plan. */
export function planBytes(plan: FixturePlan): number {
  let n = 0;
  for (const t of plan.tensors.values()) n += t.byteLength;
  return n;
}
