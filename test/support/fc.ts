// fast-check settings shared by the property tests: at least 100 runs (FC_NUM_RUNS raises it),
// FC_SEED replays a failure; fast-check prints the seed and the shrunk counterexample on failure.

import type { Parameters } from "fast-check";

export function fcParams<T>(overrides: Parameters<T> = {}): Parameters<T> {
  const numRuns = Math.max(100, Number(process.env.FC_NUM_RUNS ?? 100));
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  return { numRuns, ...(seed === undefined ? {} : { seed }), ...overrides };
}
