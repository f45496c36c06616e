// The one way config.json values are addressed: a dotted path through nested objects
// (`num_experts`, `text_config.num_experts`, `thinker_config.text_config.num_experts`). Readers
// (expert count, model_type) and writers (the fixture generator placing a count) share it, so a
// path means the same thing everywhere. JSON `null` counts as absent, as Python's
// `getattr(config, key, None)` chains treat it.

import type { ModelConfig } from "./checkpoint.js";
import { isRecord } from "./fp8/config-fields.js";

/** The value at a dotted path, or undefined when any step is missing, null or not an object. */
export function configPath(config: ModelConfig, path: string): unknown {
  let at: unknown = config;
  for (const key of path.split(".")) {
    if (!isRecord(at)) return undefined;
    at = at[key];
  }
  return at ?? undefined;
}

/** The first of `paths` holding a value, with the path it came from. */
export function firstConfigPath(config: ModelConfig, paths: readonly string[]): { readonly path: string; readonly value: unknown } | undefined {
  for (const path of paths) {
    const value = configPath(config, path);
    if (value !== undefined) return { path, value };
  }
  return undefined;
}

/** Sets a dotted path in a mutable JSON object, creating (or replacing non-object) parents. */
export function setConfigPath(config: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let at = config;
  for (const key of keys.slice(0, -1)) {
    const next = at[key];
    const obj: Record<string, unknown> = isRecord(next) ? (next as Record<string, unknown>) : {};
    at[key] = obj;
    at = obj;
  }
  at[keys[keys.length - 1]!] = value;
}

/** `key` at the top level, then inside text_config: where VLM configs keep the language model's fields. */
export function topThenText(key: string): readonly [string, string] {
  return [key, `text_config.${key}`];
}
