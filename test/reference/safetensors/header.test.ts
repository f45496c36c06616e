// Header rules at the edges the fuzzer found, each pinned by one example, and what the reference
// reader (Python safetensors 0.8) answers for it.

import { describe, expect, it } from "vitest";
import { SafetensorsError } from "../../../src/reference/errors.js";
import { parseSafetensors } from "../../../src/reference/safetensors/memory.js";

function file(header: string, data: number[] = []): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const u8 = (name: string, extra = "") => `"${name}":{"dtype":"U8","shape":[2],"data_offsets":[0,2]${extra}}`;

function rejection(bytes: Uint8Array): SafetensorsError {
  try {
    parseSafetensors(bytes, "x.safetensors");
  } catch (e) {
    if (e instanceof SafetensorsError) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

describe("safetensors header edge cases", () => {
  it("refuses integers written as floats or as -0 (the reference reads them as floats)", () => {
    for (const dim of ["2.0", "2e0", "0.2E1", "-0"]) {
      expect(rejection(file(`{"a":{"dtype":"U8","shape":[${dim}],"data_offsets":[0,2]}}`, [1, 2])).code).toBe("INVALID_SHAPE");
    }
    expect(rejection(file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[-0,2]}}`, [1, 2])).code).toBe("INVALID_OFFSET");
  });

  it("refuses \\u escapes that leave a lone surrogate, and reads escaped pairs", () => {
    expect(rejection(file(`{${u8("\\ud800")}}`, [1, 2])).code).toBe("INVALID_HEADER_JSON");
    expect(rejection(file(`{${u8("x\\udc00")}}`, [1, 2])).code).toBe("INVALID_HEADER_JSON");
    expect([...parseSafetensors(file(`{${u8("\\ud83d\\ude00")}}`, [1, 2])).tensors.keys()]).toEqual(["😀"]);
  });

  it("does not strip a byte-order mark before '{'", () => {
    expect(rejection(file(`\ufeff{${u8("a")}}`, [1, 2])).code).toBe("INVALID_HEADER_START");
  });

  it("keeps a metadata key named __proto__ as data", () => {
    const { header } = parseSafetensors(file(`{"__metadata__":{"__proto__":"x","format":"pt"}}`));
    expect(Object.keys(header.metadata!)).toEqual(["__proto__", "format"]);
    expect(Object.getOwnPropertyDescriptor(header.metadata, "__proto__")?.value).toBe("x");
  });

  it("reads `__metadata__: null` as no metadata, as the reference does", () => {
    expect(parseSafetensors(file(`{"__metadata__":null,${u8("a")}}`, [1, 2])).header.metadata).toBeUndefined();
  });

  it("refuses dimensions whose non-zero product overflows 2^53 bits, even in an empty tensor", () => {
    const e = rejection(file(`{"a":{"dtype":"U8","shape":[1125899906842624,0],"data_offsets":[0,0]}}`));
    expect(e.code).toBe("VALIDATION_OVERFLOW");
    expect(e.tensor).toBe("a");
    expect(parseSafetensors(file(`{"a":{"dtype":"U8","shape":[1125899906842623,0],"data_offsets":[0,0]}}`)).header.tensors[0]!.shape).toEqual([
      1125899906842623, 0,
    ]);
    expect(rejection(file(`{"a":{"dtype":"U8","shape":[18446744073709551617],"data_offsets":[0,1]}}`, [1])).code).toBe("VALIDATION_OVERFLOW");
  });

  it("names the tensor whose entry repeats a key, and the metadata", () => {
    expect(rejection(file(`{${u8("w", ',"dtype":"U8"')}}`, [1, 2]))).toMatchObject({ code: "DUPLICATE_KEY", tensor: "w" });
    expect(rejection(file(`{${u8("w")},${u8("w")}}`, [1, 2]))).toMatchObject({ code: "DUPLICATE_KEY", tensor: "w" });
    expect(rejection(file(`{${u8("w")},"\\u0077":{}}`, [1, 2]))).toMatchObject({ code: "DUPLICATE_KEY", tensor: "w" });
    const meta = rejection(file(`{"__metadata__":{"k":"1","k":"2"}}`));
    expect(meta).toMatchObject({ code: "DUPLICATE_KEY", tensor: undefined });
    expect(meta.message).toContain("'__metadata__' has key 'k' twice");
  });

  it("keeps the message on one line when a tensor name holds control characters", () => {
    const e = rejection(file(`{"a\\nb\\u2028":{"dtype":"XX","shape":[],"data_offsets":[0,0]}}`));
    expect(e.code).toBe("UNKNOWN_DTYPE");
    expect(e.tensor).toBe("a\nb\u2028");
    expect(e.message).toBe("x.safetensors: tensor 'a\\u000ab\\u2028': unknown dtype 'XX'");
  });
});
