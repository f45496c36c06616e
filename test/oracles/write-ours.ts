// Writes safetensors files and checkpoints with moe-prefuse's own writer, plus manifest.json (the
// format of make_python_fixtures.py: dtype, shape, sha256 of the data, values as our dtype tables
// decode them), for check_python_reads.py to load with Python's safetensors and torch.
// Usage: node --import tsx test/oracles/write-ours.ts OUT_DIR

import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeCheckpoint } from "../../src/reference/checkpoint-writer.js";
import { Xoshiro128 } from "../../src/fixtures-gen/prng.js";
import type { DType } from "../../src/reference/dtypes.js";
import { tensorSource } from "../../src/reference/safetensors/source.js";
import { writeSafetensorsFile } from "../../src/reference/safetensors/writer.js";
import { type Tensor, specByteLength } from "../../src/reference/tensor.js";
import { decodeValues } from "../support/tensor-values.js";

/** Deterministic bytes (the project's PRNG), so every run writes the same files. */
function bytes(n: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(n / 4));
  new Xoshiro128(seed).fill(words);
  return new Uint8Array(words.buffer, 0, n);
}

function tensor(dtype: DType, shape: number[], seed: number): Tensor {
  const data = bytes(specByteLength({ dtype, shape }), seed);
  if (dtype === "BOOL") for (let i = 0; i < data.length; i++) data[i] = data[i]! & 1;
  return { dtype, shape, data };
}

/** Every dtype torch can hold, odd shapes, empty tensors, scalars, non-ASCII names. */
function weights(): Map<string, Tensor> {
  const dtypes: DType[] = ["F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL"];
  const m = new Map<string, Tensor>();
  dtypes.forEach((d, i) => {
    m.set(`t.${d.toLowerCase()}`, tensor(d, [3, 5], i + 1));
    m.set(`scalar.${d.toLowerCase()}`, tensor(d, [], 100 + i));
  });
  m.set("empty.bf16", tensor("BF16", [0, 4], 0));
  m.set("empty.i64", tensor("I64", [2, 0, 3], 0));
  m.set("模型.层.0.权重", tensor("F32", [2, 2], 200));
  m.set("\uff5e.tilde", tensor("F32", [1], 201));
  m.set("\u{1f600}.emoji", tensor("F32", [1], 202));
  m.set("model.layers.0.mlp.experts.gate_up_proj", tensor("BF16", [4, 8, 6], 203));
  m.set("model.layers.0.mlp.experts.down_proj", tensor("BF16", [4, 6, 4], 204));
  return m;
}

function describe(tensors: ReadonlyMap<string, Tensor>): Record<string, unknown> {
  return Object.fromEntries(
    [...tensors].map(([name, t]) => [
      name,
      { dtype: t.dtype, shape: t.shape, sha256: createHash("sha256").update(t.data).digest("hex"), values: decodeValues(t.dtype, t.data) },
    ]),
  );
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (out === undefined) throw new Error("usage: write-ours.ts OUT_DIR");
  await mkdir(out, { recursive: true });
  const w = weights();
  const metadata = { format: "pt", producer: "moe-prefuse", note: 'ünïcødé ✓ "quoted" \\ back', empty: "" };
  const sources = new Map([...w].map(([n, t]) => [n, tensorSource(t)] as const));

  await writeSafetensorsFile(join(out, "single.safetensors"), sources, metadata);
  await writeCheckpoint(join(out, "unsharded"), sources, { config: { model_type: "interop" }, metadata });
  const sharded = await writeCheckpoint(join(out, "sharded"), sources, { config: { model_type: "interop" }, metadata, maxShardSize: 256 });

  const files = {
    "single.safetensors": { metadata, tensors: describe(w) },
    unsharded: { metadata, tensors: describe(w) },
    sharded: { metadata, tensors: describe(w), shardFiles: sharded.files },
  };
  await writeFile(join(out, "manifest.json"), `${JSON.stringify({ generator: { script: "test/oracles/write-ours.ts" }, files }, null, 1)}\n`);
  process.stdout.write(`wrote single.safetensors, unsharded/ and sharded/ (${sharded.files.length - 1} shards) to ${out}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`write-ours: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
