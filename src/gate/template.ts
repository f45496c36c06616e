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
// inside every argument, quoted or not, after splitting, so a path with spaces stays one argument.

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

/** The template's arguments, quotes removed; throws a UsageError on a malformed template. */
export function splitTemplate(template: string): string[] {
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
    if (!words.some((w) => w.includes(p))) throw bad(template, `must contain ${p} (see the candidate protocol in the README)`);
  }
  return words;
}

/** The argv of one run: every placeholder replaced in every argument. */
export function expandTemplate(words: readonly string[], values: Placeholders): string[] {
  // Replacer functions, so that `$&` and the like in a path are not replacement patterns.
  return words.map((w) => w.replaceAll("{input}", () => values.input).replaceAll("{output}", () => values.output).replaceAll("{stage}", () => values.stage));
}
