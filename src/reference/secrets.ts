// Secrets in the environment: which variable names hold them, and redaction of their values from
// any text that is printed, kept in a report or written to a log. Hostile by default: a child
// process or a server may echo what it was given, so every such text passes through `redact`.

/** Names that hold credentials by convention (HF_TOKEN, AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN, DB_PASSWORD, ...). */
const SECRET_NAME = /TOKEN|SECRET|PASSW|PASSPHRASE|KEY|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE/i;

/** Shorter values are not redacted: "1" or "true" would blank out unrelated text, and cannot be a credential. */
const MIN_SECRET_LENGTH = 8;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** The values of the secret-named variables of `env` worth redacting, longest first (so a secret containing another is replaced whole). */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const values = Object.entries(env)
    .filter(([k, v]) => isSecretName(k) && v !== undefined && v.length >= MIN_SECRET_LENGTH)
    .map(([, v]) => v!);
  return [...new Set(values)].sort((a, b) => b.length - a.length);
}

export const REDACTED = "[redacted]";

/**
 * `text` with every secret value replaced by [redacted]. With `cutEnd`, the text is known to stop
 * mid-stream (a tail kept while a process still writes), so a trailing start of a secret (at
 * least 4 characters) is redacted too.
 */
export function redact(text: string, secrets: readonly string[], cutEnd = false): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  if (cutEnd) {
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
