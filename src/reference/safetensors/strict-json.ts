// A strict RFC 8259 JSON parser for safetensors headers. `JSON.parse` silently keeps the last of
// two equal keys; the format forbids duplicates, so the header needs a parser that sees them.
// Integer lexemes come back as bigint (exact at any size, so overflow checks stay exact); numbers
// written with a fraction or an exponent, and `-0`, come back as number: the reference reader
// (serde_json) treats those as floats and refuses them where it wants integers. Escapes that
// leave a lone UTF-16 surrogate are refused, as serde_json refuses them: such a name could not be
// written back as UTF-8.

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
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

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function parseStrictJson(text: string): JsonValue {
  let pos = 0;

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
  const expect = (ch: string): void => {
    if (text[pos] !== ch) fail(`expected '${ch}'`);
    pos++;
  };

  const parseString = (): string => {
    expect('"');
    let out = "";
    let start = pos;
    let escapedUnit = false;
    for (;;) {
      if (pos >= text.length) fail("unterminated string");
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
      const esc = text[pos + 1];
      pos += 2;
      switch (esc) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          escapedUnit = true;
          pos += 4;
          break;
        }
        default:
          pos -= 1;
          fail("bad escape");
      }
      start = pos;
    }
  };

  const parseNumber = (): number | bigint => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m === null) return fail("invalid value");
    pos += m[0].length;
    const lexeme = m[0];
    return INTEGER.test(lexeme) && lexeme !== "-0" ? BigInt(lexeme) : Number(lexeme);
  };

  const path: string[] = [];
  const parseValue = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError("depth", `nesting deeper than ${MAX_DEPTH}`);
    skipWs();
    const c = text[pos];
    if (c === "{") {
      pos++;
      const obj: JsonObject = Object.create(null) as JsonObject;
      const seen = new Set<string>();
      skipWs();
      if (text[pos] === "}") {
        pos++;
        return obj;
      }
      for (;;) {
        skipWs();
        const key = parseString();
        if (seen.has(key)) throw new JsonSyntaxError("duplicate", `duplicate key '${key}'`, key, [...path]);
        seen.add(key);
        skipWs();
        expect(":");
        path.push(key);
        obj[key] = parseValue(depth + 1);
        path.pop();
        skipWs();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        expect("}");
        return obj;
      }
    }
    if (c === "[") {
      pos++;
      const arr: JsonValue[] = [];
      skipWs();
      if (text[pos] === "]") {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(depth + 1));
        skipWs();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        expect("]");
        return arr;
      }
    }
    if (c === '"') return parseString();
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
  if (pos !== text.length) fail("trailing characters");
  return value;
}
