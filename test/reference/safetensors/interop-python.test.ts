// Interop with the reference Python `safetensors` package: files it wrote (committed under
// corpus/interop by ci/interop/make_python_fixtures.py, described by manifest.json) read
// identically here, values decoded by our dtype tables equal torch's, and our writer given the
// same tensors and metadata reproduces Python's bytes. Python orders `__metadata__` keys as a
// Rust HashMap iterates them (differently on every run); with two or more keys the files are
// therefore compared byte for byte with the metadata members in Python's order, everything else
// exactly. INTEROP_FIXTURES=<dir> checks freshly generated fixtures instead (ci/interop/run.sh).

import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Checkpoint } from "../../../src/reference/checkpoint.js";
import type { DType } from "../../../src/reference/dtypes.js";
import { parseSafetensors, serializeSafetensors } from "../../../src/reference/safetensors/memory.js";
import { SafetensorsFile } from "../../../src/reference/safetensors/reader.js";
import { tensorSource } from "../../../src/reference/safetensors/source.js";
import { writeSafetensorsFile } from "../../../src/reference/safetensors/writer.js";
import type { Tensor } from "../../../src/reference/tensor.js";
import { ROOT } from "../../support/cli.js";
import { canonicalValue, decodeValues } from "../../support/tensor-values.js";
import { tempDir } from "../../support/tmp.js";

interface ManifestTensor {
  readonly dtype: DType;
  readonly shape: number[];
  readonly sha256: string;
  readonly values: (number | string | boolean)[];
}
interface ManifestFile {
  readonly metadata: Record<string, string> | null;
  readonly tensors: Record<string, ManifestTensor>;
  readonly shards?: Record<string, Record<string, ManifestTensor>>;
}
interface Manifest {
  readonly generator: Record<string, string>;
  readonly files: Record<string, ManifestFile>;
}

const DIR = process.env.INTEROP_FIXTURES ?? join(ROOT, "corpus", "interop");
const manifest = JSON.parse(readFileSync(join(DIR, "manifest.json"), "utf8")) as Manifest;
const singles = Object.entries(manifest.files).filter(([, f]) => f.shards === undefined);

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function expectTensor(name: string, got: Tensor, want: ManifestTensor): void {
  expect({ name, dtype: got.dtype, shape: [...got.shape] }).toEqual({ name, dtype: want.dtype, shape: want.shape });
  expect(sha256(got.data), name).toBe(want.sha256);
  expect(decodeValues(got.dtype, got.data), name).toEqual(want.values.map(canonicalValue));
}

async function readAll(path: string): Promise<{ tensors: Map<string, Tensor>; metadata: Readonly<Record<string, string>> | undefined }> {
  const file = await SafetensorsFile.open(path);
  try {
    const tensors = new Map<string, Tensor>();
    for (const t of file.header.tensors) tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data: await file.read(t.name) });
    return { tensors, metadata: file.metadata };
  } finally {
    await file.close();
  }
}

/**
 * Python's bytes against ours. With two or more metadata keys, Python's metadata object (which
 * has the same length as ours) must hold the same members, serialized as we serialize them, in
 * its own order; every other byte must be equal.
 */
function expectSameBytes(python: Uint8Array, ours: Uint8Array, metadata: Record<string, string> | null): void {
  const keys = Object.keys(metadata ?? {});
  if (keys.length < 2) {
    expect(Buffer.from(ours).equals(Buffer.from(python))).toBe(true);
    return;
  }
  expect(ours.length).toBe(python.length);
  const text = (b: Uint8Array) => Buffer.from(b.subarray(0, 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)))).toString("latin1");
  const prefix = `{"__metadata__":`;
  const pythonHeader = text(python);
  expect(pythonHeader.slice(8, 8 + prefix.length)).toBe(prefix);
  const member = (k: string) => `${JSON.stringify(k)}:${JSON.stringify(metadata![k])}`;
  const oursObject = `{${[...keys].sort().map(member).join(",")}}`;
  const start = 8 + prefix.length;
  const length = Buffer.byteLength(oursObject, "utf8");
  const pythonObject = Buffer.from(python.subarray(start, start + length)).toString("utf8");
  const pythonOrder = Object.keys(JSON.parse(pythonObject) as object);
  expect(pythonObject).toBe(`{${pythonOrder.map(member).join(",")}}`);
  expect(new Set(pythonOrder)).toEqual(new Set(keys));
  expect(Buffer.from(ours.subarray(0, start)).equals(Buffer.from(python.subarray(0, start)))).toBe(true);
  expect(Buffer.from(ours.subarray(start + length)).equals(Buffer.from(python.subarray(start + length)))).toBe(true);
}

describe(`files written by Python safetensors ${manifest.generator.safetensors} (Python ${manifest.generator.python}, torch ${manifest.generator.torch})`, () => {
  it("the fixtures cover the dtypes, shapes and names the interop contract names", () => {
    const all = Object.values(manifest.files).flatMap((f) => Object.entries(f.tensors));
    const dtypes = new Set(all.map(([, t]) => t.dtype));
    for (const d of ["F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "I32", "U8", "BOOL"]) expect(dtypes).toContain(d);
    expect(all.some(([, t]) => t.shape.includes(0))).toBe(true);
    expect(all.some(([, t]) => t.shape.length === 0)).toBe(true);
    expect(all.some(([n]) => /[^\x00-\x7f]/.test(n))).toBe(true);
    expect(Object.values(manifest.files).some((f) => Object.keys(f.metadata ?? {}).length >= 3)).toBe(true);
  });

  for (const [name, want] of singles) {
    describe(name, () => {
      const path = join(DIR, name);

      it("reads every tensor and the metadata exactly (values decoded by our tables equal torch's)", async () => {
        const { tensors, metadata } = await readAll(path);
        expect([...tensors.keys()].sort()).toEqual(Object.keys(want.tensors).sort());
        for (const [t, spec] of Object.entries(want.tensors)) expectTensor(t, tensors.get(t)!, spec);
        expect(metadata === undefined ? null : { ...metadata }).toEqual(want.metadata);
      });

      it("is rewritten byte for byte by our writer, in memory and streamed to a file", async () => {
        const python = new Uint8Array(readFileSync(path));
        const { tensors } = parseSafetensors(python);
        const metadata = want.metadata ?? undefined;
        const ours = serializeSafetensors(tensors, metadata);
        expectSameBytes(python, ours, want.metadata);
        const out = join(tempDir(), name);
        await writeSafetensorsFile(
          out,
          [...tensors].map(([n, t]) => [n, tensorSource(t)] as const),
          metadata,
        );
        expect(Buffer.from(readFileSync(out)).equals(Buffer.from(ours))).toBe(true);
      });
    });
  }

  describe("sharded checkpoint written by huggingface_hub", () => {
    const dir = join(DIR, "sharded");
    const want = manifest.files.sharded!;

    it("opens through its index and reads every tensor exactly", async () => {
      const ckpt = await Checkpoint.open(dir);
      try {
        expect([...ckpt.tensors.keys()].sort()).toEqual(Object.keys(want.tensors).sort());
        for (const [t, spec] of Object.entries(want.tensors)) expectTensor(t, await ckpt.read(t), spec);
        expect(ckpt.index?.weightMap.size).toBe(Object.keys(want.tensors).length);
      } finally {
        await ckpt.close();
      }
    });

    it("has shards our writer reproduces byte for byte", () => {
      const shards = readdirSync(dir)
        .filter((f) => f.endsWith(".safetensors"))
        .sort();
      expect(shards).toEqual(Object.keys(want.shards!).sort());
      for (const shard of shards) {
        const python = new Uint8Array(readFileSync(join(dir, shard)));
        const { tensors, header } = parseSafetensors(python);
        expect([...tensors.keys()].sort()).toEqual(Object.keys(want.shards![shard]!).sort());
        expect(header.metadata).toEqual(want.metadata);
        expectSameBytes(python, serializeSafetensors(tensors, want.metadata ?? undefined), want.metadata);
      }
    });
  });
});
