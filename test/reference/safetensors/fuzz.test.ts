// Fuzzing the safetensors reader: valid files (read exactly), one-defect corruptions (the named
// error code), random damage and garbage (a typed error or a self-consistent read). Never any
// other exception. 11,350 inputs by default: 11,100 in memory, 250 through real files.

import fc from "fast-check";
import { open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byteSize } from "../../../src/reference/dtypes.js";
import { SafetensorsError } from "../../../src/reference/errors.js";
import { MAX_HEADER_SIZE } from "../../../src/reference/safetensors/header.js";
import { type ParsedSafetensors, parseSafetensors, serializeSafetensors } from "../../../src/reference/safetensors/memory.js";
import { SafetensorsFile } from "../../../src/reference/safetensors/reader.js";
import type { Tensor } from "../../../src/reference/tensor.js";
import { fcParams } from "../../support/fc.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { CORRUPTIONS, type Case, type ExpectedRead, assemble, damaged, garbage, validCases, validFile } from "../../support/arbitraries/safetensors.js";

/** Runs the in-memory reader; anything but a SafetensorsError escapes and fails the property. */
function attempt(bytes: Uint8Array): ParsedSafetensors | SafetensorsError {
  try {
    return parseSafetensors(bytes, "fuzz.safetensors");
  } catch (e) {
    if (e instanceof SafetensorsError) return e;
    throw e;
  }
}

function plain(t: Tensor): { dtype: string; shape: number[]; data: number[] } {
  return { dtype: t.dtype, shape: [...t.shape], data: [...t.data] };
}

function expectRead(got: ReadonlyMap<string, Tensor>, metadata: Readonly<Record<string, string>> | undefined, want: ExpectedRead): void {
  expect([...got.keys()].sort()).toEqual([...want.tensors.keys()].sort());
  for (const [name, t] of want.tensors) expect(plain(got.get(name)!)).toEqual(plain(t));
  expect(metadata === undefined ? undefined : { ...metadata }).toEqual(want.metadata === undefined ? undefined : { ...want.metadata });
}

function check(c: Case): void {
  const r = attempt(c.bytes);
  if ("read" in c.expect) {
    if (r instanceof SafetensorsError) throw new Error(`${c.what}: expected a read, got ${r.code}: ${r.message}`);
    expectRead(r.tensors, r.header.metadata, c.expect.read);
  } else {
    if (!(r instanceof SafetensorsError)) throw new Error(`${c.what}: expected ${c.expect.code}, but it read ${r.tensors.size} tensors`);
    expect({ what: c.what, code: r.code }).toEqual({ what: c.what, code: c.expect.code });
    expect(r.message).toContain("fuzz.safetensors");
    expect(r.message).not.toContain("\n");
  }
}

/** What any successful read must satisfy, whatever the input was. */
function expectConsistent(bytes: Uint8Array, p: ParsedSafetensors): void {
  const { header } = p;
  expect(header.dataStart).toBe(8 + header.headerSize);
  let cursor = 0;
  for (const t of header.tensors) {
    expect(t.begin).toBe(cursor);
    expect(t.end - t.begin).toBe(
      byteSize(
        t.dtype,
        t.shape.reduce((a, b) => a * b, 1),
      ),
    );
    expect(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)).toBe(true);
    expect(p.tensors.get(t.name)!.data).toEqual(bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end));
    cursor = t.end;
  }
  expect(header.dataStart + cursor).toBe(bytes.length);
}

// Default case counts: 20 categories x 400 + 1,000 valid + 1,200 damaged + 600 garbage + 300
// writer round trips = 11,100 in memory, plus 250 through files. FC_NUM_RUNS scales each (test/support/fc.ts).
const PER_CATEGORY = 400;

describe("safetensors reader fuzz (in memory)", () => {
  it("reads every valid file exactly (any key order, data order, padding, escapes)", () => {
    fc.assert(fc.property(validCases, check), fcParams(1000));
  });

  for (const [name, arb] of Object.entries(CORRUPTIONS)) {
    it(`answers '${name}' with its error code`, () => {
      fc.assert(fc.property(arb, check), fcParams(PER_CATEGORY));
    });
  }

  it("answers random damage with a typed error or a consistent read; damage to data alone reads back", () => {
    fc.assert(
      fc.property(damaged, (c) => {
        const r = attempt(c.bytes);
        if (r instanceof SafetensorsError) {
          expect(c.dataOnly, `${c.what}: data-only damage must still read, got ${r.code}`).toBe(false);
          return;
        }
        expectConsistent(c.bytes, r);
        if (c.dataOnly) {
          expect(r.header.dataStart).toBe(c.dataStart);
          expect([...r.tensors.keys()].sort()).toEqual(c.origin.tensors.map((t) => t.name).sort());
        }
      }),
      fcParams(1200),
    );
  });

  it("answers garbage with a typed error or a consistent read", () => {
    fc.assert(
      fc.property(garbage, (bytes) => {
        const r = attempt(bytes);
        if (!(r instanceof SafetensorsError)) expectConsistent(bytes, r);
      }),
      fcParams(600),
    );
  });

  it("reads back what the library's writer wrote, in the reference layout", () => {
    fc.assert(
      fc.property(validFile(), (v) => {
        const bytes = serializeSafetensors(
          v.tensors.map((t) => [t.name, t] as const),
          v.metadata === undefined ? undefined : Object.fromEntries(v.metadata),
        );
        const r = parseSafetensors(bytes);
        expect(r.header.headerSize % 8).toBe(0);
        expectRead(r.tensors, r.header.metadata, {
          tensors: new Map(v.tensors.map((t) => [t.name, t])),
          metadata: v.metadata === undefined ? undefined : Object.fromEntries(v.metadata),
        });
        expectConsistent(bytes, r);
      }),
      fcParams(300),
    );
  });
});

describe("safetensors reader fuzz (files)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "moe-prefuse-fuzz-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const anyCase = fc.oneof(validCases, ...Object.values(CORRUPTIONS));
  let n = 0;

  it("SafetensorsFile.open agrees with the in-memory reader and reads tensors by offset", async () => {
    await fc.assert(
      fc.asyncProperty(anyCase, async (c) => {
        const path = join(dir, `case-${n++}.safetensors`);
        await writeFile(path, c.bytes);
        let file: SafetensorsFile | undefined;
        try {
          file = await SafetensorsFile.open(path);
        } catch (e) {
          if (!(e instanceof SafetensorsError)) throw e;
          expect("code" in c.expect ? c.expect.code : `read (${c.what})`).toBe(e.code);
          expect(e.file).toBe(path);
          return;
        }
        try {
          if (!("read" in c.expect)) throw new Error(`${c.what}: expected ${c.expect.code}, but the file opened`);
          const got = new Map<string, Tensor>();
          for (const t of file.header.tensors) got.set(t.name, { dtype: t.dtype, shape: t.shape, data: await file.read(t.name) });
          expectRead(got, file.metadata, c.expect.read);
        } finally {
          await file.close();
        }
      }),
      fcParams(250),
    );
  });

  it("refuses a tiny file declaring a ~99 MB header without allocating it", async () => {
    const path = join(dir, "declares-99mb.safetensors");
    const declared = 99_000_000n;
    expect(declared).toBeLessThan(BigInt(MAX_HEADER_SIZE));
    await writeFile(path, assemble(new TextEncoder().encode('{"a":'), new Uint8Array(0), declared));
    // Every read the reader makes goes through a FileHandle; record the buffers it passes.
    const probe = await open(path, "r");
    const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const original = proto.read;
    const buffers: number[] = [];
    proto.read = function (this: unknown, ...args: unknown[]) {
      const b = args[0];
      if (b instanceof Uint8Array) buffers.push(b.byteLength);
      return original.apply(this, args);
    };
    const before = process.memoryUsage().arrayBuffers;
    try {
      await expect(SafetensorsFile.open(path)).rejects.toMatchObject({ code: "INVALID_HEADER_LENGTH", file: path });
    } finally {
      proto.read = original;
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(buffers.length).toBeGreaterThan(0);
    expect(Math.max(...buffers)).toBeLessThanOrEqual(8);
    expect(grown).toBeLessThan(16 << 20);
  });
});
