// What a scheme tells the dequantizer about one FP8 weight: how its scale covers it, the FP8
// format the config declares, and how U8 scales are read. Each scheme (fp8-method.ts,
// compressed-tensors.ts, quark.ts) implements `Fp8Scheme`; scheme.ts picks one from a config.

import { Fp8Error } from "./errors.js";
import type { Fp8WeightDType } from "./formats.js";
import { type ScaleLayout, describeScaleLayout } from "./layout.js";

/** Scale tensor names are the weight's name plus one of these. */
export type ScaleSuffix = "_scale_inv" | "_scale";
export const SCALE_SUFFIXES: readonly ScaleSuffix[] = ["_scale_inv", "_scale"];

export interface Fp8Rule {
  readonly layout: ScaleLayout;
  /** The FP8 dtype the config declares for this weight, when it declares one. */
  readonly format: Fp8WeightDType | undefined;
  /** U8 scale tensors hold E8M0 exponents (the config says the scales are E8M0). */
  readonly u8IsE8m0: boolean;
}

export interface Fp8Scheme {
  readonly method: string;
  /** One line for reports: the method and its scale conventions. */
  readonly description: string;
  /**
   * The rule for FP8 weight `weight` whose scale is `weight + suffix`. Throws a typed error when
   * the config gives it no rule, several different rules, or names its scale differently.
   */
  ruleFor(weight: string, suffix: ScaleSuffix, checkpoint: string): Fp8Rule;
}

export function describeRule(rule: Fp8Rule): string {
  return describeScaleLayout(rule.layout) + (rule.u8IsE8m0 ? ", E8M0 scales" : "");
}

export function sameRule(a: Fp8Rule, b: Fp8Rule): boolean {
  return describeRule(a) === describeRule(b) && a.format === b.format;
}

/** The error for a scale named with a suffix the scheme does not use for this weight. */
export function scaleNameMismatch(method: string, weight: string, found: ScaleSuffix, expected: string, checkpoint: string): Fp8Error {
  return new Fp8Error("SCALE_NAME_MISMATCH", `its scale is '${weight}${found}', but quant_method ${method} names it ${expected}`, {
    file: checkpoint,
    tensor: weight,
  });
}
