// fast-check settings for the FP8 property tests: >= 100 runs by default (FC_NUM_RUNS raises
// it), and a seed that is printed so any failure can be replayed with FC_SEED.

export function fcSettings(label: string): { numRuns: number; seed: number } {
  const numRuns = Math.max(100, Number(process.env.FC_NUM_RUNS ?? 100) || 100);
  const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  console.log(`${label}: fast-check seed=${seed} numRuns=${numRuns} (replay with FC_SEED=${seed})`);
  return { numRuns, seed };
}

/** A small deterministic PRNG (mulberry32) for filling large arrays from one generated seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
