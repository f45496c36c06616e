// Variants: the ways a generated checkpoint departs from the family's plain per-expert layout,
// as typed values for the library and as a compact text syntax for the CLI:
//
//   NAME[:ARG][:KEY=VALUE,KEY=VALUE...]
//   fused | fused:layer=1 | dense | per-expert
//   partial:drop-expert:layer=1,expert=3      partial:wrong-shape:proj=down,shape=9x32
//   extra-expert:layer=1,id=8                 count-key:num_experts=8,text_config.num_local_experts=6
//   duplicate-expert:layer=1,id=3
//   count-key:none
//
// Parsing is strict: an unknown name, key or value is a one-line UsageError naming the variant.

import { UsageError } from "../reference/errors.js";
import { EXPERT_COUNT_KEYS, type ExpertCountKey } from "../reference/prefuse/expert-count.js";
import { PROJECTIONS, type Projection } from "../reference/prefuse/layouts.js";
import type { JsonValue } from "./families.js";
import { FLOAT_DTYPES, type FloatDType, isFloatDType } from "./float-codec.js";

/** A decoder layer index, or a multi-token-prediction layer (`mtp.0` is the first). */
export type LayerRef = number | `mtp.${number}`;

export const PARTIAL_DEFECTS = ["drop-expert", "drop-projection", "wrong-shape", "wrong-dtype", "drop-scale"] as const;
export type PartialDefect = (typeof PARTIAL_DEFECTS)[number];

export interface CountKeySetting {
  readonly key: ExpertCountKey;
  /** Any JSON value (so bad counts can be generated too); the expert count when omitted. */
  readonly value?: JsonValue;
}

export type Variant =
  /** Every expert's projections stored separately (the default). */
  | { readonly kind: "per-expert" }
  /** Experts stored fused, as the family's fused checkpoints store them: every MoE layer, or one. */
  | { readonly kind: "fused"; readonly layer?: LayerRef }
  /** No MoE: a dense MLP in every layer and no expert count in the config. */
  | { readonly kind: "dense" }
  /** One layer made incomplete or inconsistent; defaults: the first MoE layer, expert E-1, projection up. */
  | {
      readonly kind: "partial";
      readonly defect: PartialDefect;
      readonly layer?: LayerRef;
      readonly expert?: number;
      readonly projection?: Projection;
      /** wrong-shape: the shape to store (default: one more row than correct). */
      readonly shape?: readonly number[];
      /** wrong-dtype: the dtype to store (default F32, or BF16 when the weights are F32 or FP8). */
      readonly dtype?: FloatDType;
    }
  /** An expert whose id is >= E (default E) added to one layer (default the first MoE layer). */
  | { readonly kind: "extra-expert"; readonly layer?: LayerRef; readonly id?: number }
  /** Expert `id` (default 1) of one layer stored twice: also under its zero-padded id (`experts.01`), with other values. */
  | { readonly kind: "duplicate-expert"; readonly layer?: LayerRef; readonly id?: number }
  /** The expert count stated at these config locations instead of the family's own; [] for none. */
  | { readonly kind: "count-key"; readonly keys: readonly CountKeySetting[] };

export interface VariantInfo {
  readonly syntax: string;
  readonly summary: string;
}

const VARIANT_INFO: readonly VariantInfo[] = [
  { syntax: "per-expert", summary: "experts stored one tensor per expert and projection (the default)" },
  {
    syntax: "fused[:layer=N]",
    summary:
      "experts already fused as the family's fused checkpoints are: [E,2I,H] + [E,H,I], gate rows first (qwen3_vl_moe: [E,H,2I] + [E,I,H]); all MoE layers or layer N",
  },
  { syntax: "dense", summary: "no MoE: a dense MLP in every layer and no expert count in the config" },
  { syntax: "partial:drop-expert[:layer=N,expert=K]", summary: "expert K (default E-1) of layer N (default: the first MoE layer) has no tensors" },
  { syntax: "partial:drop-projection[:layer=N,expert=K,proj=gate|up|down]", summary: "one projection (default up) of expert K is missing" },
  { syntax: "partial:wrong-shape[:layer=N,expert=K,proj=P,shape=RxC]", summary: "one projection has another shape (default: one extra row)" },
  {
    syntax: "partial:wrong-dtype[:layer=N,expert=K,proj=P,dtype=BF16|F16|F32]",
    summary: "one projection is stored in another dtype (default F32; BF16 for F32 or FP8 weights)",
  },
  { syntax: "partial:drop-scale[:layer=N,expert=K,proj=P]", summary: "FP8 only: one projection's weight_scale_inv is missing" },
  { syntax: "extra-expert[:layer=N,id=K]", summary: "layer N also holds expert K >= E (default K = E)" },
  {
    syntax: "duplicate-expert[:layer=N,id=K]",
    summary: "expert K (default 1) of layer N is also stored as experts.0K, with other values (two tensors for one expert)",
  },
  {
    syntax: "count-key:LOC[=VALUE][,LOC[=VALUE]...] | count-key:none",
    summary: `expert count at these config locations instead of the family's (${EXPERT_COUNT_KEYS.join(", ")}); VALUE a JSON scalar (default E), different values make a conflict; none: no count, experts still per expert`,
  },
];

/** The variants and their compact syntax, for `gen --list` and other front ends. */
export function listVariants(): readonly VariantInfo[] {
  return VARIANT_INFO;
}

const MTP_LAYER = /^mtp(?:\.(\d+))?$/;

function bad(text: string, detail: string): UsageError {
  return new UsageError("INVALID_ARGUMENT", `variant '${text}': ${detail} (see gen --list)`);
}

function wholeNumber(text: string, key: string, value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw bad(text, `${key} must be a whole number, not '${value}'`);
  return Number(value);
}

function parseLayerRef(value: string, onError: (detail: string) => Error): LayerRef {
  if (/^\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  const m = MTP_LAYER.exec(value);
  if (m === null) throw onError(`layer must be a whole number, 'mtp' or 'mtp.N', not '${value}'`);
  return `mtp.${Number(m[1] ?? 0)}`;
}

function parseShape(text: string, value: string): number[] {
  if (!/^\d+(x\d+)*$/.test(value)) throw bad(text, `shape must look like 9x32, not '${value}'`);
  return value.split("x").map((d) => wholeNumber(text, "shape", d));
}

/** `k=v,k=v` into a map, refusing keys outside `allowed` and repeated keys. */
function parseParams(text: string, params: string | undefined, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (params === undefined) return out;
  for (const part of params.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    if (eq < 0 || !allowed.includes(key)) throw bad(text, `unknown parameter '${part}' (allowed: ${allowed.join(", ")})`);
    if (out.has(key)) throw bad(text, `parameter '${key}' given twice`);
    out.set(key, part.slice(eq + 1));
  }
  return out;
}

function parseCountKeys(text: string, arg: string | undefined): CountKeySetting[] {
  if (arg === undefined || arg === "") throw bad(text, "name one or more config locations, or none");
  if (arg === "none") return [];
  const keys: CountKeySetting[] = [];
  for (const part of arg.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    if (!(EXPERT_COUNT_KEYS as readonly string[]).includes(key)) throw bad(text, `'${key}' is not a count location (${EXPERT_COUNT_KEYS.join(", ")})`);
    if (keys.some((k) => k.key === key)) throw bad(text, `location '${key}' given twice`);
    if (eq < 0) {
      keys.push({ key: key as ExpertCountKey });
      continue;
    }
    let value: JsonValue;
    try {
      value = JSON.parse(part.slice(eq + 1)) as JsonValue;
    } catch {
      throw bad(text, `value of '${key}' must be a JSON scalar (8, -1, 8.5, "8", null), not '${part.slice(eq + 1)}'`);
    }
    keys.push({ key: key as ExpertCountKey, value });
  }
  return keys;
}

export function parseVariant(text: string): Variant {
  const colon = text.indexOf(":");
  const name = colon < 0 ? text : text.slice(0, colon);
  // Everything after NAME: (count-key values may themselves contain ':').
  const rest = colon < 0 ? undefined : text.slice(colon + 1);
  switch (name) {
    case "per-expert":
    case "dense":
      if (rest !== undefined) throw bad(text, `${name} takes no parameters`);
      return { kind: name };
    case "fused": {
      const p = parseParams(text, rest, ["layer"]);
      const layer = p.get("layer");
      return layer === undefined ? { kind: "fused" } : { kind: "fused", layer: parseLayerRef(layer, (d) => bad(text, d)) };
    }
    case "extra-expert":
    case "duplicate-expert": {
      const p = parseParams(text, rest, ["layer", "id"]);
      return {
        kind: name,
        ...(p.has("layer") ? { layer: parseLayerRef(p.get("layer")!, (d) => bad(text, d)) } : {}),
        ...(p.has("id") ? { id: wholeNumber(text, "id", p.get("id")!) } : {}),
      };
    }
    case "partial": {
      const sep = rest?.indexOf(":") ?? -1;
      const defect = sep < 0 ? rest : rest!.slice(0, sep);
      if (defect === undefined || !(PARTIAL_DEFECTS as readonly string[]).includes(defect)) {
        throw bad(text, `partial needs a defect: ${PARTIAL_DEFECTS.join(", ")}`);
      }
      const allowed = [
        "layer",
        "expert",
        ...(defect === "drop-expert" ? [] : ["proj"]),
        ...(defect === "wrong-shape" ? ["shape"] : []),
        ...(defect === "wrong-dtype" ? ["dtype"] : []),
      ];
      const p = parseParams(text, sep < 0 ? undefined : rest!.slice(sep + 1), allowed);
      const proj = p.get("proj");
      if (proj !== undefined && !(PROJECTIONS as readonly string[]).includes(proj)) throw bad(text, `proj must be gate, up or down, not '${proj}'`);
      const dtype = p.get("dtype");
      if (dtype !== undefined && !isFloatDType(dtype)) throw bad(text, `dtype must be one of ${FLOAT_DTYPES.join(", ")}, not '${dtype}'`);
      return {
        kind: "partial",
        defect: defect as PartialDefect,
        ...(p.has("layer") ? { layer: parseLayerRef(p.get("layer")!, (d) => bad(text, d)) } : {}),
        ...(p.has("expert") ? { expert: wholeNumber(text, "expert", p.get("expert")!) } : {}),
        ...(proj !== undefined ? { projection: proj as Projection } : {}),
        ...(p.has("shape") ? { shape: parseShape(text, p.get("shape")!) } : {}),
        ...(dtype !== undefined ? { dtype: dtype as FloatDType } : {}),
      };
    }
    case "count-key":
      return { kind: "count-key", keys: parseCountKeys(text, rest) };
    default:
      throw bad(text, `unknown variant '${name}' (per-expert, fused, dense, partial, extra-expert, duplicate-expert, count-key)`);
  }
}

/** The compact text of a variant; parseVariant(formatVariant(v)) equals v. */
export function formatVariant(v: Variant): string {
  const params = (entries: readonly (readonly [string, string | number | undefined])[]): string => {
    const set = entries.filter(([, value]) => value !== undefined).map(([k, value]) => `${k}=${value}`);
    return set.length > 0 ? `:${set.join(",")}` : "";
  };
  switch (v.kind) {
    case "per-expert":
    case "dense":
      return v.kind;
    case "fused":
      return `fused${params([["layer", v.layer]])}`;
    case "extra-expert":
    case "duplicate-expert":
      return `${v.kind}${params([
        ["layer", v.layer],
        ["id", v.id],
      ])}`;
    case "partial":
      return `partial:${v.defect}${params([
        ["layer", v.layer],
        ["expert", v.expert],
        ["proj", v.projection],
        ["shape", v.shape?.join("x")],
        ["dtype", v.dtype],
      ])}`;
    case "count-key":
      return `count-key:${v.keys.length === 0 ? "none" : v.keys.map((k) => (k.value === undefined ? k.key : `${k.key}=${JSON.stringify(k.value)}`)).join(",")}`;
  }
}
