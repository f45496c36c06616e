// fast-check settings for the bench tests: at least 100 runs (FC_NUM_RUNS raises it) and a
// seed that is printed, so any failure can be replayed with FC_SEED.

const NUM_RUNS = Math.max(100, Number(process.env.FC_NUM_RUNS ?? 100));
const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

export function fcParams(name: string): { numRuns: number; seed: number } {
  console.info(`[fast-check] ${name}: seed ${SEED}, ${NUM_RUNS} runs (replay with FC_SEED=${SEED})`);
  return { numRuns: NUM_RUNS, seed: SEED };
}
