// A strict RFC 8259 JSON parser for safetensors headers. `JSON.parse` silently keeps the last of
// two equal keys; the format forbids duplicates, so the header needs a parser that sees them.
// Integer lexemes come back exact: as number up to 2^53 - 1, as bigint beyond. Numbers written
// with a fraction or an exponent, and `-0`, come back as JsonFloat: the reference reader
// (serde_json) treats those as floats and refuses them where it wants integers. Escapes that
// leave a lone UTF-16 surrogate are refused, as serde_json refuses them: such a name could not be
// written back as UTF-8.
//
// Speed: a large MoE header (~30,000 entries, a few MB) must parse in a cold process in a few
// tens of milliseconds. The native JSON.parse does that; a scan of the text then proves that the
// strict parse would give the same tree (no key repeated, every number a short integer lexeme, no
// surrogate escapes, nesting within bounds). Any other text goes through the hand-written parser,
// which also produces the precise error.

export type JsonValue = null | boolean | number | bigint | string | JsonFloat | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A number written with a fraction or an exponent (or `-0`): never a count or an offset. */
export class JsonFloat {
  constructor(readonly value: number) {}
}

export class JsonSyntaxError extends Error {
  constructor(
    readonly reason: "syntax" | "duplicate" | "depth",
    message: string,
    readonly key?: string,
    /** For a duplicate: the keys of the objects enclosing the one that repeats `key`. */
    readonly path: readonly string[] = [],
  ) {
    super(message);
  }
}

// Safetensors headers nest three levels deep; anything far deeper is hostile input.
const MAX_DEPTH = 64;

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
// Integer lexemes of at most 15 digits are below 2^53: exact as numbers in either parser.
const SHORT_DIGITS = 15;
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Parses `text` strictly: JSON.parse when that provably gives the strict tree, else by hand. */
export function parseStrictJson(text: string): JsonValue {
  let tree: unknown;
  try {
    tree = JSON.parse(text);
  } catch {
    return parseByHand(text);
  }
  const members = plainMembers(text);
  const keys = typeof tree === "object" && tree !== null ? countKeys(tree, 0) : 0;
  return members !== undefined && members === keys ? (tree as JsonValue) : parseByHand(text);
}

/**
 * Of a text JSON.parse accepted: its number of object members (colons outside strings), or
 * undefined when JSON.parse would read it differently from the strict parser (a float or long
 * integer lexeme, -0, a surrogate escape). Allocates nothing: strings are skipped with indexOf.
 */
function plainMembers(text: string): number | undefined {
  if (SURROGATE_ESCAPE.test(text)) return undefined;
  const n = text.length;
  let members = 0;
  let pos = 0;
  while (pos < n) {
    const c = text.charCodeAt(pos);
    if (c === 0x22) {
      // The closing quote is the first one not escaped by an odd run of backslashes.
      let end = text.indexOf('"', pos + 1);
      for (;;) {
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
        if (slashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      pos = end + 1;
    } else if (c === 0x2d || isDigit(c)) {
      const start = pos;
      do pos++;
      while (isDigit(text.charCodeAt(pos)));
      const next = text.charCodeAt(pos);
      if (next === 0x2e || next === 0x65 || next === 0x45 || pos - start > SHORT_DIGITS || (c === 0x2d && text.charCodeAt(start + 1) === 0x30))
        return undefined;
    } else {
      if (c === 0x3a) members++;
      pos++;
    }
  }
  return members;
}

/** Keys in all objects of a parsed tree; -1 when it nests deeper than the strict parser allows. */
function countKeys(v: object, depth: number): number {
  let n = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const k = keysBelow(v[i], depth);
      if (k < 0) return -1;
      n += k;
    }
    return n;
  }
  for (const key in v) {
    const k = keysBelow((v as Record<string, unknown>)[key], depth);
    if (k < 0) return -1;
    n += k + 1;
  }
  return n;
}

/** Keys inside a value held by a container at `depth` (0 for scalars: no call per number). */
function keysBelow(x: unknown, depth: number): number {
  // The value lies at depth + 1: past the hand parser's limit when depth is at it.
  if (depth >= MAX_DEPTH) return -1;
  return typeof x === "object" && x !== null ? countKeys(x, depth + 1) : 0;
}

// The hand-written parser: for texts the fast path cannot vouch for, and for precise errors.
function parseByHand(text: string): JsonValue {
  const n = text.length;
  let pos = 0;
  const path: string[] = [];

  const fail = (what: string): never => {
    throw new JsonSyntaxError("syntax", `${what} at offset ${pos}`);
  };
  const skipWs = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };
  const expect = (code: number, ch: string): void => {
    if (text.charCodeAt(pos) !== code) fail(`expected '${ch}'`);
    pos++;
  };

  const parseString = (): string => {
    expect(0x22, '"');
    const first = pos;
    // Fast path: no escapes.
    for (;;) {
      if (pos >= n) fail("unterminated string");
      const c = text.charCodeAt(pos);
      if (c === 0x22) return text.slice(first, pos++);
      if (c === 0x5c) break;
      if (c < 0x20) fail("control character in string");
      pos++;
    }
    let out = text.slice(first, pos);
    let start = pos;
    let escapedUnit = false;
    for (;;) {
      if (pos >= n) fail("unterminated string");
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(start, pos);
        pos++;
        if (escapedUnit && LONE_SURROGATE.test(out)) fail("\\u escape leaves a lone surrogate");
        return out;
      }
      if (c < 0x20) fail("control character in string");
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      const esc = text.charAt(pos + 1);
      pos += 2;
      if (esc === "u") {
        const hex = text.slice(pos, pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
        out += String.fromCharCode(parseInt(hex, 16));
        escapedUnit = true;
        pos += 4;
      } else {
        const plain = ESCAPES[esc];
        if (plain === undefined) {
          pos -= 1;
          fail("bad escape");
        }
        out += plain;
      }
      start = pos;
    }
  };

  /** RFC 8259 number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  const parseNumber = (): number | bigint | JsonFloat => {
    const start = pos;
    if (text.charCodeAt(pos) === 0x2d) pos++;
    const lead = text.charCodeAt(pos);
    if (lead === 0x30) pos++;
    else if (lead >= 0x31 && lead <= 0x39) while (isDigit(text.charCodeAt(++pos)));
    else fail("invalid value");
    let integer = true;
    if (text.charCodeAt(pos) === 0x2e) {
      integer = false;
      if (!isDigit(text.charCodeAt(++pos))) fail("invalid number");
      while (isDigit(text.charCodeAt(++pos)));
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      integer = false;
      const sign = text.charCodeAt(++pos);
      if (sign === 0x2b || sign === 0x2d) pos++;
      if (!isDigit(text.charCodeAt(pos))) fail("invalid number");
      while (isDigit(text.charCodeAt(++pos)));
    }
    const lexeme = text.slice(start, pos);
    if (!integer || lexeme === "-0") return new JsonFloat(Number(lexeme));
    if (pos - start <= SHORT_DIGITS) return Number(lexeme);
    const big = BigInt(lexeme);
    return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError("depth", `nesting deeper than ${MAX_DEPTH}`);
    skipWs();
    const c = text.charCodeAt(pos);
    if (c === 0x7b) {
      pos++;
      const obj: JsonObject = {};
      skipWs();
      if (text.charCodeAt(pos) === 0x7d) {
        pos++;
        return obj;
      }
      for (;;) {
        skipWs();
        const key = parseString();
        if (Object.hasOwn(obj, key)) throw new JsonSyntaxError("duplicate", `duplicate key '${key}'`, key, [...path]);
        skipWs();
        expect(0x3a, ":");
        path.push(key);
        const value = parseValue(depth + 1);
        path.pop();
        // A plain assignment to "__proto__" would set the prototype; define it as data instead.
        if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
        else obj[key] = value;
        skipWs();
        if (text.charCodeAt(pos) === 0x2c) {
          pos++;
          continue;
        }
        expect(0x7d, "}");
        return obj;
      }
    }
    if (c === 0x5b) {
      pos++;
      const arr: JsonValue[] = [];
      skipWs();
      if (text.charCodeAt(pos) === 0x5d) {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(depth + 1));
        skipWs();
        if (text.charCodeAt(pos) === 0x2c) {
          pos++;
          continue;
        }
        expect(0x5d, "]");
        return arr;
      }
    }
    if (c === 0x22) return parseString();
    if (text.startsWith("true", pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith("false", pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith("null", pos)) {
      pos += 4;
      return null;
    }
    return parseNumber();
  };

  const value = parseValue(0);
  skipWs();
  if (pos !== n) fail("trailing characters");
  return value;
}
