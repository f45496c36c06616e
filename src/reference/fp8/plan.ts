// The dequantization plan: from tensor specs and the config alone (no tensor data), which FP8
// weights become BF16 and with which scale and block, which scale tensors disappear, which
// activation/KV-cache scales are dropped, and what passes through unchanged. Every bad pairing
// is found here, before any byte is read or written, so a run either has a complete plan or
// fails with one typed error naming the file and the tensor(s).

import type { ModelConfig } from "../checkpoint.js";
import type { TensorSpec } from "../tensor.js";
import { Fp8Error } from "./errors.js";
import { type Fp8WeightDType, isFp8Weight, isScaleDType, isUndecodableFp8 } from "./formats.js";
import { acceptedScaleShapes, blockOf, shapeIn } from "./layout.js";
import { type Fp8Rule, type ScaleSuffix, SCALE_SUFFIXES, describeRule } from "./rule.js";
import { resolveScheme } from "./scheme.js";

export interface DequantEntry {
  /** The FP8 weight; the output keeps its name, as BF16. */
  readonly weight: string;
  readonly dtype: Fp8WeightDType;
  readonly shape: readonly [number, number];
  /** The scale tensor (removed from the output). */
  readonly scale: string;
  readonly scaleSpec: TensorSpec;
  readonly rule: Fp8Rule;
  /** The block [bm, bn] each scale covers. */
  readonly block: readonly [number, number];
}

export interface DequantPlan {
  /** The scheme read from the config, or undefined when it has no quantization_config. */
  readonly scheme: string | undefined;
  /** FP8 weights replaced by BF16, in name order. */
  readonly dequantized: readonly DequantEntry[];
  /** Scale tensors consumed by the dequantization, in name order. */
  readonly removedScales: readonly string[];
  /** Activation and KV-cache scales (`input_scale`, `activation_scale`, ...): meaningless once weights are BF16. */
  readonly droppedActivationScales: readonly string[];
  /** Tensors copied unchanged, in name order. */
  readonly passthrough: readonly string[];
  /** The output's tensors, in input order. */
  readonly specs: ReadonlyMap<string, TensorSpec>;
}

/** Where names in errors point: the checkpoint (tensors) and its config file. */
export interface PlanLocation {
  readonly checkpoint: string;
  readonly configFile: string;
}

/** Tensors of quantized activations / KV cache; they scale nothing in a BF16 checkpoint. */
const ACTIVATION_SCALE_SUFFIXES = [".input_scale", ".activation_scale", ".output_scale", ".k_scale", ".v_scale"];

const fmtShape = (s: readonly number[]): string => `[${s.join(", ")}]`;

export function planDequant(specs: ReadonlyMap<string, TensorSpec>, config: ModelConfig | undefined, where: PlanLocation): DequantPlan {
  const scheme = resolveScheme(config, where.configFile);
  const file = where.checkpoint;
  const names = [...specs.keys()].sort();
  const entries = new Map<string, DequantEntry>();
  const consumed = new Set<string>();

  for (const weight of names) {
    const spec = specs.get(weight)!;
    if (isUndecodableFp8(spec.dtype)) {
      throw new Fp8Error("UNSUPPORTED_WEIGHT_DTYPE", `is ${spec.dtype}, an 8-bit float this harness cannot decode (supported: F8_E4M3, F8_E5M2)`, {
        file,
        tensor: weight,
      });
    }
    if (!isFp8Weight(spec.dtype)) continue;
    const found = SCALE_SUFFIXES.filter((s) => specs.has(weight + s));
    if (found.length === 0) {
      throw new Fp8Error(
        "WEIGHT_WITHOUT_SCALE",
        `is ${spec.dtype} ${fmtShape(spec.shape)} but has no scale tensor ('${weight}_scale_inv' or '${weight}_scale')`,
        { file, tensor: weight },
      );
    }
    if (found.length > 1) {
      throw new Fp8Error("AMBIGUOUS_SCALE", `has two scale tensors, '${weight}_scale_inv' and '${weight}_scale'; which applies is unknown`, {
        file,
        tensor: weight,
      });
    }
    const suffix: ScaleSuffix = found[0]!;
    const scale = weight + suffix;
    if (scheme === undefined) {
      throw new Fp8Error(
        "NO_QUANTIZATION_CONFIG",
        `is ${spec.dtype} with scale '${scale}', but the config has no quantization_config to say how the scale applies`,
        { file: where.configFile, tensor: weight },
      );
    }
    if (spec.shape.length !== 2) {
      throw new Fp8Error(
        "UNSUPPORTED_RANK",
        `is a ${spec.shape.length}-D ${spec.dtype} weight ${fmtShape(spec.shape)}; FP8 dequantization has a rule only for 2-D weights`,
        { file, tensor: weight },
      );
    }
    const [m, n] = spec.shape as [number, number];
    const rule = scheme.ruleFor(weight, suffix, file);
    if (rule.format !== undefined && rule.format !== spec.dtype) {
      throw new Fp8Error("FORMAT_MISMATCH", `is ${spec.dtype} but the config declares ${rule.format} weights`, { file, tensor: weight });
    }
    const scaleSpec = specs.get(scale)!;
    if (!isScaleDType(scaleSpec.dtype, rule.u8IsE8m0)) {
      throw new Fp8Error(
        "UNSUPPORTED_SCALE_DTYPE",
        `scale '${scale}' is ${scaleSpec.dtype}; scales must be F32, BF16, F16 or F8_E8M0${rule.u8IsE8m0 ? " or U8" : " (U8 only where the config says E8M0)"}`,
        { file, tensor: weight },
      );
    }
    const accepted = acceptedScaleShapes(rule.layout, m, n);
    if (!shapeIn(scaleSpec.shape, accepted)) {
      throw new Fp8Error(
        "SCALE_SHAPE_MISMATCH",
        `scale '${scale}' has shape ${fmtShape(scaleSpec.shape)}, but weight '${weight}' ${fmtShape(spec.shape)} with ${describeRule(rule)} needs ${accepted.map(fmtShape).join(" or ")}`,
        { file, tensor: weight },
      );
    }
    entries.set(weight, { weight, dtype: spec.dtype, shape: [m, n], scale, scaleSpec, rule, block: blockOf(rule.layout, m, n) });
    consumed.add(scale);
  }

  const dropped = new Set<string>();
  const passthrough: string[] = [];
  for (const name of names) {
    if (consumed.has(name) || entries.has(name)) continue;
    if (scheme !== undefined && ACTIVATION_SCALE_SUFFIXES.some((s) => name.endsWith(s))) {
      dropped.add(name);
      continue;
    }
    const base = name.endsWith("_scale_inv")
      ? name.slice(0, -"_scale_inv".length)
      : name.endsWith("weight_scale")
        ? name.slice(0, -"_scale".length)
        : undefined;
    if (base !== undefined) {
      const w = specs.get(base);
      if (w === undefined)
        throw new Fp8Error("SCALE_WITHOUT_WEIGHT", `is a weight scale but its weight '${base}' is not in the checkpoint`, { file, tensor: name });
      throw new Fp8Error("SCALE_ON_UNQUANTIZED_WEIGHT", `scales weight '${base}', which is ${w.dtype}, not FP8 (already dequantized?)`, { file, tensor: name });
    }
    passthrough.push(name);
  }

  const out = new Map<string, TensorSpec>();
  for (const [name, spec] of specs) {
    if (consumed.has(name) || dropped.has(name)) continue;
    out.set(name, { dtype: entries.has(name) ? "BF16" : spec.dtype, shape: spec.shape });
  }
  return {
    scheme: scheme?.description,
    dequantized: [...entries.values()],
    removedScales: [...consumed].sort(),
    droppedActivationScales: [...dropped],
    passthrough,
    specs: out,
  };
}
