// Text that reaches a human: every error message, warning, table cell, progress line and report
// string passes through here, because names come from checkpoints and servers that may be
// hostile. Two rules, one home:
// - secrets never appear: the Hub token (HF_TOKEN, HUGGING_FACE_HUB_TOKEN, or one registered by
//   whoever read it), anything shaped like a Hugging Face token (hf_...), and the credential of
//   any `Bearer ...` are replaced by a marker, so a server that echoes our request headers into
//   its error body cannot make us print the token;
// - nothing steers the terminal: C0 and C1 controls (ESC, CR, LF inside a field, CSI), DEL, the
//   line and paragraph separators and the bidirectional overrides and isolates (which reorder
//   what is shown, CVE-2021-42574) are shown as visible \uXXXX escapes.

export const REDACTED = "<redacted>";

const registered = new Set<string>();

/** A value shorter than this is not redacted by value (a one-letter "token" would eat the text). */
const MIN_SECRET = 8;

/** Makes `secret` one of the values `redact` removes wherever it appears (for the process's life). */
export function registerSecret(secret: string | undefined): void {
  if (secret !== undefined && secret.length >= MIN_SECRET) registered.add(secret);
}

function secretsNow(): string[] {
  const fromEnv = [process.env.HF_TOKEN, process.env.HUGGING_FACE_HUB_TOKEN].filter((v): v is string => v !== undefined && v.length >= MIN_SECRET);
  return [...new Set([...registered, ...fromEnv])].sort((a, b) => b.length - a.length);
}

// A Hugging Face access token is hf_ and 34 letters (30 or more are taken as one, so that a
// tensor name like `lm.hf_proj` is left alone);
// the credential after `Bearer` is whatever runs up to the next quote, comma or space.
const TOKEN_SHAPED = /\bhf_[A-Za-z0-9]{30,}/g;
const BEARER = /\b(Bearer)(\s+)[^\s"',;]+/gi;

/** Names that hold credentials by convention (HF_TOKEN, AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN, DB_PASSWORD, ...). */
const SECRET_NAME = /TOKEN|SECRET|PASSW|PASSPHRASE|KEY|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** The values of `env`'s secret-named variables worth redacting (what a child process could echo). */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  return [...new Set(Object.entries(env).flatMap(([k, v]) => (isSecretName(k) && v !== undefined && v.length >= MIN_SECRET ? [v] : [])))];
}

export interface RedactOptions {
  /** Values to remove besides the Hub token and the registered ones (e.g. `secretValues(env)`). */
  readonly secrets?: readonly string[];
  /**
   * The text stops mid-stream (the tail of a process that still writes): a trailing start of a
   * secret (4 characters or more) is removed too.
   */
  readonly cutEnd?: boolean;
}

/** `text` with every known secret, token-shaped word and bearer credential replaced by <redacted>. */
export function redact(text: string, options: RedactOptions = {}): string {
  // Longest first, so that a secret containing another is replaced whole.
  const secrets = [...new Set([...secretsNow(), ...(options.secrets ?? [])])].sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of secrets) out = out.split(s).join(REDACTED);
  out = out.replace(BEARER, (_m, word: string, space: string) => `${word}${space}${REDACTED}`).replace(TOKEN_SHAPED, REDACTED);
  if (options.cutEnd) {
    for (const s of secrets) {
      for (let n = Math.min(s.length - 1, out.length); n >= 4; n--) {
        if (out.endsWith(s.slice(0, n))) {
          out = out.slice(0, out.length - n) + REDACTED;
          break;
        }
      }
    }
  }
  return out;
}

// C0, DEL, C1, U+2028/U+2029, the bidi embeddings/overrides U+202A-U+202E, the isolates
// U+2066-U+2069 and the marks U+200E/U+200F, U+061C.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** `text` with every control, separator and bidi control shown as a visible \uXXXX escape. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** What a human may be shown of `text`: redacted, then made printable (one line, no controls). */
export function safeText(text: string): string {
  return printable(redact(text));
}

/** At most `max` characters of a (redacted) server-supplied text, marking the cut. */
export function excerpt(text: string, max = 200): string {
  const clean = redact(text).replace(/\s+/g, " ").trim();
  return clean.length <= max ? clean : `${clean.slice(0, max)}... (${clean.length - max} more characters)`;
}
