// fast-check settings shared by property tests: at least 100 runs (FC_NUM_RUNS raises it) and
// a seed that is printed, so any failure can be replayed with FC_SEED.

import type { Parameters } from "fast-check";

export function fcOptions<T>(label: string): Parameters<T> {
  const numRuns = Math.max(100, Number(process.env.FC_NUM_RUNS ?? 100) || 100);
  const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  process.stdout.write(`[fast-check] ${label}: seed ${seed}, ${numRuns} runs (replay with FC_SEED=${seed})\n`);
  return { numRuns, seed };
}
