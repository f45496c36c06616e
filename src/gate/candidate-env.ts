// The environment a candidate gets. Hostile by default: an allowlist, not a denylist. A denylist
// of secret-looking names misses whatever a CI runner or a developer's shell happens to hold under
// an unusual name (a cloud key, a registry password, a session cookie); an allowlist passes only
// what a program needs to start and find its interpreter and libraries, and `--pass-env NAME`
// adds anything else by name. Even an allowlisted variable is dropped when its name looks like a
// secret (PYTHON_KEYRING_PASSWORD, MOE_PREFUSE_TOKEN): only --pass-env passes those.

import { isSecretName } from "../reference/safe-text.js";

/** What an interpreter needs to start: its search path, home, locale, temp dir, and virtual environments. */
const HARMLESS: readonly RegExp[] = [
  /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|TZ|TERM|TMPDIR|TEMP|TMP)$/,
  /^LC_[A-Z]+$/,
  // Python: PYTHONPATH, PYTHONHOME, PYTHONUNBUFFERED...; venv, conda and pyenv (its shim needs PYENV_*).
  /^PYTHON[A-Z0-9_]*$/,
  /^(VIRTUAL_ENV|CONDA_PREFIX|CONDA_DEFAULT_ENV|CONDA_EXE)$/,
  /^PYENV[A-Z0-9_]*$/,
  /^LD_LIBRARY_PATH$/,
  // Math-library thread counts (see SINGLE_THREADED).
  /^(OMP|OPENBLAS|MKL|VECLIB_MAXIMUM|NUMEXPR)_NUM_THREADS$/,
  // Windows needs these to start any program.
  /^(SYSTEMROOT|SYSTEMDRIVE|WINDIR|COMSPEC|PATHEXT)$/i,
  /^MOE_PREFUSE_/,
];

/**
 * Candidates run `--jobs` at a time on tiny cases: one math-library thread each (unless the
 * environment says otherwise) keeps them from oversubscribing the cores; numpy's startup alone
 * halves its CPU time with it.
 */
const SINGLE_THREADED: Readonly<Record<string, string>> = { OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };

export function isPassedByDefault(name: string): boolean {
  return HARMLESS.some((r) => r.test(name)) && !isSecretName(name);
}

/** The candidate's environment (before the protocol's own variables): the allowlisted part of `env` and the names in `pass`. */
export function candidateEnv(env: NodeJS.ProcessEnv, pass: readonly string[]): Record<string, string> {
  const out: Record<string, string> = { ...SINGLE_THREADED };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && (isPassedByDefault(k) || pass.includes(k))) out[k] = v;
  return out;
}
