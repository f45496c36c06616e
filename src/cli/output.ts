// Writing command output. Every human-readable line goes through one printer (humanLine):
// tensor names, layer prefixes, Hub file names and server messages come from outside, so each
// line is redacted and its control characters shown as escapes (src/reference/safe-text.ts)
// before it reaches a terminal; JSON output is JSON, whose strings are escaped already.
// Large reports (inspect on a 30,000-tensor MoE checkpoint) go out in bounded chunks, with
// backpressure, instead of as one joined string and its copies, which keeps the CLI's peak
// memory flat; a reader that closes early (`moe-prefuse inspect big | head`) ends the program
// quietly instead of with an EPIPE stack trace.

import { safeText } from "../reference/safe-text.js";

const CHUNK = 1 << 16;

let quiet = false;
/** A reader that closes stdout early ends the program quietly; installed once, when the CLI starts. */
export function exitQuietlyOnEpipe(): void {
  if (quiet) return;
  quiet = true;
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}

/**
 * Writes the parts to stdout in order, batched into chunks of about 64 KiB, waiting for the
 * reader whenever stdout's buffer is full (a pipe to a slow reader would otherwise queue it all).
 */
export async function writeOutput(parts: Iterable<string>): Promise<void> {
  let pending = "";
  for (const p of parts) {
    pending += p;
    if (pending.length >= CHUNK) {
      if (!process.stdout.write(pending)) await new Promise<void>((resolve) => process.stdout.once("drain", resolve));
      pending = "";
    }
  }
  if (pending !== "") process.stdout.write(pending);
}

/** What a terminal may be shown of one line of text: redacted, controls escaped, one newline. */
export function humanLine(line: string): string {
  return `${safeText(line)}\n`;
}

/** Each line made safe (humanLine), for writeOutput. */
export function* asLines(lines: Iterable<string>): Generator<string> {
  for (const line of lines) yield humanLine(line);
}

/** Lines of a command's result on stdout. */
export function say(...lines: string[]): void {
  for (const line of lines) process.stdout.write(humanLine(line));
}

/** A line about the run on stderr (`moe-prefuse: ...`): progress, what was fetched. */
export function notice(line: string): void {
  process.stderr.write(humanLine(`moe-prefuse: ${line}`));
}

export function warn(line: string): void {
  notice(`warning: ${line}`);
}

/** A line on stderr without the prefix (bench progress, a --debug stack), made safe like every other. */
export function stderrLine(line: string): void {
  process.stderr.write(humanLine(line));
}

const indent = (text: string, by: string) => text.replace(/\n/g, `\n${by}`);

/**
 * `JSON.stringify(value, null, 2)` of a plain object, produced piece by piece: each top-level
 * array element separately, so that a report with tens of thousands of entries is never one
 * string.
 */
export function* prettyJson(report: object): Generator<string> {
  const value = report as Readonly<Record<string, unknown>>;
  // The properties JSON.stringify keeps (no toJSON in a plain report).
  const keys = Object.keys(value).filter((k) => !["undefined", "function", "symbol"].includes(typeof value[k]));
  if (keys.length === 0) {
    yield "{}";
    return;
  }
  yield "{";
  for (const [i, key] of keys.entries()) {
    yield `${i === 0 ? "" : ","}\n  ${JSON.stringify(key)}: `;
    const v = value[key];
    if (Array.isArray(v) && v.length > 0) {
      yield "[";
      for (const [j, el] of v.entries()) yield `${j === 0 ? "" : ","}\n    ${indent(JSON.stringify(el, null, 2) ?? "null", "    ")}`;
      yield "\n  ]";
    } else {
      yield indent(JSON.stringify(v, null, 2)!, "  ");
    }
  }
  yield "\n}";
}
