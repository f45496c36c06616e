import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/reference/errors.js";
import { EXPERT_COUNT_KEYS } from "../../src/reference/prefuse/expert-count.js";
import { PROJECTIONS } from "../../src/reference/prefuse/layouts.js";
import { PARTIAL_DEFECTS, type Variant, formatVariant, listVariants, parseVariant } from "../../src/fixtures-gen/variants.js";
import { fcParams } from "../support/fc.js";

const layer = fc.oneof(
  fc.nat({ max: 99 }),
  fc.nat({ max: 3 }).map((j) => `mtp.${j}` as const),
);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** Any variant the syntax can express (optional fields absent rather than undefined). */
const variantArb: fc.Arbitrary<Variant> = fc.oneof(
  fc.constant<Variant>({ kind: "per-expert" }),
  fc.constant<Variant>({ kind: "dense" }),
  opt(layer).map((l): Variant => (l === undefined ? { kind: "fused" } : { kind: "fused", layer: l })),
  fc
    .record({ layer: opt(layer), id: opt(fc.nat({ max: 999 })) })
    .map((r): Variant => ({ kind: "extra-expert", ...(r.layer !== undefined ? { layer: r.layer } : {}), ...(r.id !== undefined ? { id: r.id } : {}) })),
  fc
    .record({ layer: opt(layer), id: opt(fc.nat({ max: 999 })) })
    .map((r): Variant => ({ kind: "duplicate-expert", ...(r.layer !== undefined ? { layer: r.layer } : {}), ...(r.id !== undefined ? { id: r.id } : {}) })),
  fc
    .record({
      defect: fc.constantFrom(...PARTIAL_DEFECTS),
      layer: opt(layer),
      expert: opt(fc.nat({ max: 300 })),
      projection: opt(fc.constantFrom(...PROJECTIONS)),
      shape: opt(fc.array(fc.nat({ max: 64 }), { minLength: 1, maxLength: 3 })),
      dtype: opt(fc.constantFrom("BF16", "F16", "F32" as const)),
    })
    .map(
      (r): Variant => ({
        kind: "partial",
        defect: r.defect,
        ...(r.layer !== undefined ? { layer: r.layer } : {}),
        ...(r.expert !== undefined ? { expert: r.expert } : {}),
        ...(r.projection !== undefined && r.defect !== "drop-expert" ? { projection: r.projection } : {}),
        ...(r.shape !== undefined && r.defect === "wrong-shape" ? { shape: r.shape } : {}),
        ...(r.dtype !== undefined && r.defect === "wrong-dtype" ? { dtype: r.dtype } : {}),
      }),
    ),
  fc
    .uniqueArray(
      fc.record({
        key: fc.constantFrom(...EXPERT_COUNT_KEYS),
        value: opt(
          fc.oneof(
            fc.integer(),
            fc.constant(null),
            fc.string({ maxLength: 4 }).filter((s) => !s.includes(",")),
          ),
        ),
      }),
      { selector: (k) => k.key, maxLength: 6 },
    )
    .map((keys): Variant => ({ kind: "count-key", keys: keys.map((k) => (k.value === undefined ? { key: k.key } : { key: k.key, value: k.value })) })),
);

describe("variant syntax", () => {
  it("parses the documented examples", () => {
    expect(parseVariant("partial:drop-expert:layer=1,expert=3")).toEqual({ kind: "partial", defect: "drop-expert", layer: 1, expert: 3 });
    expect(parseVariant("partial:wrong-shape:proj=down,shape=9x32")).toEqual({ kind: "partial", defect: "wrong-shape", projection: "down", shape: [9, 32] });
    expect(parseVariant("fused:layer=mtp")).toEqual({ kind: "fused", layer: "mtp.0" });
    expect(parseVariant("extra-expert:layer=1,id=8")).toEqual({ kind: "extra-expert", layer: 1, id: 8 });
    expect(parseVariant("duplicate-expert:layer=mtp.0,id=3")).toEqual({ kind: "duplicate-expert", layer: "mtp.0", id: 3 });
    expect(parseVariant("count-key:num_experts=8,text_config.num_local_experts=6")).toEqual({
      kind: "count-key",
      keys: [
        { key: "num_experts", value: 8 },
        { key: "text_config.num_local_experts", value: 6 },
      ],
    });
    expect(parseVariant('count-key:num_experts="8"')).toEqual({ kind: "count-key", keys: [{ key: "num_experts", value: "8" }] });
    expect(parseVariant("count-key:none")).toEqual({ kind: "count-key", keys: [] });
  });

  it("format and parse are inverse", () => {
    fc.assert(
      fc.property(variantArb, (v) => {
        expect(parseVariant(formatVariant(v))).toEqual(v);
      }),
      fcParams(),
    );
  });

  it.each([
    ["nope", /unknown variant 'nope'/],
    ["dense:x", /takes no parameters/],
    ["fused:layer=x", /layer must be a whole number, 'mtp' or 'mtp.N', not 'x'/],
    ["fused:depth=1", /unknown parameter 'depth=1'/],
    ["partial", /partial needs a defect/],
    ["partial:melt", /partial needs a defect/],
    ["partial:drop-expert:proj=up", /unknown parameter 'proj=up'/],
    ["partial:drop-projection:proj=side", /proj must be gate, up or down/],
    ["partial:wrong-shape:shape=3by4", /shape must look like 9x32/],
    ["partial:wrong-dtype:dtype=F8_E4M3", /dtype must be one of BF16, F16, F32/],
    ["partial:drop-expert:layer=1,layer=2", /given twice/],
    ["extra-expert:id=-1", /id must be a whole number/],
    ["count-key", /name one or more config locations/],
    ["count-key:experts", /'experts' is not a count location/],
    ["count-key:num_experts=eight", /must be a JSON scalar/],
    ["count-key:num_experts,num_experts=2", /given twice/],
  ])("rejects %s with a one-line usage error", (text, message) => {
    let error: unknown;
    try {
      parseVariant(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(`variant '${text}'`);
  });

  it("lists a syntax and a description for every kind", () => {
    const text = listVariants()
      .map((v) => v.syntax)
      .join(" ");
    for (const kind of ["per-expert", "fused", "dense", ...PARTIAL_DEFECTS.map((d) => `partial:${d}`), "extra-expert", "duplicate-expert", "count-key"])
      expect(text).toContain(kind);
  });
});
