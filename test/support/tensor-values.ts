// Element values of a tensor as canonical strings, for comparing with other tools' readings (the
// interop manifests): floats decoded through our dtype tables, -0/NaN/Infinity spelt out, 64-bit
// integers exact, booleans as true/false.

import { type DType, bf16ToF32, f16ToF32, float8Table } from "../../src/reference/dtypes.js";

/** A manifest value (JSON number, decimal string, "NaN"/"Infinity", boolean) as its canonical string. */
export function canonicalValue(v: number | string | boolean): string {
  return typeof v === "number" && Object.is(v, -0) ? "-0" : String(v);
}

/** Element values as canonical strings: floats through our decoders, 64-bit ints exact. */
export function decodeValues(dtype: DType, data: Uint8Array): string[] {
  const view = <T>(C: new (b: ArrayBufferLike, o: number, n: number) => T, width: number) => new C(data.slice().buffer, 0, data.length / width);
  const num = canonicalValue;
  const u16 = () => [...view(Uint16Array, 2)];
  const table = float8Table(dtype);
  if (table !== undefined) return [...data].map((c) => num(table[c]!));
  switch (dtype) {
    case "F64":
      return [...view(Float64Array, 8)].map(num);
    case "F32":
      return [...view(Float32Array, 4)].map(num);
    case "F16":
      return u16().map((h) => num(f16ToF32(h)));
    case "BF16":
      return u16().map((h) => num(bf16ToF32(h)));
    case "I64":
      return [...view(BigInt64Array, 8)].map(String);
    case "U64":
      return [...view(BigUint64Array, 8)].map(String);
    case "I32":
      return [...view(Int32Array, 4)].map(String);
    case "U32":
      return [...view(Uint32Array, 4)].map(String);
    case "I16":
      return [...view(Int16Array, 2)].map(String);
    case "U16":
      return u16().map(String);
    case "I8":
      return [...view(Int8Array, 1)].map(String);
    case "U8":
      return [...data].map(String);
    case "BOOL":
      return [...data].map((b) => String(b !== 0));
    default:
      throw new Error(`no decoder for ${dtype}`);
  }
}
