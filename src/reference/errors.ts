// Typed errors. Every rejection the harness makes is one of these classes with a stable `code`,
// and its message is one line naming the file and, where it applies, the tensor: the CLI prints
// `moe-prefuse: error: <message>` and exits 1 without further formatting. Messages are made safe
// where they are made (safe-text.ts): secrets redacted, controls in names shown as escapes, so
// that a hostile name cannot break the one line and no message can carry the Hub token.

import { printable, redact } from "./safe-text.js";

export interface ErrorLocation {
  /** The file (or checkpoint directory) the problem was found in. */
  readonly file?: string;
  /** The tensor the problem concerns. */
  readonly tensor?: string;
}

function locate(detail: string, where: ErrorLocation): string {
  const parts: string[] = [];
  if (where.file !== undefined) parts.push(printable(where.file));
  if (where.tensor !== undefined) parts.push(`tensor '${printable(where.tensor)}'`);
  parts.push(printable(detail.replace(/\s*\n\s*/g, " ")));
  return redact(parts.join(": "));
}

/** Base class: `code` is stable across releases and safe to match on. */
export abstract class MoePrefuseError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly file: string | undefined;
  readonly tensor: string | undefined;

  constructor(code: Code, detail: string, where: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(locate(detail, where), options);
    this.code = code;
    this.file = where.file;
    this.tensor = where.tensor;
  }
}

/** A .safetensors file (or index) that breaks the format. Codes follow the reference's `SafeTensorError`. */
export type SafetensorsErrorCode =
  | "FILE_TOO_SMALL"
  | "HEADER_TOO_LARGE"
  | "INVALID_HEADER_LENGTH"
  | "INVALID_HEADER_UTF8"
  | "INVALID_HEADER_START"
  | "INVALID_HEADER_JSON"
  | "DUPLICATE_KEY"
  | "INVALID_METADATA"
  | "INVALID_TENSOR_ENTRY"
  | "UNKNOWN_DTYPE"
  | "INVALID_SHAPE"
  | "VALIDATION_OVERFLOW"
  | "INVALID_OFFSET"
  | "TENSOR_INVALID_INFO"
  | "MISALIGNED_SUBBYTE"
  | "INCOMPLETE_BUFFER"
  | "TENSOR_NOT_FOUND"
  | "INVALID_INDEX"
  | "INDEX_MISMATCH"
  | "SHARD_OUTSIDE_CHECKPOINT"
  | "READ_FAILED";

export class SafetensorsError extends MoePrefuseError<SafetensorsErrorCode> {
  override readonly name = "SafetensorsError";
}

/** A checkpoint directory or its config.json that cannot be used. */
export type CheckpointErrorCode =
  | "NOT_FOUND"
  | "NO_WEIGHTS"
  | "CONFIG_MISSING"
  | "CONFIG_INVALID_JSON"
  | "CONFIG_INVALID"
  | "CONFIG_TOO_DEEP"
  | "DUPLICATE_TENSOR"
  | "NOT_REGULAR_FILE"
  | "FILE_TOO_LARGE";

export class CheckpointError extends MoePrefuseError<CheckpointErrorCode> {
  override readonly name = "CheckpointError";
}

/** Writing output failed or the output path is not acceptable. Nothing partial is left behind. */
export type OutputErrorCode =
  | "OUTPUT_EXISTS"
  | "OUTPUT_UNREPLACEABLE"
  | "OUTPUT_INSIDE_INPUT"
  | "WRITE_FAILED"
  | "SOURCE_MISMATCH"
  | "INVALID_TENSOR"
  | "INVALID_SHARD_SIZE";

export class OutputError extends MoePrefuseError<OutputErrorCode> {
  override readonly name = "OutputError";
}

/** Arguments or options a command cannot use. */
export type UsageErrorCode = "INVALID_ARGUMENT";

export class UsageError extends MoePrefuseError<UsageErrorCode> {
  override readonly name = "UsageError";
}

/** A fuse that cannot do what was asked of it (with `--strict`: a layer that cannot be fused). */
export type PrefuseErrorCode = "LAYER_UNTOUCHED";

export class PrefuseError extends MoePrefuseError<PrefuseErrorCode> {
  override readonly name = "PrefuseError";
}

/** A golden corpus (or a case folder) that breaks its format, or a file changed since it was written. */
export type CorpusErrorCode = "CORPUS_INVALID" | "CORPUS_FILE_MISSING" | "CORPUS_HASH_MISMATCH";

export class CorpusError extends MoePrefuseError<CorpusErrorCode> {
  override readonly name = "CorpusError";
}
