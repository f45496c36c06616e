// `quant_method: "fp8"`: DeepSeek-V3, Qwen FP8 and transformers' FineGrainedFP8Config.
//   {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128]}
// Scales are `<W>_scale_inv`, blocks from `weight_block_size` (absent: [128, 128], transformers'
// default; null: one scale per tensor). `scale_fmt: "ue8m0"` (DeepSeek-V4 style) stores E8M0
// exponents, possibly as U8. vLLM's per-tensor FP8 serialization uses the same method with a
// scalar `<W>_scale` (its block-quantized layers use `_scale_inv`), so `_scale` is read as one
// scale per tensor, and refused when the config sets a block size.

import { type JsonRecord, blockPair, invalid } from "./config-fields.js";
import type { Fp8WeightDType } from "./formats.js";
import { type ScaleLayout, describeScaleLayout } from "./layout.js";
import { type Fp8Rule, type Fp8Scheme, scaleNameMismatch } from "./rule.js";

const DEFAULT_BLOCK: ScaleLayout = { kind: "block", rows: 128, cols: 128 };

function format(fmt: unknown, configFile: string): Fp8WeightDType | undefined {
  if (fmt === undefined || fmt === null) return undefined;
  if (fmt === "e4m3") return "F8_E4M3";
  if (fmt === "e5m2") return "F8_E5M2";
  throw invalid("fmt", `must be "e4m3" or "e5m2", not ${JSON.stringify(fmt)}`, configFile);
}

function scalesAreE8m0(scaleFmt: unknown, configFile: string): boolean {
  if (scaleFmt === undefined || scaleFmt === null || scaleFmt === "float") return false;
  if (scaleFmt === "ue8m0") return true;
  throw invalid("scale_fmt", `must be "float" or "ue8m0", not ${JSON.stringify(scaleFmt)}`, configFile);
}

export function fp8MethodScheme(q: JsonRecord, configFile: string): Fp8Scheme {
  const fmt = format(q.fmt, configFile);
  const wbs = q.weight_block_size;
  const layout: ScaleLayout =
    wbs === undefined ? DEFAULT_BLOCK : wbs === null ? { kind: "tensor" } : blockLayout(blockPair(wbs, "weight_block_size", configFile));
  const block: Fp8Rule = { layout, format: fmt, u8IsE8m0: scalesAreE8m0(q.scale_fmt, configFile) };
  const perTensor: Fp8Rule = { layout: { kind: "tensor" }, format: fmt, u8IsE8m0: false };
  return {
    method: "fp8",
    description: `fp8 (${fmt === undefined ? "format from each tensor's dtype" : String(q.fmt)}, ${describeScaleLayout(layout)}${block.u8IsE8m0 ? ", E8M0 scales" : ""}; scales <weight>_scale_inv)`,
    ruleFor(weight, suffix, checkpoint) {
      if (suffix === "_scale_inv") return block;
      if (wbs !== undefined && wbs !== null) throw scaleNameMismatch("fp8", weight, suffix, `'${weight}_scale_inv' when weight_block_size is set`, checkpoint);
      return perTensor;
    },
  };
}

function blockLayout([rows, cols]: readonly [number, number]): ScaleLayout {
  return { kind: "block", rows, cols };
}
