// The FP8 pool's queue in shared memory (src/reference/fp8/work-queue.ts): what the pool's
// watcher and the workers rely on beyond the bytes (pool.property.test.ts holds those).

import { describe, expect, it } from "vitest";
import { WorkQueue } from "../../../src/reference/fp8/work-queue.js";

/** Whether `p` settles within `ms`. */
const settlesWithin = (p: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

describe("WorkQueue", () => {
  it("wakes a watcher waiting for a finished run when it is reset (after a worker died, the count it waits on starts afresh)", async () => {
    const q = new WorkQueue();
    const waiting = q.nextFinished(q.finishedRuns());
    q.reset();
    expect(await settlesWithin(waiting, 2000)).toBe(true);
  });

  it("counts tasks published and not yet taken, and hands them out in order", () => {
    const q = new WorkQueue();
    const spec = {
      dtype: "F8_E4M3",
      rows: 4,
      cols: 4,
      block: [4, 4],
      strategy: "auto",
      scalesAt: -1,
      scaleCount: 1,
      srcAt: 0,
      outAt: 0,
      start: 0,
      id: 1,
    } as const;
    q.publish(0, spec, [0, 6, 16]);
    expect(q.waiting()).toBe(2);
    expect(q.take(0)).toEqual({ run: 0, offset: 0, count: 6 });
    expect(q.waiting()).toBe(1);
    expect(q.take(0)).toEqual({ run: 0, offset: 6, count: 10 });
    expect(q.take(0)).toBeUndefined();
    q.finish(0, false);
    expect(q.remaining(0)).toBe(1);
    q.finish(0, false);
    expect(q.remaining(0)).toBe(0);
    expect(q.finishedRuns()).toBe(1);
  });
});
