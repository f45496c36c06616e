// The suite's one fast-check configuration. vitest loads test/support/fc-setup.ts before every
// test file (setupFiles), which applies it with fc.configureGlobal, so fc.assert, fc.check,
// fc.sample and @fast-check/vitest's test.prop all see the same settings:
// - FC_NUM_RUNS scales (it does not set): a property whose default is N runs
//   max(N, round(N * FC_NUM_RUNS / 100)) cases. Unset (or 100): every property runs its default;
//   FC_NUM_RUNS=1000 runs ten times as many; a value below 100 never lowers a default.
// - FC_SEED: the seed of every property in the run (replays a reported failure). Unset: each
//   property draws a fresh seed, which fast-check prints in every failure report (and
//   checkProperty prints before it runs).
// - FC_PATH: with FC_SEED, the counterexample path of a failure report, to go straight to the
//   shrunk case; it applies to every property, so pair it with a test filter (`-t`).
// A property states its default run count where it runs (`fcParams(n)`, `fcRuns(n)`); without
// one it runs DEFAULT_RUNS.

import fc from "fast-check";

export const DEFAULT_RUNS = 100;

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${raw} is not an integer`);
  return n;
}

export interface FcEnv {
  /** FC_NUM_RUNS, in percent of each property's default run count (100 when unset). */
  readonly scale: number;
  readonly seed: number | undefined;
  readonly path: string | undefined;
}

/** The environment's settings, read at each call (tests of the runner change them). */
export function fcEnv(): FcEnv {
  const path = process.env.FC_PATH;
  return { scale: envInt("FC_NUM_RUNS") ?? 100, seed: envInt("FC_SEED"), path: path === undefined || path === "" ? undefined : path };
}

/** The run count of a property whose default is `defaultRuns`, scaled by FC_NUM_RUNS. */
export function fcRuns(defaultRuns = DEFAULT_RUNS): number {
  return Math.max(defaultRuns, Math.round((defaultRuns * fcEnv().scale) / 100));
}

/** Parameters for one fc.assert / fc.check / fc.sample: its scaled run count over the global seed. */
export function fcParams<T>(defaultRuns = DEFAULT_RUNS, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  return { ...extra, numRuns: fcRuns(defaultRuns) };
}

/**
 * A test timeout that grows with the work: `msPerRun` for each of the property's (scaled) runs,
 * plus a minute for the rest. Set it from the slowest run on a loaded 2-core machine, not from a
 * quiet one, so that load never decides the verdict (and FC_NUM_RUNS=1000 still has time).
 */
export function fcTimeout(defaultRuns: number, msPerRun: number): number {
  return fcRuns(defaultRuns) * msPerRun + 60_000;
}

/** Applies the configuration globally (called by the setup file, once per test file). */
export function configureFastCheck(): void {
  const { seed, path } = fcEnv();
  fc.configureGlobal({ numRuns: fcRuns(), ...(seed === undefined ? {} : { seed }), ...(path === undefined ? {} : { path }) });
}
