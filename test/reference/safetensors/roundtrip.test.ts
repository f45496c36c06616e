import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Checkpoint } from "../../../src/reference/checkpoint.js";
import { writeCheckpoint } from "../../../src/reference/checkpoint-writer.js";
import { SafetensorsError } from "../../../src/reference/errors.js";
import { parseSafetensors, serializeSafetensors } from "../../../src/reference/safetensors/memory.js";
import { tensorSource } from "../../../src/reference/safetensors/source.js";
import { writeSafetensorsFile } from "../../../src/reference/safetensors/writer.js";
import type { Tensor } from "../../../src/reference/tensor.js";
import { tempDir } from "../../support/tmp.js";

const f32 = (...xs: number[]): Tensor => ({ dtype: "F32", shape: [xs.length], data: new Uint8Array(new Float32Array(xs).buffer) });

describe("safetensors writer", () => {
  it("reproduces the reference serializer's bytes (tensor.rs test_serialization)", () => {
    const data = new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer);
    const out = serializeSafetensors([["attn.0", { dtype: "F32", shape: [1, 2, 3], data }]]);
    // The reference pads the header with spaces; its test predates padding and shows the JSON.
    const json = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    const padded = Math.ceil(json.length / 8) * 8;
    expect(new DataView(out.buffer).getBigUint64(0, true)).toBe(BigInt(padded));
    expect(Buffer.from(out.subarray(8, 8 + padded)).toString()).toBe(json.padEnd(padded, " "));
    expect(out.subarray(8 + padded)).toEqual(data);
  });

  it("writes an empty dict as the reference does", () => {
    expect([...serializeSafetensors([])]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  });

  it("orders tensors by descending dtype rank, then name, and sorts metadata keys", () => {
    const out = serializeSafetensors(
      [
        ["b", f32(1, 2)],
        ["a", { dtype: "U8", shape: [3], data: new Uint8Array([1, 1, 1]) }],
        ["c", { dtype: "F16", shape: [1], data: new Uint8Array(2) }],
        ["e", f32()],
      ],
      { z: "1", a: "2" },
    );
    const { header } = parseSafetensors(out);
    expect(header.tensors.map((t) => t.name)).toEqual(["b", "e", "c", "a"]);
    const text = Buffer.from(out.subarray(8, 8 + header.headerSize))
      .toString()
      .trimEnd();
    expect(text.startsWith('{"__metadata__":{"a":"2","z":"1"},"b":')).toBe(true);
  });

  it("round-trips through a file and reads tensors lazily by offset", async () => {
    const dir = tempDir();
    const path = join(dir, "x.safetensors");
    const tensors = new Map([
      ["w", f32(1, 2, 3)],
      ["s", { dtype: "BF16", shape: [2, 1], data: new Uint8Array([0x80, 0x3f, 0x00, 0x40]) } as Tensor],
    ]);
    await writeSafetensorsFile(
      path,
      [...tensors].map(([n, t]) => [n, tensorSource(t)] as const),
      { format: "pt" },
    );
    const ckpt = await Checkpoint.open(path);
    try {
      expect(ckpt.metadata).toEqual({ format: "pt" });
      for (const [name, t] of tensors) expect(await ckpt.read(name)).toEqual(t);
      const part = new Uint8Array(4);
      await ckpt.get("w").file.readInto("w", part, 0, 4, 4);
      expect(new Float32Array(part.buffer)[0]).toBe(2);
    } finally {
      await ckpt.close();
    }
    expect(readdirSync(dir)).toEqual(["x.safetensors"]);
  });
});

describe("checkpoint directories", () => {
  it("shards by size with an index, and reads the shards back", async () => {
    const out = join(tempDir(), "ckpt");
    const tensors = new Map(["a", "b", "c", "d"].map((n, i) => [n, tensorSource(f32(i, i, i, i))] as const));
    const res = await writeCheckpoint(out, tensors, { maxShardSize: 32, config: { model_type: "x" } });
    expect(res.files).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"]);
    const index = JSON.parse(readFileSync(join(out, "model.safetensors.index.json"), "utf8"));
    expect(index).toEqual({
      metadata: { total_size: 64 },
      weight_map: {
        a: "model-00001-of-00002.safetensors",
        b: "model-00001-of-00002.safetensors",
        c: "model-00002-of-00002.safetensors",
        d: "model-00002-of-00002.safetensors",
      },
    });
    const ckpt = await Checkpoint.open(out);
    expect(ckpt.config).toEqual({ model_type: "x" });
    expect([...ckpt.tensors.keys()].sort()).toEqual(["a", "b", "c", "d"]);
    expect(await ckpt.read("d")).toEqual(f32(3, 3, 3, 3));
    await ckpt.close();
  });

  it("refuses an index that disagrees with its shards, and shard names outside the directory", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "s1.safetensors"),
      serializeSafetensors([
        ["a", f32(1)],
        ["b", f32(2)],
      ]),
    );
    const write = (map: Record<string, string>) => writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: map }));
    write({ a: "s1.safetensors" });
    await expect(Checkpoint.open(dir)).rejects.toMatchObject({ code: "INDEX_MISMATCH", tensor: "b" });
    write({ a: "s1.safetensors", b: "s1.safetensors", c: "s1.safetensors" });
    await expect(Checkpoint.open(dir)).rejects.toMatchObject({ code: "INDEX_MISMATCH", tensor: "c" });
    write({ a: "../s1.safetensors", b: "s1.safetensors" });
    await expect(Checkpoint.open(dir)).rejects.toBeInstanceOf(SafetensorsError);
    await expect(Checkpoint.open(dir)).rejects.toMatchObject({ code: "SHARD_OUTSIDE_CHECKPOINT" });
  });

  it("refuses a non-empty output directory and leaves nothing behind on failure", async () => {
    const parent = tempDir();
    const out = join(parent, "out");
    mkdirSync(out);
    writeFileSync(join(out, "keep"), "x");
    await expect(writeCheckpoint(out, new Map([["a", tensorSource(f32(1))]]))).rejects.toMatchObject({ code: "OUTPUT_EXISTS" });
    const lying = {
      dtype: "F32" as const,
      shape: [4],
      byteLength: 16,
      async *chunks() {
        yield new Uint8Array(8);
      },
    };
    const out2 = join(parent, "out2");
    await expect(writeCheckpoint(out2, new Map([["a", lying]]))).rejects.toMatchObject({ code: "SOURCE_MISMATCH", tensor: "a" });
    expect(readdirSync(parent).sort()).toEqual(["out"]);
  });
});
