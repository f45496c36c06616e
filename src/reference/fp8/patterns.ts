// Which config entry applies to a module, the way compressed-tensors and AMD Quark decide it:
// an exact module name beats a pattern (`re:` regex, or a Quark fnmatch glob), which beats a
// layer class name ("Linear"). The harness only sees tensor names, not module classes, so a
// class target is taken to cover every quantized weight; that is why ties at one level are
// reported instead of resolved.

import { Fp8Error } from "./errors.js";

/** Match strength, strongest first. */
export type MatchLevel = "exact" | "pattern" | "class";

export interface CompiledTarget {
  readonly text: string;
  /** The level at which `module` matches this target, or undefined when it does not. */
  match(module: string): MatchLevel | undefined;
}

/** The module a weight belongs to: its name without the trailing `.weight`. */
export function moduleOf(weight: string): string {
  return weight.endsWith(".weight") ? weight.slice(0, -".weight".length) : weight;
}

function compileRegex(source: string, text: string, configFile: string): RegExp {
  try {
    // Python's re.match: anchored at the start only.
    return new RegExp(`^(?:${source})`, "u");
  } catch (e) {
    throw new Fp8Error("INVALID_QUANTIZATION_CONFIG", `target '${text}' is not a regular expression this harness can read (${(e as Error).message})`, {
      file: configFile,
    });
  }
}

/** fnmatch.fnmatchcase: `*` any run, `?` one character, `[seq]` / `[!seq]` classes, whole name. */
function globToRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === "*") out += ".*";
    else if (ch === "?") out += ".";
    else if (ch === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close < 0) out += "\\[";
      else {
        let body = glob.slice(i + 1, close);
        const negate = body.startsWith("!");
        if (negate) body = body.slice(1);
        out += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
        i = close;
      }
    } else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^(?:${out})$`, "su");
}

const CLASS_NAME = /^[A-Z][A-Za-z0-9_]*$/;

/** A compressed-tensors target: `re:<regex>`, a module name, or a layer class such as `Linear`. */
export function compressedTensorsTarget(text: string, configFile: string): CompiledTarget {
  if (text.startsWith("re:")) {
    const re = compileRegex(text.slice(3), text, configFile);
    return { text, match: (m) => (m === text ? "exact" : re.test(m) ? "pattern" : undefined) };
  }
  const isClass = CLASS_NAME.test(text);
  return { text, match: (m) => (m === text ? "exact" : isClass ? "class" : undefined) };
}

/** A Quark layer pattern: `re:<regex>` or an fnmatch glob (which includes exact names). */
export function quarkPattern(text: string, configFile: string): CompiledTarget {
  const re = text.startsWith("re:") ? compileRegex(text.slice(3), text, configFile) : globToRegExp(text);
  return { text, match: (m) => (m === text ? "exact" : re.test(m) ? "pattern" : undefined) };
}

/** A Quark `layer_type_quant_config` key: a layer class, covering every quantized weight. */
export function quarkLayerType(text: string): CompiledTarget {
  return { text, match: () => "class" };
}

const LEVELS: readonly MatchLevel[] = ["exact", "pattern", "class"];

/** The entries matching `module` at the strongest level any of them reaches (empty when none). */
export function strongestMatches<T>(module: string, entries: readonly { readonly targets: readonly CompiledTarget[]; readonly value: T }[]): T[] {
  for (const level of LEVELS) {
    const hits = entries.filter((e) => e.targets.some((t) => t.match(module) === level)).map((e) => e.value);
    if (hits.length > 0) return hits;
  }
  return [];
}
