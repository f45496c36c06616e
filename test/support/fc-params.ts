// Run parameters for every fast-check property in the suite. A property states its default
// case count; `FC_NUM_RUNS` raises it (never lowers it), and `FC_SEED` (with `FC_PATH` for the
// counterexample path fast-check prints on failure) replays a reported run exactly.

import type { Parameters } from "fast-check";

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${raw} is not an integer`);
  return n;
}

export function fcParams<T>(defaultRuns: number, extra: Parameters<T> = {}): Parameters<T> {
  const runs = Math.max(defaultRuns, envInt("FC_NUM_RUNS") ?? 0);
  const seed = envInt("FC_SEED");
  const path = process.env.FC_PATH;
  return {
    ...extra,
    numRuns: runs,
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined || path === "" ? {} : { path }),
  };
}
