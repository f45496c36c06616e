// The writer asks computed sources to start ahead (`prefetch`): always the next tensor, then more
// while the tensors asked ahead of the one being written stay within PREFETCH_BYTES, each at
// most once and before it is written; when a write fails, those asked and not yet begun are
// cancelled, so what they started is given back.

import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OutputError } from "../../../src/reference/errors.js";
import { layoutFile } from "../../../src/reference/safetensors/layout.js";
import type { TensorSource } from "../../../src/reference/safetensors/source.js";
import { PREFETCH_BYTES, writeSafetensorsFile } from "../../../src/reference/safetensors/writer.js";
import { tempDir } from "../../support/tmp.js";

const quarter = PREFETCH_BYTES / 4;

/**
 * Sources of `sizes` quarters of the prefetch budget, named t0, t1... (they sort in this order),
 * that record in `events` when they are asked to prefetch, to cancel and for their chunks.
 * `cancelThrows` is the one whose cancel throws synchronously; `short` the one that yields a
 * byte too few.
 */
function recording(sizes: readonly number[], events: string[], o: { cancelThrows?: number; short?: number } = {}): [string, TensorSource][] {
  return sizes.map((q, k) => {
    const name = `t${k}`;
    const data = new Uint8Array(q * quarter);
    const source: TensorSource = {
      dtype: "U8",
      shape: [data.length],
      byteLength: data.length,
      prefetch: () => void events.push(`prefetch ${name}`),
      cancel: ((): Promise<void> => {
        events.push(`cancel ${name}`);
        if (k === o.cancelThrows) throw new Error("cancel failed");
        return Promise.resolve();
      }) as () => Promise<void>,
      async *chunks() {
        events.push(`write ${name}`);
        yield k === o.short ? data.subarray(1) : data;
      },
    };
    return [name, source];
  });
}

describe("writer prefetch", () => {
  it("asks the next tensors ahead within PREFETCH_BYTES, once each, before writing them", async () => {
    const events: string[] = [];
    const sources = recording([1, 1, 1, 1, 1, 6, 1, 1, 0, 1], events);
    const path = join(tempDir(), "m.safetensors");
    await writeSafetensorsFile(path, sources);
    expect(statSync(path).size).toBe(layoutFile(sources).size);
    expect(events).toEqual([
      // t0 is written first; t1..t4 fill the budget (4 quarters), t5 (6 quarters) does not fit.
      ...["prefetch t1", "prefetch t2", "prefetch t3", "prefetch t4", "write t0"],
      "write t1",
      "write t2",
      "write t3",
      // Writing t4, the next tensor is always asked for, however large.
      ...["prefetch t5", "write t4"],
      ...["prefetch t6", "prefetch t7", "prefetch t8", "prefetch t9", "write t5"],
      ...["write t6", "write t7", "write t8", "write t9"],
    ]);
  });

  it("cancels the tensors it asked ahead and never began when a write fails", async () => {
    const events: string[] = [];
    // t1 yields a byte too few, so the write fails there; t3's cancel throws, synchronously: the
    // write's own error stays the one reported, and the tensors after it are still cancelled.
    const failed = writeSafetensorsFile(join(tempDir(), "m.safetensors"), recording([1, 1, 1, 1, 1, 1], events, { short: 1, cancelThrows: 3 }));
    await expect(failed).rejects.toThrow(OutputError);
    await expect(failed).rejects.toThrow(/source yielded/);
    expect(events).toEqual([
      ...["prefetch t1", "prefetch t2", "prefetch t3", "prefetch t4", "write t0"],
      ...["prefetch t5", "write t1"],
      // t2 to t5 were asked ahead and never begun; t0 and t1 were begun (and t1's own chunks
      // were closed by the write that stopped reading them).
      ...["cancel t2", "cancel t3", "cancel t4", "cancel t5"],
    ]);
  });
});
