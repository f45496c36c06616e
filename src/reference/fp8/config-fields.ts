// Reading fields of a `quantization_config` with typed errors: JSON from the wild has nulls,
// missing keys and wrong types, and each must be refused with the field's name.

import { Fp8Error } from "./errors.js";

export type JsonRecord = Readonly<Record<string, unknown>>;

export function isRecord(v: unknown): v is JsonRecord {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function invalid(field: string, detail: string, configFile: string): Fp8Error {
  return new Fp8Error("INVALID_QUANTIZATION_CONFIG", `quantization_config.${field} ${detail}`, { file: configFile });
}

/** A positive whole number. */
export function positiveInt(v: unknown, field: string, configFile: string): number {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 1) return v;
  throw invalid(field, `must be a positive whole number, not ${JSON.stringify(v)}`, configFile);
}

/** Two positive whole numbers [rows, cols]. */
export function blockPair(v: unknown, field: string, configFile: string): readonly [number, number] {
  if (Array.isArray(v) && v.length === 2) return [positiveInt(v[0], `${field}[0]`, configFile), positiveInt(v[1], `${field}[1]`, configFile)];
  throw invalid(field, `must be two positive whole numbers [rows, cols], not ${JSON.stringify(v)}`, configFile);
}

export function stringList(v: unknown, field: string, configFile: string): readonly string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
  throw invalid(field, `must be a list of strings, not ${JSON.stringify(v)}`, configFile);
}

export function optionalRecord(v: unknown, field: string, configFile: string): JsonRecord | undefined {
  if (v === undefined || v === null) return undefined;
  if (isRecord(v)) return v;
  throw invalid(field, `must be an object, not ${JSON.stringify(v)}`, configFile);
}
