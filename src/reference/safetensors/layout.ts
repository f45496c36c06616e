// Where each tensor goes in a file we write, and the header that says so. The order and the
// padding are the reference writer's (descending dtype rank, then name by bytes; header padded
// with spaces to a multiple of 8), so our files are byte-identical to what Python's
// `safetensors` writes for the same tensors and metadata.

import { dtypeRank } from "../dtypes.js";
import { OutputError } from "../errors.js";
import { type TensorSpec, specByteLength } from "../tensor.js";
import { METADATA_KEY } from "./header.js";

export interface PlacedTensor<T extends TensorSpec> {
  readonly name: string;
  readonly tensor: T;
  readonly begin: number;
  readonly end: number;
}

export interface FileLayout<T extends TensorSpec> {
  /** The 8-byte length prefix followed by the padded JSON header. */
  readonly prefix: Uint8Array;
  readonly placed: readonly PlacedTensor<T>[];
  /** Total file size. */
  readonly size: number;
}

const encoder = new TextEncoder();

/** Compares names by their UTF-8 bytes, as Rust's `str` ordering does. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export function layoutFile<T extends TensorSpec>(
  tensors: Iterable<readonly [string, T]>,
  metadata?: Readonly<Record<string, string>>,
  file = "<output>",
): FileLayout<T> {
  const items = [...tensors];
  const names = new Set<string>();
  for (const [name] of items) {
    if (name === METADATA_KEY) throw new OutputError("INVALID_TENSOR", `'${METADATA_KEY}' is reserved`, { file, tensor: name });
    if (names.has(name)) throw new OutputError("INVALID_TENSOR", "tensor name given twice", { file, tensor: name });
    names.add(name);
  }
  items.sort(([an, a], [bn, b]) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || compareNames(an, bn));

  const placed: PlacedTensor<T>[] = [];
  const header: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareNames);
    header.push(`${JSON.stringify(METADATA_KEY)}:{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(",")}}`);
  }
  let offset = 0;
  for (const [name, tensor] of items) {
    const shape = tensor.shape;
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new OutputError("INVALID_TENSOR", `shape [${shape.join(", ")}] is not a list of non-negative integers`, { file, tensor: name });
    }
    let n: number;
    try {
      n = specByteLength(tensor);
    } catch (e) {
      throw new OutputError("INVALID_TENSOR", (e as Error).message, { file, tensor: name });
    }
    placed.push({ name, tensor, begin: offset, end: offset + n });
    header.push(`${JSON.stringify(name)}:{"dtype":"${tensor.dtype}","shape":[${shape.join(",")}],"data_offsets":[${offset},${offset + n}]}`);
    offset += n;
  }
  const json = encoder.encode(`{${header.join(",")}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const prefix = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  prefix.set(json, 8);
  return { prefix, placed, size: prefix.length + offset };
}
