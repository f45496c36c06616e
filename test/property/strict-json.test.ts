// The header's strict JSON parser against the platform's JSON.parse: the same values for every
// JSON text, the same verdict for damaged texts, except where strictness is the point
// (duplicate keys, lone surrogates, which JSON.parse lets through).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type JsonValue, JsonSyntaxError, parseStrictJson } from "../../src/reference/safetensors/strict-json.js";
import { fcParams } from "../support/fc-params.js";

/** The strict result in JSON.parse's terms: integer lexemes (bigint) as numbers. */
function loosen(v: JsonValue): unknown {
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(loosen);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, loosen(x)]));
  return v;
}

function strict(text: string): { value: unknown } | JsonSyntaxError {
  try {
    return { value: loosen(parseStrictJson(text)) };
  } catch (e) {
    if (e instanceof JsonSyntaxError) return e;
    throw e;
  }
}

const json = fc.jsonValue({ stringUnit: "binary" });

describe("strict JSON parser", () => {
  it("parses every JSON text to JSON.parse's value", () => {
    fc.assert(
      fc.property(json, fc.boolean(), (v, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        expect(strict(text)).toEqual({ value: JSON.parse(text) });
      }),
      fcParams(1000),
    );
  });

  it("rejects what JSON.parse rejects, and accepts the rest unless a key repeats or a surrogate is left alone", () => {
    const damaged = fc
      .tuple(json, fc.nat(), fc.nat(3), fc.constantFrom(..."{}[]\":,.-+eE01 \\tnulfase\u0000x".split("")))
      .map(([v, at, op, ch]) => {
        const t = JSON.stringify(v);
        const i = t.length === 0 ? 0 : at % t.length;
        return op === 0 ? t.slice(0, i) + t.slice(i + 1) : op === 1 ? t.slice(0, i) + ch + t.slice(i) : op === 2 ? t.slice(0, i) + ch + t.slice(i + 1) : t.slice(0, i);
      });
    fc.assert(
      fc.property(damaged, (text) => {
        let reference: { value: unknown } | undefined;
        try {
          reference = { value: JSON.parse(text) };
        } catch {
          reference = undefined;
        }
        const got = strict(text);
        if (reference === undefined) expect(got).toBeInstanceOf(JsonSyntaxError);
        else if (got instanceof JsonSyntaxError) expect(got.reason === "duplicate" || /surrogate/.test(got.message)).toBe(true);
        else expect(got).toEqual(reference);
      }),
      fcParams(2000),
    );
  });

  it("returns integer lexemes as exact bigints, other numbers as numbers", () => {
    expect(parseStrictJson("[0, 7, 18446744073709551617, -3, -0, 2.0, 1e2]")).toEqual([0n, 7n, 18446744073709551617n, -3n, -0, 2, 100]);
  });
});
