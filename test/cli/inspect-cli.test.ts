// `moe-prefuse inspect` and the CLI's error contract, run as a user runs them: the built binary in
// a child process. Errors are one line, `moe-prefuse: error: <file>: ...`, exit 1; --debug adds
// the stack; --json has a fixed shape.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeCheckpoint } from "../../src/reference/checkpoint-writer.js";
import { serializeSafetensors } from "../../src/reference/safetensors/memory.js";
import { tensorSource } from "../../src/reference/safetensors/source.js";
import type { Tensor } from "../../src/reference/tensor.js";
import { BIN, runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const bf16 = (shape: number[]): Tensor => ({ dtype: "BF16", shape, data: new Uint8Array(shape.reduce((a, b) => a * b, 1) * 2) });

function expectOneLineError(r: { status: number; stdout: string; stderr: string }, prefix: string): string {
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("");
  const lines = r.stderr.split("\n");
  expect(lines.length, r.stderr).toBe(2);
  expect(lines[1]).toBe("");
  expect(lines[0]!.startsWith(`moe-prefuse: error: ${prefix}`), lines[0]).toBe(true);
  return lines[0]!;
}

async function shardedCheckpoint(): Promise<string> {
  const dir = join(tempDir(), "ckpt");
  const tensors = new Map([
    ["model.layers.0.mlp.experts.1.up_proj.weight", bf16([4, 8])],
    ["model.layers.0.mlp.experts.0.up_proj.weight", bf16([4, 8])],
    ["model.norm.weight", { dtype: "F32", shape: [8], data: new Uint8Array(32) } as Tensor],
    ["scalar", { dtype: "I64", shape: [], data: new Uint8Array(8) } as Tensor],
    ["empty", bf16([0, 3])],
  ]);
  await writeCheckpoint(dir, new Map([...tensors].map(([n, t]) => [n, tensorSource(t)] as const)), {
    config: { model_type: "qwen3_moe" },
    metadata: { format: "pt" },
    maxShardSize: 64,
  });
  return dir;
}

describe("moe-prefuse CLI", () => {
  it("prints its version and help", () => {
    const version = runCli(["--version"]);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(BIN, "..", "..", "package.json"), "utf8")).version);
    const help = runCli(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("inspect");
    expect(help.stdout).toContain("--debug");
  });

  it("inspect lists every tensor of a sharded checkpoint, by name, from the headers", async () => {
    const dir = await shardedCheckpoint();
    const r = runCli(["inspect", dir]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^checkpoint .*: 5 tensors, 168 B in \d+ file\(s\), model_type qwen3_moe$/);
    expect(lines[1]).toMatch(/^NAME +DTYPE +SHAPE +BYTES$/);
    expect(lines.slice(2, 7).map((l) => l.split(/ {2,}/))).toEqual([
      ["empty", "BF16", "[0, 3]", "0"],
      ["model.layers.0.mlp.experts.0.up_proj.weight", "BF16", "[4, 8]", "64"],
      ["model.layers.0.mlp.experts.1.up_proj.weight", "BF16", "[4, 8]", "64"],
      ["model.norm.weight", "F32", "[8]", "32"],
      ["scalar", "I64", "[]", "8"],
    ]);
    // Then the MoE view: this config has no expert count, so the checkpoint reads as dense.
    expect(lines[7]).toMatch(/^MoE: /);
  });

  it("inspect --json has a fixed shape, absent fields as null", async () => {
    const dir = await shardedCheckpoint();
    const report = JSON.parse(runCli(["inspect", "--json", dir]).stdout) as Record<string, unknown>;
    expect(Object.keys(report)).toEqual(["checkpoint", "files", "metadata", "modelType", "totalBytes", "tensors", "moe"]);
    expect(report).toMatchObject({ checkpoint: dir, metadata: { format: "pt" }, modelType: "qwen3_moe", totalBytes: 168 });
    const tensors = report.tensors as { name: string; file: string }[];
    expect(tensors.map((t) => Object.keys(t))).toEqual(tensors.map(() => ["name", "dtype", "shape", "bytes", "file"]));
    expect(tensors[0]).toEqual({ name: "empty", dtype: "BF16", shape: [0, 3], bytes: 0, file: tensors[0]!.file });
    expect(new Set(tensors.map((t) => t.file))).toEqual(new Set(report.files as string[]));
    expect((report.files as string[]).every((f) => /^model-0000\d-of-0000\d\.safetensors$/.test(f))).toBe(true);

    const single = join(tempDir(), "w.safetensors");
    writeFileSync(single, serializeSafetensors([["w", bf16([2])]]));
    const bare = JSON.parse(runCli(["inspect", "--json", single]).stdout);
    expect(bare).toEqual({
      checkpoint: single,
      files: ["w.safetensors"],
      metadata: null,
      modelType: null,
      totalBytes: 4,
      tensors: [{ name: "w", dtype: "BF16", shape: [2], bytes: 4, file: "w.safetensors" }],
      moe: null,
    });
  });

  it("refuses a missing path in one line, exit 1", () => {
    const missing = join(tempDir(), "nope");
    expect(expectOneLineError(runCli(["inspect", missing]), missing)).toBe(`moe-prefuse: error: ${missing}: no such file or directory`);
  });

  it("refuses corrupt files in one line naming the file (and the tensor), and leaves them untouched", () => {
    const dir = tempDir();
    const good = serializeSafetensors([["w", bf16([2, 2])]]);
    const cases: [string, Uint8Array, RegExp][] = [
      ["truncated.safetensors", good.subarray(0, good.length - 3), /3 bytes missing from the data buffer/],
      ["tiny.safetensors", good.subarray(0, 5), /shorter than the 8-byte header length/],
      [
        "huge-header.safetensors",
        (() => {
          const b = good.slice();
          new DataView(b.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
          return b;
        })(),
        /exceeds the 100000000-byte limit/,
      ],
      ["trailing.safetensors", new Uint8Array([...good, 0]), /1 trailing bytes after the last tensor/],
    ];
    for (const [name, bytes, detail] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const before = createHash("sha256").update(readFileSync(path)).digest("hex");
      const line = expectOneLineError(runCli(["inspect", path]), `${path}: `);
      expect(line).toMatch(detail);
      expect(createHash("sha256").update(readFileSync(path)).digest("hex")).toBe(before);
    }
    const path = join(dir, "dtype.safetensors");
    const header = '{"w\\nx":{"dtype":"F99","shape":[1],"data_offsets":[0,1]}}';
    const bytes = new Uint8Array(8 + header.length + 1);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    writeFileSync(path, bytes);
    expect(expectOneLineError(runCli(["inspect", path]), path)).toBe(`moe-prefuse: error: ${path}: tensor 'w\\u000ax': unknown dtype 'F99'`);
  });

  it("names the shard when one shard of a checkpoint is corrupt", async () => {
    const dir = await shardedCheckpoint();
    const shard = join(dir, "model-00002-of-00003.safetensors");
    writeFileSync(shard, readFileSync(shard).subarray(0, 12));
    expectOneLineError(runCli(["inspect", dir]), `${shard}: `);
  });

  it("--debug adds the stack trace after the same one-line error", () => {
    const missing = join(tempDir(), "nope");
    for (const args of [
      ["--debug", "inspect", missing],
      ["inspect", missing, "--debug"],
    ]) {
      const r = runCli(args);
      expect(r.status).toBe(1);
      const [first, ...rest] = r.stderr.trimEnd().split("\n");
      expect(first).toBe(`moe-prefuse: error: ${missing}: no such file or directory`);
      expect(rest[0]).toMatch(/^CheckpointError: /);
      expect(rest.slice(1).every((l) => /^\s+at /.test(l))).toBe(true);
      expect(rest.length).toBeGreaterThan(2);
    }
  });

  it("ends quietly when the reader of its output goes away (| head)", () => {
    const path = join(tempDir(), "many.safetensors");
    writeFileSync(path, serializeSafetensors(Array.from({ length: 4000 }, (_, i) => [`model.layers.${i}.mlp.experts.0.gate_proj.weight`, bf16([1])] as const)));
    for (const json of [false, true]) {
      const r = spawnSync(
        "bash",
        ["-c", `set -o pipefail; "${process.execPath}" "${BIN}" inspect ${json ? "--json " : ""}"${path}" | head -c 100 > /dev/null`],
        { encoding: "utf8" },
      );
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
  });
});
