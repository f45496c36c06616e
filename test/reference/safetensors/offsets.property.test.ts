// The data_offsets rule as a property: a header is read exactly when its tensors, sorted by
// offset, tile the data buffer from 0 to its end with no gap and no overlap, whatever the order
// of the entries in the JSON (safetensors' own validate: sorted by offsets, each begin equal to
// the previous end, the last end equal to the buffer size). Headers are drawn as valid tilings
// with their entries shuffled, then perturbed (an overlap, a gap, two entries' offsets swapped,
// bytes added or removed at the end); the verdict is computed here from the intervals alone.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SafetensorsError } from "../../../src/reference/errors.js";
import { parseSafetensors } from "../../../src/reference/safetensors/memory.js";
import { fcParams } from "../../support/fc.js";

interface Entry {
  readonly name: string;
  readonly begin: number;
  readonly end: number;
}

type Perturbation = { kind: "overlap" | "gap"; at: number; by: number } | { kind: "swap"; a: number; b: number } | { kind: "tail"; by: number };

const caseArb = fc.record({
  sizes: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 7 }),
  perturbations: fc.array(
    fc.oneof(
      fc.record({ kind: fc.constantFrom("overlap" as const, "gap" as const), at: fc.nat(6), by: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant("swap" as const), a: fc.nat(6), b: fc.nat(6) }),
      fc.record({ kind: fc.constant("tail" as const), by: fc.integer({ min: -3, max: 3 }) }),
    ),
    { maxLength: 2 },
  ),
  seed: fc.nat(),
});

/** The tiling of `sizes` in data order, then the perturbations; returns the entries and the buffer length. */
function layout(sizes: readonly number[], perturbations: readonly Perturbation[]): { entries: Entry[]; length: number } {
  let entries: Entry[] = [];
  let cursor = 0;
  sizes.forEach((s, i) => {
    entries.push({ name: `t${i}`, begin: cursor, end: cursor + s });
    cursor += s;
  });
  let length = cursor;
  for (const p of perturbations) {
    if (p.kind === "tail") length = Math.max(0, length + p.by);
    else if (p.kind === "swap") {
      const a = entries[p.a % entries.length]!;
      const b = entries[p.b % entries.length]!;
      entries = entries.map((e) => (e === a ? { ...a, begin: b.begin, end: b.end } : e === b ? { ...b, begin: a.begin, end: a.end } : e));
    } else {
      // Shift one tensor and every later one (in data order): back (into its predecessor) or forward (a hole).
      const k = p.at % entries.length;
      const d = p.kind === "gap" ? p.by : -Math.min(p.by, entries[k]!.begin);
      entries = entries.map((e, i) => (i >= k ? { ...e, begin: e.begin + d, end: e.end + d } : e));
      length = Math.max(0, length + d);
    }
  }
  return { entries, length };
}

/** safetensors' rule, restated: sorted by (begin, end), contiguous from 0, ending at the buffer's end. */
function tiles(entries: readonly Entry[], length: number): "ok" | "offsets" | "buffer" {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin !== cursor || e.end < e.begin) return "offsets";
    cursor = e.end;
  }
  return cursor === length ? "ok" : "buffer";
}

function fileOf(entries: readonly Entry[], order: readonly number[], length: number): Uint8Array {
  const json = `{${order
    .map((i) => entries[i]!)
    .map((e) => `"${e.name}":{"dtype":"U8","shape":[${Math.max(0, e.end - e.begin)}],"data_offsets":[${e.begin},${e.end}]}`)
    .join(",")}}`;
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  for (let i = 0; i < length; i++) out[8 + h.length + i] = (i * 37 + 11) & 0xff;
  return out;
}

describe("safetensors data_offsets (property)", () => {
  it("a header is read exactly when its offsets tile the buffer (overlaps, gaps, swapped entries and tails refused), whatever the JSON order", () => {
    fc.assert(
      fc.property(caseArb, ({ sizes, perturbations, seed }) => {
        const { entries, length } = layout(sizes, perturbations);
        // The JSON order: a seeded shuffle of the entries (out of data order most of the time).
        const order = entries.map((_, i) => i).sort((a, b) => (((a * 2654435761 + seed) >>> 0) % 97) - (((b * 2654435761 + seed) >>> 0) % 97) || a - b);
        const bytes = fileOf(entries, order, length);
        const verdict = tiles(entries, length);
        let parsed: ReturnType<typeof parseSafetensors> | undefined;
        let error: unknown;
        try {
          parsed = parseSafetensors(bytes, "x.safetensors");
        } catch (e) {
          error = e;
        }
        if (verdict === "ok") {
          expect(error).toBeUndefined();
          const dataStart = bytes.length - length;
          for (const e of entries) expect([...parsed!.tensors.get(e.name)!.data]).toEqual([...bytes.subarray(dataStart + e.begin, dataStart + e.end)]);
        } else {
          expect(error).toBeInstanceOf(SafetensorsError);
          expect((error as SafetensorsError).code).toBe(verdict === "offsets" ? "INVALID_OFFSET" : "INCOMPLETE_BUFFER");
        }
      }),
      fcParams(1000),
    );
  });
});
