// `quant_method: "quark"` (AMD Quark), FP8 weights only:
//   {"quant_method": "quark", "global_quant_config": {"weight": {"dtype": "fp8_e4m3",
//      "qscheme": "per_tensor" | "per_channel" | "per_block" | "per_group", "ch_axis": 0,
//      "block_size": [128, 128], "group_size": 128, "scale_type": "float8_e8m0fnu" | null, ...},
//    "input_tensors": {...}}, "layer_quant_config": {"<glob or re:regex>": {...}},
//    "layer_type_quant_config": {"Linear": {...}}, "exclude": ["lm_head", ...]}
// Scales are `<W>_scale` (`weight_scale`, not `_inv`). A module takes the spec of the layer
// pattern that matches it, else of its layer type, else the global one; `exclude` leaves it
// unquantized. Every weight spec must be FP8 (a mixed MXFP4/FP8 checkpoint is refused).

import { type JsonRecord, blockPair, invalid, optionalRecord, positiveInt, stringList } from "./config-fields.js";
import { Fp8Error } from "./errors.js";
import type { Fp8WeightDType } from "./formats.js";
import type { ScaleLayout } from "./layout.js";
import { type CompiledTarget, moduleOf, quarkLayerType, quarkPattern, strongestMatches } from "./patterns.js";
import { type Fp8Rule, type Fp8Scheme, describeRule, sameRule, scaleNameMismatch } from "./rule.js";

interface Spec {
  readonly source: string;
  /** Undefined: the spec leaves weights unquantized. */
  readonly rule: Fp8Rule | undefined;
}

const FORMATS: Readonly<Record<string, Fp8WeightDType>> = { fp8_e4m3: "F8_E4M3", fp8_e5m2: "F8_E5M2" };

function unsupported(field: string, detail: string, configFile: string): Fp8Error {
  return new Fp8Error("UNSUPPORTED_SCHEME", `quantization_config.${field} ${detail}`, { file: configFile });
}

function layoutOf(w: JsonRecord, field: string, configFile: string): ScaleLayout {
  const axis = w.ch_axis;
  switch (w.qscheme) {
    case "per_tensor":
      return { kind: "tensor" };
    case "per_channel":
      if (axis !== undefined && axis !== null && axis !== 0)
        throw unsupported(`${field}.ch_axis`, `is ${JSON.stringify(axis)}; per-channel FP8 weights are supported along the output axis 0`, configFile);
      return { kind: "channel" };
    case "per_block": {
      const [rows, cols] = blockPair(w.block_size, `${field}.block_size`, configFile);
      return { kind: "block", rows, cols };
    }
    case "per_group":
      if (axis !== undefined && axis !== null && axis !== -1 && axis !== 1)
        throw unsupported(`${field}.ch_axis`, `is ${JSON.stringify(axis)}; FP8 weight groups are supported along the input axis (-1)`, configFile);
      return { kind: "group", size: positiveInt(w.group_size, `${field}.group_size`, configFile) };
    default:
      throw unsupported(
        `${field}.qscheme`,
        `${JSON.stringify(w.qscheme)} is not an FP8 weight scheme this harness can undo (per_tensor, per_channel, per_block, per_group)`,
        configFile,
      );
  }
}

function weightRule(spec: JsonRecord, field: string, configFile: string): Fp8Rule | undefined {
  const w = spec.weight;
  if (w === undefined || w === null) return undefined;
  if (Array.isArray(w)) throw unsupported(`${field}.weight`, "is a list of specs (multi-stage quantization); only a single FP8 spec is supported", configFile);
  const weight = optionalRecord(w, `${field}.weight`, configFile)!;
  const format = typeof weight.dtype === "string" ? FORMATS[weight.dtype] : undefined;
  if (format === undefined)
    throw unsupported(
      `${field}.weight.dtype`,
      `is ${JSON.stringify(weight.dtype)}, not fp8_e4m3/fp8_e5m2; a checkpoint with non-FP8 weights cannot be fully dequantized`,
      configFile,
    );
  if (weight.is_dynamic === true) throw invalid(`${field}.weight.is_dynamic`, "is true: weights quantized at run time have no stored scales", configFile);
  if (weight.symmetric === false) throw unsupported(`${field}.weight.symmetric`, "is false (zero points); only symmetric FP8 is supported", configFile);
  return { layout: layoutOf(weight, `${field}.weight`, configFile), format, u8IsE8m0: weight.scale_type === "float8_e8m0fnu" };
}

function specs(table: JsonRecord | undefined, field: string, target: (key: string) => CompiledTarget, configFile: string) {
  return Object.entries(table ?? {}).map(([key, spec]) => {
    const f = `${field}[${JSON.stringify(key)}]`;
    const s = optionalRecord(spec, f, configFile) ?? {};
    return { targets: [target(key)], value: { source: `${field} '${key}'`, rule: weightRule(s, f, configFile) } as Spec };
  });
}

export function quarkScheme(q: JsonRecord, configFile: string): Fp8Scheme {
  const globalSpec = optionalRecord(q.global_quant_config, "global_quant_config", configFile);
  const global: Spec = {
    source: "global_quant_config",
    rule: globalSpec === undefined ? undefined : weightRule(globalSpec, "global_quant_config", configFile),
  };
  const entries = [
    ...specs(optionalRecord(q.layer_quant_config, "layer_quant_config", configFile), "layer_quant_config", (k) => quarkPattern(k, configFile), configFile),
    ...specs(optionalRecord(q.layer_type_quant_config, "layer_type_quant_config", configFile), "layer_type_quant_config", quarkLayerType, configFile),
  ];
  const exclude = stringList(q.exclude, "exclude", configFile).map((p) => quarkPattern(p, configFile));
  const rules = [...new Set([global, ...entries.map((e) => e.value)].flatMap((s) => (s.rule === undefined ? [] : [describeRule(s.rule)])))];
  return {
    method: "quark",
    description: `quark FP8 (${rules.join("; ") || "no weight specs"}; scales <weight>_scale)`,
    ruleFor(weight, suffix, checkpoint) {
      if (suffix !== "_scale") throw scaleNameMismatch("quark", weight, suffix, `'${weight}_scale'`, checkpoint);
      const module = moduleOf(weight);
      const excludedBy = exclude.find((p) => p.match(module) !== undefined);
      const matched = strongestMatches(module, entries);
      const hits = excludedBy !== undefined ? [] : matched.length > 0 ? matched : [global];
      const first = hits[0];
      if (first?.rule === undefined) {
        const why =
          excludedBy !== undefined
            ? `the config excludes module '${module}' (entry '${excludedBy.text}')`
            : `${first?.source ?? "the config"} leaves module '${module}' unquantized`;
        throw new Fp8Error("NO_RULE", `is FP8 but ${why}, so its scale layout is unknown`, { file: checkpoint, tensor: weight });
      }
      const rule = first.rule;
      const other = hits.find((h) => h.rule === undefined || !sameRule(h.rule, rule));
      if (other !== undefined) {
        throw new Fp8Error(
          "AMBIGUOUS_SCHEME",
          `${first.source} (${describeRule(rule)}) and ${other.source} (${other.rule === undefined ? "unquantized" : describeRule(other.rule)}) both match module '${module}'`,
          { file: checkpoint, tensor: weight },
        );
      }
      return rule;
    },
  };
}
