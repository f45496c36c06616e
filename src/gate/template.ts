// The candidate command template: split into argv without a shell, then the placeholders
// `{input}`, `{output}` and `{stage}` replaced per case. The quoting rules are a small, exact
// subset of POSIX sh, so a template written for a shell means the same here:
//   - unquoted spaces, tabs and newlines separate arguments;
//   - '...' is literal (no escapes inside);
//   - "..." is literal except \" and \\ (any other backslash stays as it is);
//   - outside quotes, a backslash makes the next character literal (`a\ b` is one argument);
//   - quoted and unquoted parts next to each other form one argument (`--out="{output}"`), and
//     '' or "" alone is an empty argument.
// Nothing else is special: no variables, globs, pipes or redirections. Placeholders are replaced
// inside every argument, quoted or not, after splitting, so a path with spaces stays one argument,
// and in one pass, so a value holding a placeholder (a temp path with `{stage}` in it) is never
// expanded again.
//
// Serve mode (protocol serve/1) starts long-lived workers: requests carry the paths, so there the
// template must not contain `{input}` or `{output}`; `{stage}` is allowed in both.

import { UsageError } from "../reference/errors.js";

export const PLACEHOLDERS = ["{input}", "{output}", "{stage}"] as const;

export interface Placeholders {
  readonly input: string;
  readonly output: string;
  readonly stage: string;
}

function bad(template: string, detail: string): UsageError {
  return new UsageError("INVALID_ARGUMENT", `--candidate '${template}': ${detail}`);
}

/** Which candidate protocol a template is for: per case (`case/1`) or long-lived workers (`serve/1`). */
export type Protocol = "case/1" | "serve/1";

/** The template's arguments, quotes removed; throws a UsageError on a malformed template. */
export function splitTemplate(template: string, protocol: Protocol = "case/1"): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "\\") {
      if (i + 1 >= template.length) throw bad(template, "ends with a lone backslash");
      word += template[++i];
    } else if (c === "'") {
      const end = template.indexOf("'", i + 1);
      if (end < 0) throw bad(template, `unterminated single quote at position ${i + 1}`);
      word += template.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < template.length && template[j] !== '"'; j++) {
        const d = template[j]!;
        const next = template[j + 1];
        if (d === "\\" && (next === '"' || next === "\\")) {
          word += next;
          j++;
        } else {
          word += d;
        }
      }
      if (j >= template.length) throw bad(template, `unterminated double quote at position ${i + 1}`);
      i = j;
    } else {
      word += c;
    }
  }
  if (inWord) words.push(word);
  if (words.length === 0) throw bad(template, "is empty");
  for (const p of ["{input}", "{output}"]) {
    const has = words.some((w) => w.includes(p));
    if (protocol === "case/1" && !has) throw bad(template, `must contain ${p} (see the candidate protocols in docs/gate-protocols.md)`);
    if (protocol === "serve/1" && has)
      throw bad(template, `must not contain ${p} with --serve: each request carries its input and output (docs/gate-protocols.md)`);
  }
  return words;
}

const PLACEHOLDER = /\{(input|output|stage)\}/g;

/** The argv of one run: every placeholder replaced in every argument, once (values are not scanned again). */
export function expandTemplate(words: readonly string[], values: Partial<Placeholders>): string[] {
  // One regex pass with a replacer function: `$&` and the like in a path are not replacement
  // patterns, and a substituted value is never searched for placeholders.
  return words.map((w) => w.replace(PLACEHOLDER, (whole, name: keyof Placeholders) => values[name] ?? whole));
}
