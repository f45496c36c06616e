import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { naturalCompare } from "../../../src/reference/prefuse/natural-order.js";
import { fcParams } from "../../support/fc.js";

describe("naturalCompare", () => {
  it("orders numbered names numerically, not lexicographically", () => {
    const names = ["layers.10.mlp", "layers.2.mlp", "layers.1.mlp", "mtp.layers.0.mlp", "layers.100.mlp"];
    expect([...names].sort(naturalCompare)).toEqual(["layers.1.mlp", "layers.2.mlp", "layers.10.mlp", "layers.100.mlp", "mtp.layers.0.mlp"]);
  });

  it("property: numbered names sort as their numbers do (beyond 2^53 too)", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 10n ** 20n }), { maxLength: 30 }), (ns) => {
        const sorted = ns.map((n) => `experts.${n}.w`).sort(naturalCompare);
        const expected = [...ns].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((n) => `experts.${n}.w`);
        expect(sorted).toEqual(expected);
      }),
      fcParams(),
    );
  });

  it("property: a total order (antisymmetric, consistent with equality)", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const x = naturalCompare(a, b);
        const y = naturalCompare(b, a);
        return Math.sign(x) === -Math.sign(y) && (x === 0) === (a === b);
      }),
      fcParams(),
    );
  });
});
