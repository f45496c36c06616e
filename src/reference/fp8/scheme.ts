// Which FP8 scheme a checkpoint uses, read from its config's `quantization_config` (top level, or
// inside `text_config` for VLMs). Three families are understood; any other method is refused
// rather than guessed, since the output config drops `quantization_config` and would otherwise
// describe weights that are still quantized.
//   - `quant_method: "fp8"` (DeepSeek-V3, Qwen FP8, transformers FineGrainedFP8): fp8-method.ts
//   - `quant_method: "compressed-tensors"` (llm-compressor FP8): compressed-tensors.ts
//   - `quant_method: "quark"` (AMD Quark FP8): quark.ts

import type { ModelConfig } from "../checkpoint.js";
import { compressedTensorsScheme } from "./compressed-tensors.js";
import { isRecord } from "./config-fields.js";
import { Fp8Error } from "./errors.js";
import { fp8MethodScheme } from "./fp8-method.js";
import { quarkScheme } from "./quark.js";
import type { Fp8Scheme } from "./rule.js";

/** The quantization_config a config carries (top level or text_config), if any. */
function quantizationConfigOf(config: ModelConfig | undefined, configFile: string): unknown {
  const top = config?.quantization_config;
  const text = isRecord(config?.text_config) ? config.text_config.quantization_config : undefined;
  if (top !== undefined && text !== undefined && JSON.stringify(top) !== JSON.stringify(text)) {
    throw new Fp8Error("AMBIGUOUS_SCHEME", "quantization_config and text_config.quantization_config differ; which applies is unknown", { file: configFile });
  }
  return top ?? text;
}

/** The scheme of a config, or undefined when it has no quantization_config. */
export function resolveScheme(config: ModelConfig | undefined, configFile: string): Fp8Scheme | undefined {
  const q = quantizationConfigOf(config, configFile);
  if (q === undefined || q === null) return undefined;
  if (!isRecord(q)) throw new Fp8Error("INVALID_QUANTIZATION_CONFIG", "quantization_config is not an object", { file: configFile });
  switch (q.quant_method) {
    case "fp8":
      return fp8MethodScheme(q, configFile);
    case "compressed-tensors":
      return compressedTensorsScheme(q, configFile);
    case "quark":
      return quarkScheme(q, configFile);
    default:
      throw new Fp8Error(
        "UNSUPPORTED_SCHEME",
        `quant_method ${JSON.stringify(q.quant_method)} is not FP8 weight quantization this harness can undo (supported: fp8, compressed-tensors, quark)`,
        { file: configFile },
      );
  }
}
