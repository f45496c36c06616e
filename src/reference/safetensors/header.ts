// Parsing and validating a safetensors header: the pure part of reading a file. It sees only the
// first 8 + N bytes and the file's total size, applies every rule of the reference reader
// (huggingface/safetensors `tensor.rs`), and maps each rejection to a named `SafetensorsError`.

import { type DType, byteSize, dtypeBits, isDType } from "../dtypes.js";
import { SafetensorsError, type SafetensorsErrorCode } from "../errors.js";
import { type JsonObject, type JsonValue, JsonFloat, JsonSyntaxError, parseStrictJson } from "./strict-json.js";

/** The reference reader refuses headers larger than this. */
export const MAX_HEADER_SIZE = 100_000_000;
export const METADATA_KEY = "__metadata__";

export interface TensorEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte offsets relative to the data buffer, end exclusive. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** N: the JSON header's byte length, padding included. */
  readonly headerSize: number;
  /** Absolute file offset of the data buffer: 8 + N. */
  readonly dataStart: number;
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** Tensors in data-offset order. */
  readonly tensors: readonly TensorEntry[];
}

// ignoreBOM keeps a leading U+FEFF in the text (the default strips it), so that a header
// starting with a byte-order mark fails the '{' check, as in the reference reader.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads N from the first 8 bytes and checks it against the file size, before anything of that
 * size is allocated. Returns N.
 */
export function readHeaderSize(prefix: Uint8Array, fileSize: number, file: string): number {
  const err = (code: SafetensorsErrorCode, detail: string) => new SafetensorsError(code, detail, { file });
  if (fileSize < 8 || prefix.length < 8) throw err("FILE_TOO_SMALL", `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_SIZE)) throw err("HEADER_TOO_LARGE", `header length ${n} exceeds the ${MAX_HEADER_SIZE}-byte limit`);
  const size = Number(n);
  if (8 + size > fileSize) throw err("INVALID_HEADER_LENGTH", `header length ${size} runs past the end of the ${fileSize}-byte file`);
  return size;
}

/**
 * Parses and validates the header. `bytes` holds at least the first 8 + N bytes of the file;
 * `fileSize` is the whole file's size (data included).
 */
export function parseHeader(bytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const headerSize = readHeaderSize(bytes, fileSize, file);
  const err = (code: SafetensorsErrorCode, detail: string, tensor?: string) =>
    new SafetensorsError(code, detail, tensor === undefined ? { file } : { file, tensor });

  let text: string;
  try {
    text = utf8.decode(bytes.subarray(8, 8 + headerSize));
  } catch {
    throw err("INVALID_HEADER_UTF8", "header is not valid UTF-8");
  }
  if (!text.startsWith("{")) throw err("INVALID_HEADER_START", "header does not start with '{'");

  let json: JsonValue;
  try {
    json = parseStrictJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError && e.reason === "duplicate") throw duplicateKey(e, file);
    throw err("INVALID_HEADER_JSON", `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json)) {
    throw err("INVALID_HEADER_JSON", "header is not a JSON object");
  }

  let metadata: Record<string, string> | undefined;
  const tensors: TensorEntry[] = [];
  // for...in, not Object.entries: a large MoE header has tens of thousands of entries.
  for (const name in json) {
    const value = json[name]!;
    // `"__metadata__": null` is no metadata, as the reference reads it (an Option).
    if (name === METADATA_KEY) metadata = value === null ? undefined : parseMetadata(value, file);
    else tensors.push(parseEntry(name, value, file));
  }

  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of tensors) {
    if (t.begin !== cursor) {
      const what = t.begin > cursor ? `leave a hole at bytes ${cursor}..${t.begin}` : `overlap the previous tensor, which ends at ${cursor}`;
      throw err("INVALID_OFFSET", `data_offsets [${t.begin}, ${t.end}] ${what}`, t.name);
    }
    if (t.end < t.begin) throw err("INVALID_OFFSET", `data_offsets [${t.begin}, ${t.end}] end before they begin`, t.name);
    checkSize(t, file);
    cursor = t.end;
  }
  const expected = 8 + headerSize + cursor;
  if (expected !== fileSize) {
    const what =
      fileSize > expected ? `${fileSize - expected} trailing bytes after the last tensor` : `${expected - fileSize} bytes missing from the data buffer`;
    throw err("INCOMPLETE_BUFFER", `file is ${fileSize} bytes but the header describes ${expected}: ${what}`);
  }
  return { headerSize, dataStart: 8 + headerSize, metadata, tensors };
}

function duplicateKey(e: JsonSyntaxError, file: string): SafetensorsError {
  const [outer] = e.path;
  if (outer === undefined) {
    return new SafetensorsError("DUPLICATE_KEY", `header has key '${e.key}' twice`, e.key === METADATA_KEY ? { file } : { file, tensor: e.key });
  }
  if (outer === METADATA_KEY) return new SafetensorsError("DUPLICATE_KEY", `'${METADATA_KEY}' has key '${e.key}' twice`, { file });
  return new SafetensorsError("DUPLICATE_KEY", `entry has key '${e.key}' twice`, { file, tensor: outer });
}

function parseMetadata(value: JsonValue, file: string): Record<string, string> {
  if (!isObject(value)) {
    throw new SafetensorsError("INVALID_METADATA", `'${METADATA_KEY}' must be an object of strings`, { file });
  }
  const entries = Object.entries(value);
  for (const [k, v] of entries) {
    if (typeof v !== "string") {
      throw new SafetensorsError("INVALID_METADATA", `'${METADATA_KEY}.${k}' must be a string`, { file });
    }
  }
  // fromEntries defines own properties, so a key such as "__proto__" is kept as data.
  return Object.fromEntries(entries) as Record<string, string>;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof JsonFloat);
}

/** A non-negative integer lexeme (the strict parser gives those, and only those, as number or bigint). */
function isUint(v: JsonValue | undefined): v is number | bigint {
  return (typeof v === "number" && v >= 0) || (typeof v === "bigint" && v >= 0n);
}

function parseEntry(name: string, value: JsonValue, file: string): TensorEntry {
  const bad = (code: SafetensorsErrorCode, detail: string) => new SafetensorsError(code, detail, { file, tensor: name });
  if (!isObject(value)) {
    throw bad("INVALID_TENSOR_ENTRY", "entry is not an object with dtype, shape and data_offsets");
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== "string") throw bad("INVALID_TENSOR_ENTRY", "dtype is missing or not a string");
  if (!isDType(dtype)) throw bad("UNKNOWN_DTYPE", `unknown dtype '${dtype}'`);
  if (!Array.isArray(shape) || !shape.every(isUint)) {
    throw bad("INVALID_SHAPE", "shape must be an array of non-negative integers");
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isUint)) {
    throw bad("INVALID_OFFSET", "data_offsets must be two non-negative integers");
  }
  const [begin, end] = offsets as [number | bigint, number | bigint];
  if (typeof begin === "bigint" || typeof end === "bigint") {
    throw bad("VALIDATION_OVERFLOW", "data_offsets exceed the largest file this reader can address");
  }
  // Zeros left out: every dimension and every product of dimensions (a stride, a row count) must
  // stay an exact number, even in an empty tensor. Dimensions past 2^53 arrive as bigint; below,
  // the product is exact in doubles for as long as it stays below 2^53.
  const dims = shape as (number | bigint)[];
  let bits = dtypeBits(dtype);
  for (const d of dims) bits = typeof d === "bigint" ? Infinity : d === 0 ? bits : bits * d;
  if (bits > Number.MAX_SAFE_INTEGER) {
    throw bad("VALIDATION_OVERFLOW", `shape [${dims.join(", ")}] overflows: its dimensions multiply past 2^53 bits`);
  }
  return { name, dtype, shape: dims as number[], begin, end };
}

function checkSize(t: TensorEntry, file: string): void {
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const bytes = byteSize(t.dtype, numel);
  if (bytes === undefined) {
    throw new SafetensorsError("MISALIGNED_SUBBYTE", `${numel} ${t.dtype} elements do not fill whole bytes`, { file, tensor: t.name });
  }
  if (t.end - t.begin !== bytes) {
    throw new SafetensorsError(
      "TENSOR_INVALID_INFO",
      `data_offsets [${t.begin}, ${t.end}] hold ${t.end - t.begin} bytes but ${t.dtype} [${t.shape.join(", ")}] needs ${bytes}`,
      { file, tensor: t.name },
    );
  }
}
