// `quant_method: "compressed-tensors"` (llm-compressor / Neural Magic), FP8 weights only:
//   {"quant_method": "compressed-tensors", "format": "float-quantized", "ignore": ["lm_head"],
//    "config_groups": {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 8, "type": "float",
//      "strategy": "channel" | "tensor" | "block" | "group", "block_structure": [128, 128],
//      "group_size": 128, "symmetric": true, "dynamic": false}, "input_activations": {...}}}}
// Scales are `<W>_scale` (`weight_scale`): per tensor [1], per channel [m, 1], per block
// [ceil(m/bm), ceil(n/bn)], per group [m, ceil(n/g)]. A group's targets pick its modules (exact
// name, then `re:` regex, then a class such as `Linear`); `ignore` removes modules. Every
// quantized group must be FP8: a mixed checkpoint (say NVFP4 experts) cannot be fully
// dequantized here, so it is refused.

import { type JsonRecord, blockPair, invalid, isRecord, positiveInt, stringList } from "./config-fields.js";
import { Fp8Error } from "./errors.js";
import type { ScaleLayout } from "./layout.js";
import { type CompiledTarget, compressedTensorsTarget, moduleOf, strongestMatches } from "./patterns.js";
import { type Fp8Rule, type Fp8Scheme, describeRule, sameRule, scaleNameMismatch } from "./rule.js";

interface Group {
  readonly name: string;
  readonly targets: readonly CompiledTarget[];
  readonly value: { readonly group: string; readonly rule: Fp8Rule };
}

function layoutOf(w: JsonRecord, field: string, configFile: string): ScaleLayout {
  switch (w.strategy) {
    case "tensor":
      return { kind: "tensor" };
    case "channel":
      return { kind: "channel" };
    case "block": {
      const [rows, cols] = blockPair(w.block_structure, `${field}.block_structure`, configFile);
      return { kind: "block", rows, cols };
    }
    case "group":
      return { kind: "group", size: positiveInt(w.group_size, `${field}.group_size`, configFile) };
    default:
      throw new Fp8Error(
        "UNSUPPORTED_SCHEME",
        `quantization_config.${field}.strategy ${JSON.stringify(w.strategy)} is not an FP8 weight strategy this harness can undo (tensor, channel, block, group)`,
        { file: configFile },
      );
  }
}

function groupRule(weights: JsonRecord, field: string, configFile: string): Fp8Rule {
  if (weights.num_bits !== 8 || weights.type !== "float") {
    throw new Fp8Error(
      "UNSUPPORTED_SCHEME",
      `quantization_config.${field} quantizes to ${String(weights.num_bits)}-bit ${String(weights.type)}, not FP8; a checkpoint with non-FP8 groups cannot be fully dequantized`,
      { file: configFile },
    );
  }
  if (weights.symmetric === false)
    throw new Fp8Error("UNSUPPORTED_SCHEME", `quantization_config.${field} is asymmetric (zero points); only symmetric FP8 is supported`, { file: configFile });
  if (weights.dynamic === true) throw invalid(`${field}.dynamic`, "is true: weights quantized at run time have no stored scales", configFile);
  return { layout: layoutOf(weights, field, configFile), format: "F8_E4M3", u8IsE8m0: false };
}

export function compressedTensorsScheme(q: JsonRecord, configFile: string): Fp8Scheme {
  if (!isRecord(q.config_groups)) throw invalid("config_groups", "must be an object of quantization groups", configFile);
  const groups: Group[] = [];
  for (const [name, g] of Object.entries(q.config_groups)) {
    const field = `config_groups.${name}`;
    if (!isRecord(g)) throw invalid(field, "must be an object", configFile);
    if (g.weights === undefined || g.weights === null) continue; // activation-only group
    if (!isRecord(g.weights)) throw invalid(`${field}.weights`, "must be an object", configFile);
    const targets = stringList(g.targets, `${field}.targets`, configFile).map((t) => compressedTensorsTarget(t, configFile));
    groups.push({ name, targets, value: { group: name, rule: groupRule(g.weights, `${field}.weights`, configFile) } });
  }
  const ignore = stringList(q.ignore, "ignore", configFile).map((t) => compressedTensorsTarget(t, configFile));
  const rules = [...new Set(groups.map((g) => describeRule(g.value.rule)))];
  return {
    method: "compressed-tensors",
    description: `compressed-tensors FP8 (${rules.join("; ") || "no weight groups"}; scales <weight>_scale)`,
    ruleFor(weight, suffix, checkpoint) {
      if (suffix !== "_scale") throw scaleNameMismatch("compressed-tensors", weight, suffix, `'${weight}_scale'`, checkpoint);
      const module = moduleOf(weight);
      // Ignore lists hold names, regexes and classes too; a class entry would ignore everything.
      const ignoredBy = ignore.find((t) => {
        const level = t.match(module);
        return level === "exact" || level === "pattern";
      });
      const hits = ignoredBy === undefined ? strongestMatches(module, groups) : [];
      if (hits.length === 0) {
        const why =
          ignoredBy !== undefined ? `the config ignores module '${module}' (entry '${ignoredBy.text}')` : `no config group targets module '${module}'`;
        throw new Fp8Error("NO_RULE", `is FP8 but ${why}, so its scale layout is unknown`, { file: checkpoint, tensor: weight });
      }
      const first = hits[0]!;
      const other = hits.find((h) => !sameRule(h.rule, first.rule));
      if (other !== undefined) {
        throw new Fp8Error(
          "AMBIGUOUS_SCHEME",
          `config groups '${first.group}' (${describeRule(first.rule)}) and '${other.group}' (${describeRule(other.rule)}) both target module '${module}'`,
          { file: checkpoint, tensor: weight },
        );
      }
      return first.rule;
    },
  };
}
