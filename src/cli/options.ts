// Command-line values, parsed in one place: every rejection is a one-line UsageError naming the
// flag, the range it takes and what was given.

import { UsageError } from "../reference/errors.js";
import { parseSize } from "../reference/size.js";
import { MAX_TIMER_SECONDS } from "../reference/timer-limit.js";

export { MAX_TIMER_SECONDS };

function reject(flag: string, what: string, text: string): never {
  throw new UsageError("INVALID_ARGUMENT", `--${flag} must be ${what}, not '${text}'`);
}

/** A whole number in [min, max], written as plain digits (no sign, exponent or fraction). */
export function wholeNumber(flag: string, text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min > 0 ? `, at least ${min}` : "";
    reject(flag, `a whole number${range}`, text);
  }
  return n;
}

/** `wholeNumber` for an optional flag. */
export function optionalWholeNumber(flag: string, text: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return text === undefined ? undefined : wholeNumber(flag, text, min, max);
}

/** A comma-separated list of whole numbers ("" is the empty list). */
export function wholeNumberList(flag: string, text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  return text === "" ? [] : text.split(",").map((t) => wholeNumber(flag, t));
}

/** A positive number of seconds that a Node timer can hold. */
export function timerSeconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0 || n > MAX_TIMER_SECONDS) reject(flag, `a positive number of seconds, at most ${MAX_TIMER_SECONDS}`, text);
  return n;
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) reject(flag, `one of ${allowed.join(", ")}`, text);
  return text as T;
}

/** A size in bytes ("64MiB", "1GB", "1000000"; reference/size.ts). */
export function optionalSize(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSize(text);
  } catch {
    return reject(flag, "a size of at least one byte (examples: 1GB, 512MiB, 1000000)", text);
  }
}

/** A comma-separated list of environment variable names. */
export function nameList(flag: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(",").map((n) => n.trim());
  if (names.some((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n))) reject(flag, "variable names separated by commas (HF_TOKEN,MY_VAR)", text);
  return names;
}
