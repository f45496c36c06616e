// Generators for fuzzing the safetensors reader. Valid files come from an encoder of this file's
// own, independent of the library's writer and freer than it: any key order, any data order,
// fields in any order, any JSON whitespace and padding, names escaped or not. Each corruption
// category applies ONE defect to a valid file and says what the reader must answer: a specific
// error code, or (where a change is legal) the exact tensors it must read.

import fc from "fast-check";
import { DTYPES, type DType, dtypeBits } from "../../../src/reference/dtypes.js";
import type { SafetensorsErrorCode } from "../../../src/reference/errors.js";
import type { Tensor } from "../../../src/reference/tensor.js";

// ---- a JSON model that can also say what a serializer never would ------------------------------

/** Verbatim JSON text: bad lexemes, escaped keys, huge integers. */
export class Raw {
  constructor(readonly text: string) {}
}
/** An object as an ordered list of pairs, so keys can repeat. A null key emits the value alone
 * (a raw fragment standing for a malformed member). */
export interface Obj {
  readonly pairs: readonly Pair[];
}
export type Pair = readonly [key: string | Raw | null, value: Json];
export type Json = null | boolean | number | string | Raw | Obj | readonly Json[];

export interface Style {
  /** Whitespace between tokens. */
  readonly pretty: boolean;
  /** Every non-ASCII UTF-16 unit written as a \u escape. */
  readonly asciiOnly: boolean;
}

function quote(s: string, style: Style): string {
  const j = JSON.stringify(s);
  return style.asciiOnly ? j.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : j;
}

export function renderJson(v: Json, style: Style): string {
  const comma = style.pretty ? ",\n  " : ",";
  const colon = style.pretty ? " : " : ":";
  if (v === null || typeof v === "boolean" || typeof v === "number") return String(v);
  if (typeof v === "string") return quote(v, style);
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${(v as readonly Json[]).map((x) => renderJson(x, style)).join(comma)}]`;
  const o = v as Obj;
  const key = (k: string | Raw) => (k instanceof Raw ? k.text : quote(k, style));
  const body = o.pairs.map(([k, x]) => (k === null ? renderJson(x, style) : `${key(k)}${colon}${renderJson(x, style)}`)).join(comma);
  return style.pretty ? `{\n  ${body}\n}` : `{${body}}`;
}

// ---- valid files --------------------------------------------------------------------------------

export interface GenTensor extends Tensor {
  readonly name: string;
  readonly shape: readonly number[];
}

type Field = "dtype" | "shape" | "data_offsets";
const FIELDS: readonly Field[] = ["dtype", "shape", "data_offsets"];

export interface ValidFile {
  /** In header key order. */
  readonly tensors: readonly GenTensor[];
  /** Indices into `tensors`, in data-buffer order. */
  readonly dataOrder: readonly number[];
  readonly metadata: readonly (readonly [string, string])[] | undefined;
  /** Position of `__metadata__` among the header's keys. */
  readonly metaPos: number;
  /** Order of the fields inside every tensor entry. */
  readonly fields: readonly Field[];
  /** JSON whitespace after the object, inside the declared header length. */
  readonly padding: string;
  readonly style: Style;
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

const nameArb: fc.Arbitrary<string> = fc
  .oneof(
    fc
      .tuple(fc.nat(61), fc.nat(255), fc.constantFrom("gate_proj", "up_proj", "down_proj"))
      .map(([l, e, p]) => `model.layers.${l}.mlp.experts.${e}.${p}.weight`),
    fc.string({ unit: "binary", maxLength: 6 }),
    fc.string({ unit: "grapheme", maxLength: 4 }),
    fc.constantFrom("", "__proto__", "constructor", "toString", "__metadata", "__metadata__ ", 'a"b\\c', "tab\there", "名前", "😀", "\u0000"),
  )
  .filter((n) => n !== "__metadata__" && wellFormed(n));

const textArb = fc.string({ unit: "binary", maxLength: 10 }).filter(wellFormed);

/** Bit-exact element count needed for whole bytes: sub-byte dtypes get extra factors of 2. */
function fillBytes(dtype: DType, shape: number[]): number[] {
  const out = [...shape];
  while ((numel(out) * dtypeBits(dtype)) % 8 !== 0) out.push(2);
  return out;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function bytesOf(dtype: DType, shape: readonly number[]): number {
  return (numel(shape) * dtypeBits(dtype)) / 8;
}

const dtypeArb = fc.constantFrom(...DTYPES);

function specArb(nonEmpty: boolean): fc.Arbitrary<{ dtype: DType; shape: number[] }> {
  const dim = nonEmpty ? fc.integer({ min: 1, max: 4 }) : fc.nat(4);
  return fc.record({ dtype: dtypeArb, shape: fc.array(dim, { maxLength: 4 }) }).map(({ dtype, shape }) => ({ dtype, shape: fillBytes(dtype, shape) }));
}

function tensorArb(name: string, nonEmpty: boolean): fc.Arbitrary<GenTensor> {
  return specArb(nonEmpty).chain(({ dtype, shape }) => {
    const n = bytesOf(dtype, shape);
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data) => ({ name, dtype, shape, data }));
  });
}

export interface ValidOptions {
  /** At least this many tensors. */
  readonly minTensors?: number;
  /** At least this many of them hold at least one byte. */
  readonly nonEmpty?: number;
}

export function validFile(opts: ValidOptions = {}): fc.Arbitrary<ValidFile> {
  const nonEmpty = opts.nonEmpty ?? 0;
  const min = Math.max(opts.minTensors ?? 0, nonEmpty);
  return fc
    .uniqueArray(nameArb, { minLength: min, maxLength: Math.max(min, 6) })
    .chain((names) => fc.tuple(...names.map((n, i) => tensorArb(n, i < nonEmpty))))
    .chain((tensors) => {
      const idx = tensors.map((_, i) => i);
      const perm = fc.shuffledSubarray(idx, { minLength: idx.length, maxLength: idx.length });
      return fc
        .record({
          keyOrder: perm,
          dataOrder: perm,
          metadata: fc.option(fc.uniqueArray(fc.tuple(fc.oneof(textArb, fc.constant("__proto__")), textArb), { selector: ([k]) => k, maxLength: 4 }), {
            nil: undefined,
          }),
          metaPos: fc.nat(tensors.length),
          fields: fc.shuffledSubarray([...FIELDS], { minLength: 3, maxLength: 3 }),
          padding: fc.array(fc.constantFrom(" ", " ", " ", "\t", "\n", "\r"), { maxLength: 12 }).map((a) => a.join("")),
          style: fc.record({ pretty: fc.boolean(), asciiOnly: fc.boolean() }),
        })
        .map(({ keyOrder, ...rest }): ValidFile => ({ ...rest, tensors: keyOrder.map((i) => tensors[i]!) }));
    });
}

// ---- encoding a file, with room for edits -------------------------------------------------------

/** A file about to be encoded; corruptions edit a copy of it. */
export interface Draft {
  readonly pairs: readonly Pair[];
  /** Index in `pairs` of each tensor (by index in ValidFile.tensors). */
  readonly tensorPair: readonly number[];
  readonly metaPair: number | undefined;
  /** Byte offsets of each tensor (by index in ValidFile.tensors). */
  readonly offsets: readonly (readonly [number, number])[];
  readonly data: Uint8Array;
  /** Text between the JSON and the padding. */
  readonly afterJson: string;
  readonly padding: string;
  readonly style: Style;
}

function entry(dtype: Json, shape: Json, offsets: Json, fields: readonly Field[]): Obj {
  const value: Record<Field, Json> = { dtype, shape, data_offsets: offsets };
  return { pairs: fields.map((f) => [f, value[f]] as const) };
}

export function draftOf(v: ValidFile): Draft {
  const offsets: [number, number][] = v.tensors.map(() => [0, 0]);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const i of v.dataOrder) {
    const t = v.tensors[i]!;
    offsets[i] = [at, at + t.data.length];
    at += t.data.length;
    parts.push(t.data);
  }
  const data = new Uint8Array(at);
  let p = 0;
  for (const part of parts) {
    data.set(part, p);
    p += part.length;
  }
  const pairs: Pair[] = v.tensors.map((t, i) => [t.name, entry(t.dtype, t.shape, offsets[i]!, v.fields)]);
  const tensorPair = v.tensors.map((_, i) => i);
  let metaPair: number | undefined;
  if (v.metadata !== undefined) {
    pairs.splice(v.metaPos, 0, ["__metadata__", { pairs: v.metadata }]);
    metaPair = v.metaPos;
    for (let i = 0; i < tensorPair.length; i++) if (tensorPair[i]! >= v.metaPos) tensorPair[i]! += 1;
  }
  return { pairs, tensorPair, metaPair, offsets, data, afterJson: "", padding: v.padding, style: v.style };
}

const utf8 = new TextEncoder();

export function headerBytes(d: Draft): Uint8Array {
  return utf8.encode(renderJson({ pairs: d.pairs }, d.style) + d.afterJson + d.padding);
}

/** 8-byte little-endian length (the real one unless `declared` says otherwise), header, data. */
export function assemble(header: Uint8Array, data: Uint8Array, declared: bigint = BigInt(header.length)): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared, true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

export function encode(d: Draft): Uint8Array {
  return assemble(headerBytes(d), d.data);
}

export function withPair(d: Draft, index: number, pair: Pair): Draft {
  const pairs = [...d.pairs];
  pairs[index] = pair;
  return { ...d, pairs };
}

/** Replaces (or, with undefined, removes) one field of tensor `i`'s entry. */
export function withField(d: Draft, i: number, field: string, value: Json | undefined): Draft {
  const at = d.tensorPair[i]!;
  const [key, obj] = d.pairs[at]!;
  const pairs = (obj as Obj).pairs.filter(([k]) => k !== field);
  const index = (obj as Obj).pairs.findIndex(([k]) => k === field);
  if (value !== undefined) pairs.splice(index < 0 ? pairs.length : index, 0, [field, value]);
  return withPair(d, at, [key, { pairs }]);
}

export function insertPair(d: Draft, index: number, pair: Pair): Draft {
  const pairs = [...d.pairs];
  pairs.splice(index, 0, pair);
  const shift = (p: number) => (p >= index ? p + 1 : p);
  return { ...d, pairs, tensorPair: d.tensorPair.map(shift), metaPair: d.metaPair === undefined ? undefined : shift(d.metaPair) };
}

// ---- what the reader must answer ----------------------------------------------------------------

export interface ExpectedRead {
  readonly tensors: ReadonlyMap<string, Tensor>;
  readonly metadata: Readonly<Record<string, string>> | undefined;
}

export type Expect = { readonly code: SafetensorsErrorCode } | { readonly read: ExpectedRead };

export interface Case {
  readonly what: string;
  readonly bytes: Uint8Array;
  readonly expect: Expect;
}

export function expectedRead(v: ValidFile, change: Partial<Record<string, Partial<Tensor>>> = {}): ExpectedRead {
  const tensors = new Map<string, Tensor>();
  for (const t of v.tensors) tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data: t.data, ...change[t.name] });
  return { tensors, metadata: v.metadata === undefined ? undefined : Object.fromEntries(v.metadata) };
}

const fails = (what: string, bytes: Uint8Array, code: SafetensorsErrorCode): Case => ({ what, bytes, expect: { code } });

// ---- corruption categories ----------------------------------------------------------------------

/** A valid file with at least one tensor, the tensor to damage (index `i`), and how. */
interface Picked<T> {
  readonly v: ValidFile;
  readonly d: Draft;
  readonly i: number;
  readonly change: T;
}

function pickTensor<T>(change: fc.Arbitrary<T>): fc.Arbitrary<Picked<T>> {
  return validFile({ minTensors: 1 }).chain((v) => fc.record({ v: fc.constant(v), d: fc.constant(draftOf(v)), i: fc.nat(v.tensors.length - 1), change }));
}

const U64_MAX = 2n ** 64n - 1n;
const MAX_HEADER = 100_000_000n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export const validCases: fc.Arbitrary<Case> = validFile().map((v) => ({ what: "valid file", bytes: encode(draftOf(v)), expect: { read: expectedRead(v) } }));

/** Every strict prefix of a valid file. */
export const truncated: fc.Arbitrary<Case> = validFile()
  .chain((v) => {
    const d = draftOf(v);
    const bytes = encode(d);
    return fc.nat(bytes.length - 1).map((cut) => ({ bytes, cut, n: headerBytes(d).length }));
  })
  .map(({ bytes, cut, n }) =>
    fails(
      `truncated to ${cut} of ${bytes.length} bytes`,
      bytes.slice(0, cut),
      cut < 8 ? "FILE_TOO_SMALL" : cut < 8 + n ? "INVALID_HEADER_LENGTH" : "INCOMPLETE_BUFFER",
    ),
  );

/** A declared header length past the end of the file, up to 2^64 - 1. */
export const headerLengthOverflow: fc.Arbitrary<Case> = validFile()
  .chain((v) => {
    const d = draftOf(v);
    const header = headerBytes(d);
    const least = BigInt(header.length + d.data.length + 1);
    const notable = [U64_MAX, 2n ** 63n, 2n ** 63n - 1n, 2n ** 53n + 1n, 2n ** 32n, MAX_HEADER + 1n, MAX_HEADER, 99_000_000n, least].filter((x) => x >= least);
    return fc.tuple(
      fc.constant({ header, data: d.data }),
      fc.oneof(fc.bigInt({ min: least, max: U64_MAX }), fc.bigInt({ min: least, max: least + 64n }), fc.constantFrom(...notable)),
    );
  })
  .map(([{ header, data }, declared]) =>
    fails(`declared header length ${declared}`, assemble(header, data, declared), declared > MAX_HEADER ? "HEADER_TOO_LARGE" : "INVALID_HEADER_LENGTH"),
  );

/** A declared header length that stops short of the JSON's end (or inside the padding). */
export const headerLengthShort: fc.Arbitrary<Case> = validFile()
  .chain((v) => {
    const d = draftOf(v);
    const header = headerBytes(d);
    const jsonLength = utf8.encode(renderJson({ pairs: d.pairs }, d.style)).length;
    return fc.nat(header.length - 1).map((declared) => ({ header, data: d.data, declared, jsonLength }));
  })
  .map(({ header, data, declared, jsonLength }) => {
    const bytes = assemble(header, data, BigInt(declared));
    // A prefix of valid UTF-8 is invalid exactly when it ends inside a multi-byte character.
    const code: SafetensorsErrorCode =
      declared === 0
        ? "INVALID_HEADER_START"
        : (header[declared]! & 0xc0) === 0x80
          ? "INVALID_HEADER_UTF8"
          : declared < jsonLength
            ? "INVALID_HEADER_JSON"
            : "INCOMPLETE_BUFFER";
    return fails(`declared header length ${declared} of ${header.length} (JSON ${jsonLength})`, bytes, code);
  });

/** Byte sequences that are not UTF-8 wherever they stand. */
const BAD_UTF8: readonly (readonly number[])[] = [
  [0xff],
  [0xfe],
  [0x80],
  [0xbf],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xc2],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];

/** An invalid UTF-8 sequence inserted at a character boundary anywhere in the header. */
export const badUtf8: fc.Arbitrary<Case> = validFile()
  .chain((v) => {
    const d = draftOf(v);
    const header = headerBytes(d);
    return fc.record({ header: fc.constant(header), data: fc.constant(d.data), at: fc.nat(header.length), bad: fc.constantFrom(...BAD_UTF8) });
  })
  .map(({ header, data, at, bad }) => {
    let pos = at;
    while (pos < header.length && (header[pos]! & 0xc0) === 0x80) pos++;
    const h = new Uint8Array([...header.subarray(0, pos), ...bad, ...header.subarray(pos)]);
    return fails(`bytes ${bad.map((b) => b.toString(16)).join(" ")} at header byte ${pos}`, assemble(h, data), "INVALID_HEADER_UTF8");
  });

/** Strings that are not JSON strings (the quotes included). */
const BAD_STRINGS = [
  '"a\\x"',
  '"\\u12"',
  '"\\u12G4"',
  '"\\ud800"',
  '"\\udc00x"',
  '"\\ud800\\u0041"',
  '"a\u0001"',
  '"line\nbreak"',
  '"tab\tin"',
  '"a\\"',
  "'single'",
  "unquoted",
  '"a" "b"',
];
/** Values that are not JSON values. */
const BAD_VALUES = [
  "01",
  "1.",
  ".5",
  "-",
  "1e",
  "1e+",
  "+1",
  "0x10",
  "Infinity",
  "NaN",
  "-Infinity",
  "1_0",
  "--1",
  "tru",
  "nul",
  "[1,]",
  "[1,,2]",
  "[1 2]",
  "[1",
  "{",
  '{"a"}',
  '{"a":}',
  '{"a":1,}',
  "undefined",
  "'x'",
];
/** Text after the JSON object that is neither whitespace nor padding. */
const TRAILING = ["x", "}", "{}", ",", "]", "null", "0", "\u0000", "\u000b", "\u00a0", "/* */", "//"];

/** One syntax error: in a key, in a value, after the object, or from nesting too deep. */
export const badJson: fc.Arbitrary<Case> = pickTensor(
  fc.oneof(
    fc.record({ kind: fc.constant("key" as const), text: fc.constantFrom(...BAD_STRINGS) }),
    fc.record({ kind: fc.constant("value" as const), text: fc.constantFrom(...BAD_VALUES, ...BAD_STRINGS) }),
    fc.record({ kind: fc.constant("field" as const), text: fc.constantFrom(...BAD_VALUES) }),
    fc.record({ kind: fc.constant("after" as const), text: fc.constantFrom(...TRAILING) }),
    fc.record({ kind: fc.constant("syntax" as const), text: fc.constantFrom("drop-close", "trailing-comma", "colon", "no-colon", "no-comma") }),
    fc.record({ kind: fc.constant("deep" as const), text: fc.integer({ min: 70, max: 5000 }).map(String) }),
  ),
).map(({ d, i, change: how }) => {
  const at = d.tensorPair[i]!;
  const [key, value] = d.pairs[at]!;
  let out: Draft;
  switch (how.kind) {
    case "key":
      out = withPair(d, at, [new Raw(how.text), value]);
      break;
    case "value":
      out = withField(d, i, "dtype", new Raw(how.text));
      break;
    case "field":
      out = withField(d, i, "shape", [new Raw(how.text)]);
      break;
    case "after":
      out = { ...d, afterJson: how.text };
      break;
    case "deep": {
      const n = Number(how.text);
      out = withField(d, i, "extra", new Raw("[".repeat(n) + "]".repeat(n)));
      break;
    }
    case "syntax": {
      if (how.text === "drop-close" || how.text === "trailing-comma") {
        const text = renderJson({ pairs: d.pairs }, d.style);
        const cut = text.lastIndexOf("}");
        const h = utf8.encode(`${text.slice(0, cut)}${how.text === "trailing-comma" ? ",}" : ""}${d.padding}`);
        return fails(`header ${how.text}`, assemble(h, d.data), "INVALID_HEADER_JSON");
      }
      const k = key instanceof Raw ? key.text : JSON.stringify(key);
      const member = {
        colon: `${k}=${renderJson(value, d.style)}`,
        "no-colon": `${k} ${renderJson(value, d.style)}`,
        "no-comma": `${k}:${renderJson(value, d.style)} "z":1`,
      }[how.text]!;
      out = withPair(d, at, [null, new Raw(member)]);
      break;
    }
  }
  return fails(`${how.kind} ${JSON.stringify(how.text).slice(0, 40)} in tensor ${i}`, encode(out), "INVALID_HEADER_JSON");
});

/** Headers that are JSON (or empty) but do not start with '{'. */
export const nonObjectHeader: fc.Arbitrary<Case> = fc
  .oneof(
    fc.constantFrom("", "[]", "null", "1", '"x"', "true", " {}", "\n{}", "\t{}", "[{}]", "\ufeff{}"),
    fc
      .jsonValue()
      .filter((j) => typeof j !== "object" || j === null || Array.isArray(j))
      .map((j) => JSON.stringify(j)),
  )
  .chain((text) => fc.tuple(fc.constant(text), fc.uint8Array({ maxLength: 8 })))
  .map(([text, data]) => fails(`header ${JSON.stringify(text).slice(0, 40)}`, assemble(utf8.encode(text), data), "INVALID_HEADER_START"));

/** A tensor entry that is not an object, or whose dtype is missing or not a string. */
export const badEntry: fc.Arbitrary<Case> = pickTensor(
  fc.oneof(
    fc.constantFrom<Json>(null, 1, "F32", [], true, [{ pairs: [] }]).map((j) => ({ entry: j })),
    fc.constantFrom<Json | undefined>(undefined, null, 32, true, ["F32"], { pairs: [] }).map((j) => ({ dtype: j })),
  ),
).map(({ d, i, change: value }) => {
  const out = "entry" in value ? withPair(d, d.tensorPair[i]!, [d.pairs[d.tensorPair[i]!]![0], value.entry]) : withField(d, i, "dtype", value.dtype);
  return fails(`tensor ${i}: ${JSON.stringify(value)}`, encode(out), "INVALID_TENSOR_ENTRY");
});

/** A key given twice: a tensor, `__metadata__`, a metadata key, or a field inside an entry. */
export const duplicateKey: fc.Arbitrary<Case> = pickTensor(
  fc.record({ place: fc.nat(), kind: fc.constantFrom("tensor", "tensor-escaped", "metadata", "metadata-key", "field", "extra-field") }),
).map(({ d, i, change: { place, kind } }) => {
  const where = place % (d.pairs.length + 1);
  const at = d.tensorPair[i]!;
  const [key, value] = d.pairs[at]!;
  const name = key as string;
  const entryObj = value as Obj;
  let out: Draft;
  switch (kind) {
    case "tensor":
      out = insertPair(d, where, [name, value]);
      break;
    case "tensor-escaped": {
      // The same key spelt differently: every UTF-16 unit as a \u escape.
      const escaped = Array.from({ length: name.length }, (_, k) => `\\u${name.charCodeAt(k).toString(16).padStart(4, "0")}`).join("");
      out = insertPair(d, where, [new Raw(`"${escaped}"`), value]);
      break;
    }
    case "metadata": {
      const meta: Pair = ["__metadata__", { pairs: [["k", "v"]] }];
      out = insertPair(d.metaPair === undefined ? insertPair(d, 0, meta) : d, where, meta);
      break;
    }
    case "metadata-key": {
      const meta: Obj = d.metaPair === undefined ? { pairs: [] } : (d.pairs[d.metaPair]![1] as Obj);
      const k = meta.pairs[0]?.[0] ?? "k";
      const dup: Obj = { pairs: [...meta.pairs, [k, "again"], ...(meta.pairs.length === 0 ? [[k, "first"] as const] : [])] };
      out = d.metaPair === undefined ? insertPair(d, 0, ["__metadata__", dup]) : withPair(d, d.metaPair, ["__metadata__", dup]);
      break;
    }
    case "field": {
      const f = entryObj.pairs[where % entryObj.pairs.length]!;
      out = withPair(d, at, [key, { pairs: [...entryObj.pairs, f] }]);
      break;
    }
    case "extra-field":
      out = withPair(d, at, [key, { pairs: [["x", 1], ...entryObj.pairs, ["x", 1]] }]);
      break;
  }
  return fails(`duplicate ${kind}`, encode(out), "DUPLICATE_KEY");
});

/** Tensors from data index k onward moved d bytes later, the file grown by d: a hole. */
export const hole: fc.Arbitrary<Case> = pickTensor(fc.integer({ min: 1, max: 32 })).map(({ v, d: start, i: k, change: gap }) => {
  let d = start;
  const order = v.tensors.map((_, i) => i).sort((a, b) => d.offsets[a]![0] - d.offsets[b]![0] || d.offsets[a]![1] - d.offsets[b]![1]);
  for (const i of order.slice(k)) {
    const [b, e] = d.offsets[i]!;
    d = withField(d, i, "data_offsets", [b + gap, e + gap]);
  }
  d = { ...d, data: new Uint8Array([...d.data, ...new Uint8Array(gap)]) };
  return fails(`hole of ${gap} bytes before sorted tensor ${k}`, encode(d), "INVALID_OFFSET");
});

/** A non-empty tensor moved back so that it overlaps what precedes it, or an end before its begin. */
export const overlap: fc.Arbitrary<Case> = validFile({ nonEmpty: 2 })
  .chain((v) => {
    const d = draftOf(v);
    const movable = v.tensors.map((_, i) => i).filter((i) => d.offsets[i]![0] > 0 && d.offsets[i]![1] > d.offsets[i]![0]);
    return fc.record({ d: fc.constant(d), i: fc.constantFrom(...movable), back: fc.nat(), reversed: fc.boolean() });
  })
  .map(({ d, i, back, reversed }) => {
    const [b, e] = d.offsets[i]!;
    if (reversed) return fails(`tensor ${i} offsets [${b}, ${b - 1}]`, encode(withField(d, i, "data_offsets", [b, b - 1])), "INVALID_OFFSET");
    const by = 1 + (back % b);
    return fails(`tensor ${i} moved back ${by}`, encode(withField(d, i, "data_offsets", [b - by, e - by])), "INVALID_OFFSET");
  });

/** data_offsets that are not two non-negative integers. */
export const badOffsets: fc.Arbitrary<Case> = pickTensor(
  fc.constantFrom<Json | undefined>(
    undefined,
    null,
    0,
    "0,1",
    [],
    [0],
    [0, 1, 2],
    [-1, 0].map((x) => new Raw(String(x))),
    [new Raw("1.5"), 2],
    [new Raw("0.0"), 0],
    [new Raw("-0"), 0],
    [0, new Raw("1e1")],
    [0, "2"],
    [0, null],
    [[0], [1]],
    { pairs: [] },
  ),
).map(({ d, i, change: offsets }) =>
  fails(`tensor ${i} data_offsets ${renderJson(offsets ?? new Raw("(missing)"), d.style)}`, encode(withField(d, i, "data_offsets", offsets)), "INVALID_OFFSET"),
);

/** A tensor appended after the last byte, with no data behind it. */
export const pastTheEnd: fc.Arbitrary<Case> = validFile().chain((v) =>
  fc.record({ v: fc.constant(v), length: fc.integer({ min: 1, max: 64 }), at: fc.nat(v.tensors.length), extra: fc.nat(63) }).map(({ v, length, at, extra }) => {
    const d = draftOf(v);
    const end = d.data.length;
    const name = `\u0000past-end-${v.tensors.map((t) => t.name).join("|")}`;
    const present = Math.min(extra, length - 1);
    const grown = { ...d, data: new Uint8Array([...d.data, ...new Uint8Array(present)]) };
    return fails(
      `tensor [${end}, ${end + length}] with ${present} of its bytes`,
      encode(insertPair(grown, at, [name, entry("U8", [length], [end, end + length], FIELDS)])),
      "INCOMPLETE_BUFFER",
    );
  }),
);

/** Bytes after the last tensor. */
export const trailingBytes: fc.Arbitrary<Case> = validFile()
  .chain((v) => fc.tuple(fc.constant(draftOf(v)), fc.uint8Array({ minLength: 1, maxLength: 64 })))
  .map(([d, extra]) => fails(`${extra.length} trailing bytes`, encode({ ...d, data: new Uint8Array([...d.data, ...extra]) }), "INCOMPLETE_BUFFER"));

/** A tensor's dtype and shape changed under fixed offsets: a size mismatch, misaligned sub-byte
 * elements, or (when the byte count happens to agree) a legal reinterpretation. */
export const shapeMismatch: fc.Arbitrary<Case> = pickTensor(fc.record({ dtype: dtypeArb, shape: fc.array(fc.nat(6), { maxLength: 4 }) })).map(
  ({ v, d: start, i, change: { dtype, shape } }) => {
    const d = withField(withField(start, i, "dtype", dtype), i, "shape", shape);
    const t = v.tensors[i]!;
    const bits = numel(shape) * dtypeBits(dtype);
    const what = `tensor ${i} ${t.dtype} [${t.shape}] -> ${dtype} [${shape}]`;
    if (bits % 8 !== 0) return fails(what, encode(d), "MISALIGNED_SUBBYTE");
    if (bits / 8 !== t.data.length) return fails(what, encode(d), "TENSOR_INVALID_INFO");
    return { what, bytes: encode(d), expect: { read: expectedRead(v, { [t.name]: { dtype, shape } }) } };
  },
);

/** Sub-byte dtypes whose element count leaves a partial byte. */
export const misalignedSubByte: fc.Arbitrary<Case> = pickTensor(
  fc
    .record({ dtype: fc.constantFrom<DType>("F4", "F6_E2M3", "F6_E3M2"), n: fc.integer({ min: 1, max: 99 }) })
    .filter(({ dtype, n }) => (n * dtypeBits(dtype)) % 8 !== 0),
).map(({ d, i, change: { dtype, n } }) =>
  fails(`tensor ${i} ${dtype} [${n}]`, encode(withField(withField(d, i, "dtype", dtype), i, "shape", [n])), "MISALIGNED_SUBBYTE"),
);

const bigDim = fc.oneof(
  fc.bigInt({ min: 2n ** 51n, max: 2n ** 70n }),
  fc.constantFrom(2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 64n + 1n, 10n ** 30n),
);

/** Shapes whose element count (its non-zero dimensions) overflows 2^53 bits, and offsets past 2^53. */
export const numelOverflow: fc.Arbitrary<Case> = pickTensor(
  fc
    .record({
      dtype: dtypeArb,
      shape: fc.oneof(
        fc
          .tuple(fc.array(fc.nat(4), { maxLength: 2 }), bigDim, fc.array(fc.nat(4), { maxLength: 2 }))
          .map(([a, b, c]) => [...a.map(BigInt), b, ...c.map(BigInt)]),
        fc.array(fc.bigInt({ min: 2n ** 18n, max: 2n ** 40n }), { minLength: 3, maxLength: 5 }),
      ),
      offsets: fc.boolean(),
    })
    .filter(({ shape, dtype }) => shape.filter((x) => x !== 0n).reduce((a, b) => a * b, 1n) * BigInt(dtypeBits(dtype)) > MAX_SAFE),
).map(({ d, i, change: { dtype, shape, offsets } }) => {
  if (offsets) {
    const end = MAX_SAFE + 1n + shape[0]!;
    return fails(`tensor ${i} data_offsets [0, ${end}]`, encode(withField(d, i, "data_offsets", [0, new Raw(String(end))])), "VALIDATION_OVERFLOW");
  }
  const out = withField(
    withField(d, i, "dtype", dtype),
    i,
    "shape",
    shape.map((x) => new Raw(String(x))),
  );
  return fails(`tensor ${i} ${dtype} [${shape}]`, encode(out), "VALIDATION_OVERFLOW");
});

/** Shapes that are not arrays of non-negative integer lexemes. */
export const badShape: fc.Arbitrary<Case> = pickTensor(
  fc.constantFrom<Json | undefined>(
    undefined,
    null,
    2,
    "2",
    "[2]",
    true,
    { pairs: [] },
    [new Raw("-1")],
    [new Raw("-0")],
    [new Raw("1.5")],
    [new Raw("2.0")],
    [new Raw("2e0")],
    [new Raw("1E1")],
    [new Raw("1e400")],
    ["2"],
    [[2]],
    [null],
    [true],
    [2, new Raw("-3")],
  ),
).map(({ d, i, change: shape }) =>
  fails(`tensor ${i} shape ${renderJson(shape ?? new Raw("(missing)"), d.style)}`, encode(withField(d, i, "shape", shape)), "INVALID_SHAPE"),
);

const KNOWN = new Set<string>(DTYPES);

/** dtype strings the format does not define. */
export const unknownDtype: fc.Arbitrary<Case> = pickTensor(
  fc
    .oneof(
      fc.constantFrom("f32", "F8_E4M3FN", "FLOAT", "", " F32", "F32 ", "__proto__", "constructor", "toString", "BF16\u0000", "I128", "F8"),
      fc.string({ maxLength: 8 }),
    )
    .filter((s) => !KNOWN.has(s)),
).map(({ d, i, change: dtype }) => fails(`tensor ${i} dtype ${JSON.stringify(dtype)}`, encode(withField(d, i, "dtype", dtype)), "UNKNOWN_DTYPE"));

/** `__metadata__` that is not an object of strings; `null` counts as absent, as the reference has it. */
export const badMetadata: fc.Arbitrary<Case> = validFile()
  .chain((v) =>
    fc.record({
      v: fc.constant(v),
      value: fc.oneof(
        fc.constantFrom<Json>([], 1, "x", true, [["a", "b"]], new Raw("-1")).map((j) => ({ whole: j })),
        fc.record({ key: textArb, value: fc.constantFrom<Json>(1, null, true, [], { pairs: [] }, ["x"], new Raw("1.5")) }),
        fc.constant({ whole: null as Json }),
      ),
    }),
  )
  .map(({ v, value }) => {
    const d = draftOf(v);
    const meta: Json = "whole" in value ? value.whole : { pairs: [[value.key, value.value]] };
    const out = d.metaPair === undefined ? insertPair(d, 0, ["__metadata__", meta]) : withPair(d, d.metaPair, ["__metadata__", meta]);
    if (meta === null) return { what: "__metadata__ null", bytes: encode(out), expect: { read: { ...expectedRead(v), metadata: undefined } } };
    return fails(`__metadata__ ${renderJson(meta, d.style)}`, encode(out), "INVALID_METADATA");
  });

/** A declared header length over 100,000,000 bytes, in a file of a few bytes. */
export const hugeHeader: fc.Arbitrary<Case> = fc
  .tuple(fc.oneof(fc.bigInt({ min: MAX_HEADER + 1n, max: U64_MAX }), fc.constantFrom(MAX_HEADER + 1n, U64_MAX)), fc.uint8Array({ maxLength: 32 }))
  .map(([declared, rest]) => fails(`declared header length ${declared}`, assemble(rest, new Uint8Array(0), declared), "HEADER_TOO_LARGE"));

/** Every targeted category, by name. */
export const CORRUPTIONS: Readonly<Record<string, fc.Arbitrary<Case>>> = {
  truncated,
  headerLengthOverflow,
  headerLengthShort,
  hugeHeader,
  badUtf8,
  badJson,
  nonObjectHeader,
  badEntry,
  duplicateKey,
  hole,
  overlap,
  badOffsets,
  pastTheEnd,
  trailingBytes,
  shapeMismatch,
  misalignedSubByte,
  numelOverflow,
  badShape,
  unknownDtype,
  badMetadata,
};

// ---- untargeted damage ------------------------------------------------------------------------

export interface Damaged {
  readonly what: string;
  readonly bytes: Uint8Array;
  /** The file it was made from, and where its data buffer starts. */
  readonly origin: ValidFile;
  readonly dataStart: number;
  /** Every changed byte lies in the data buffer (the header is intact). */
  readonly dataOnly: boolean;
}

/** Random byte flips, insertions and deletions anywhere in a valid file. */
export const damaged: fc.Arbitrary<Damaged> = validFile()
  .chain((v) => {
    const d = draftOf(v);
    const bytes = encode(d);
    const dataStart = bytes.length - d.data.length;
    const edit = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(Math.max(0, bytes.length - 1)), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant("insert" as const), at: fc.nat(bytes.length), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant("delete" as const), at: fc.nat(Math.max(0, bytes.length - 1)), n: fc.integer({ min: 1, max: 4 }) }),
    );
    return fc.record({
      v: fc.constant(v),
      bytes: fc.constant(bytes),
      dataStart: fc.constant(dataStart),
      edits: fc.array(edit, { minLength: 1, maxLength: 4 }),
    });
  })
  .map(({ v, bytes, dataStart, edits }) => {
    const out = [...bytes];
    let dataOnly = true;
    for (const e of edits) {
      if (e.kind === "flip") {
        if (out.length === 0) continue;
        const at = e.at % out.length;
        out[at] = out[at]! ^ e.xor;
        dataOnly &&= at >= dataStart;
      } else if (e.kind === "insert") {
        out.splice(Math.min(e.at, out.length), 0, ...e.bytes);
        dataOnly = false;
      } else {
        out.splice(Math.min(e.at, out.length), e.n);
        dataOnly = false;
      }
    }
    return { what: JSON.stringify(edits), bytes: new Uint8Array(out), origin: v, dataStart, dataOnly };
  });

/** Arbitrary short byte strings, some with a plausible length prefix. */
export const garbage: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.tuple(fc.nat(64), fc.uint8Array({ maxLength: 64 })).map(([n, rest]) => assemble(rest, new Uint8Array(0), BigInt(n))),
  fc.tuple(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 8 })).map(([s, rest]) => assemble(utf8.encode(`{${s}`), rest)),
);
