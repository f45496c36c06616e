// The config of a dequantized checkpoint: the input's, without `quantization_config` (top level
// and in `text_config`), since every weight it described is now BF16. Nothing else changes.

import type { ModelConfig } from "../checkpoint.js";
import { isRecord } from "./config-fields.js";

function withoutQuantization(section: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { quantization_config: _dropped, ...rest } = section;
  return rest;
}

export function dequantizedConfig(config: ModelConfig | undefined): ModelConfig | undefined {
  if (config === undefined) return undefined;
  const out = withoutQuantization(config);
  if (isRecord(out.text_config)) out.text_config = withoutQuantization(out.text_config);
  return out;
}
