// The header's strict JSON parser against the platform's JSON.parse: the same values for every
// JSON text, the same verdict for damaged texts, except where strictness is the point
// (duplicate keys, lone surrogates, which JSON.parse lets through).

import fc from "fast-check";
import { test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { JsonFloat, type JsonValue, JsonSyntaxError, parseStrictJson } from "../../../src/reference/safetensors/strict-json.js";
import { fcParams } from "../../support/fc.js";

/** The strict result in JSON.parse's terms: big integers and floats as plain numbers. */
function loosen(v: JsonValue): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v instanceof JsonFloat) return v.value;
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
  // The one property written with @fast-check/vitest's `test.prop`: the same runner parameters,
  // vitest reporting the seed and the shrunk counterexample itself.
  test.prop([json, fc.boolean()], fcParams<[fc.JsonValue, boolean]>(1000))(
    "parses every JSON text to JSON.parse's value, on the fast path and by hand",
    (v, pretty) => {
      const text = JSON.stringify(v, null, pretty ? 2 : undefined);
      expect(strict(text)).toEqual({ value: JSON.parse(text) });
      // A float lexeme beside it sends the same text through the hand-written parser.
      expect(strict(`[${text},0.5]`)).toEqual({ value: [JSON.parse(text), 0.5] });
    },
  );

  it("rejects what JSON.parse rejects, and accepts the rest unless a key repeats or a surrogate is left alone", () => {
    const damaged = fc.tuple(json, fc.nat(), fc.nat(3), fc.constantFrom(...'{}[]":,.-+eE01 \\tnulfase\u0000x'.split(""))).map(([v, at, op, ch]) => {
      const t = JSON.stringify(v);
      const i = t.length === 0 ? 0 : at % t.length;
      return op === 0
        ? t.slice(0, i) + t.slice(i + 1)
        : op === 1
          ? t.slice(0, i) + ch + t.slice(i)
          : op === 2
            ? t.slice(0, i) + ch + t.slice(i + 1)
            : t.slice(0, i);
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

  it("returns integer lexemes exactly (number below 2^53, bigint beyond) and the rest as JsonFloat", () => {
    const text = "[0, 7, 9007199254740991, 9007199254740992, 18446744073709551617, -3, -0, 2.0, 1e2, 0.5]";
    const want = [
      0,
      7,
      9007199254740991,
      9007199254740992n,
      18446744073709551617n,
      -3,
      new JsonFloat(-0),
      new JsonFloat(2),
      new JsonFloat(100),
      new JsonFloat(0.5),
    ];
    expect(parseStrictJson(text)).toEqual(want);
    // The same through the fast path's fallback triggers and without them.
    expect(parseStrictJson(`{"a":${text}}`)).toEqual({ a: want });
    expect(parseStrictJson('{"a":[0,7,123456789012345],"b":{"c":[]}}')).toEqual({ a: [0, 7, 123456789012345], b: { c: [] } });
  });

  it("draws the nesting limit at the same depth on both paths", () => {
    const nest = (k: number, inner: string) => "[".repeat(k) + inner + "]".repeat(k);
    for (const inner of ["1", "", "{}", '{"a":1}']) {
      // Values lie at depth 0 (the outermost) to k; the limit is 64.
      const deepest = (k: number) => (inner === "" ? k - 1 : inner === '{"a":1}' ? k + 1 : k);
      for (let k = 60; k <= 67; k++) {
        const text = nest(k, inner);
        if (deepest(k) <= 64) expect(parseStrictJson(text), `${k} ${inner}`).toEqual(JSON.parse(text));
        else expect(() => parseStrictJson(text), `${k} ${inner}`).toThrow(JsonSyntaxError);
      }
    }
  });

  it("takes the fast path only when it gives the strict tree: duplicates anywhere are still found", () => {
    // Keys ending in backslashes, and escaped quotes, so that the scan must find string ends right.
    for (const text of [
      '{"a":1,"a":2}',
      '{"x":{"a":1,"a":1}}',
      '[{"a":{}},{"b":1,"b":[]}]',
      '{"1":{},"0":{"k":1,"k":2}}',
      '{"a\\\\":1,"a\\\\":2}',
      '{"q\\"":[1],"q\\"":[1]}',
    ]) {
      expect(() => parseStrictJson(text), text).toThrow(JsonSyntaxError);
    }
    expect(parseStrictJson('{"a\\\\":1,"a\\\\\\"":2,"b\\":c":3}')).toEqual({ "a\\": 1, 'a\\"': 2, 'b":c': 3 });
  });
});
