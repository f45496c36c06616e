// Streamed CLI output is byte-identical to the one-string form it replaces.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prettyJson } from "../../src/cli/output.js";
import { tableLines } from "../../src/cli/table.js";
import { fcParams } from "../support/fc.js";

describe("CLI output", () => {
  it("prettyJson yields exactly JSON.stringify(value, null, 2), piece by piece", () => {
    const report = fc.dictionary(fc.string(), fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue()), fc.constant(undefined)));
    fc.assert(
      fc.property(report, (v) => {
        expect([...prettyJson(v)].join("")).toBe(JSON.stringify(v, null, 2));
      }),
      fcParams(500),
    );
  });

  it("tableLines pads every column but the last to its widest cell", () => {
    const lines = tableLines(
      ["NAME", "N"],
      [
        ["a", "1"],
        ["long-name", "22"],
        ["b", ""],
      ],
    );
    expect(lines).toEqual(["NAME       N", "a          1", "long-name  22", "b"]);
  });
});
