// A small worker pool: at most `jobs` cases in flight (each one a candidate child process), results
// handed to `onResult` in case order as soon as every earlier case is done, so the output reads
// the same whatever the timing.

export async function runPool<T, R>(items: readonly T[], jobs: number, work: (item: T) => Promise<R>, onResult: (result: R) => void = () => {}): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const done: boolean[] = new Array(items.length).fill(false);
  let next = 0;
  let flushed = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
      done[i] = true;
      while (flushed < items.length && done[flushed]) onResult(results[flushed++]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}
