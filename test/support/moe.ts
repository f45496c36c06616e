// Small MoE checkpoints for tests: per-expert layers with distinct, deterministic bytes in every
// tensor (so a misplaced expert, row or column changes the output), plus a few dense tensors
// that must pass through. Kept minimal on purpose; the full fixture generator lives elsewhere.

import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { DType } from "../../src/reference/dtypes.js";
import { dtypeBits } from "../../src/reference/dtypes.js";
import { writeCheckpoint } from "../../src/reference/checkpoint-writer.js";
import { tensorSource } from "../../src/reference/safetensors/source.js";
import type { Tensor, TensorMap } from "../../src/reference/tensor.js";
import { Xoshiro128 } from "../../src/fixtures-gen/prng.js";

/** Deterministic pseudo-random bytes from a name (the project's PRNG seeded by the name's hash). */
export function bytesFor(name: string, length: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  new Xoshiro128(createHash("sha256").update(name).digest().readUInt32LE(0)).fill(words);
  return new Uint8Array(words.buffer, 0, length);
}

export function tensor(name: string, dtype: DType, shape: readonly number[]): Tensor {
  const n = (shape.reduce((a, b) => a * b, 1) * dtypeBits(dtype)) / 8;
  return { dtype, shape, data: bytesFor(name, n) };
}

export interface TinyMoe {
  /** Layer prefixes, e.g. `model.layers.0.mlp`. */
  readonly prefixes: readonly string[];
  readonly E: number;
  readonly I: number;
  readonly H: number;
  readonly dtype?: DType;
  /** Per-expert projection names (gate, up, down). */
  readonly names?: readonly [string, string, string];
  /** Extra per-expert companions, e.g. ["scales"] (shape [rows, 1]). */
  readonly companions?: readonly string[];
}

export function expertName(prefix: string, e: number, proj: string, kind = "weight"): string {
  return `${prefix}.experts.${e}.${proj}.${kind}`;
}

/** A weight dict: every layer complete, plus an embedding and a norm. */
export function tinyMoe(spec: TinyMoe): TensorMap {
  const { E, I, H } = spec;
  const dtype = spec.dtype ?? "BF16";
  const [g, u, d] = spec.names ?? ["gate_proj", "up_proj", "down_proj"];
  const m: TensorMap = new Map();
  m.set("model.embed_tokens.weight", tensor("model.embed_tokens.weight", dtype, [7, H]));
  for (const p of spec.prefixes) {
    m.set(`${p}.gate.weight`, tensor(`${p}.gate.weight`, dtype, [E, H]));
    for (let e = 0; e < E; e++) {
      for (const [proj, shape] of [
        [g, [I, H]],
        [u, [I, H]],
        [d, [H, I]],
      ] as const) {
        m.set(expertName(p, e, proj), tensor(expertName(p, e, proj), dtype, shape));
        for (const kind of spec.companions ?? []) m.set(expertName(p, e, proj, kind), tensor(expertName(p, e, proj, kind), "F32", [shape[0], 1]));
      }
    }
  }
  m.set("model.norm.weight", tensor("model.norm.weight", dtype, [H]));
  return m;
}

/** sha256 of every file under a directory, by relative path (to prove inputs untouched). */
export function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const r = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(full)}`;
      else if (st.isDirectory()) walk(full, r);
      else out[r] = createHash("sha256").update(readFileSync(full)).digest("hex");
    }
  };
  walk(dir, "");
  return out;
}

/** Writes a weight dict and its config as a checkpoint directory (sharded when maxShardSize is small). */
export async function writeTinyCheckpoint(
  dir: string,
  weights: TensorMap,
  config: Readonly<Record<string, unknown>>,
  options: { maxShardSize?: number; metadata?: Record<string, string> } = {},
): Promise<void> {
  const sources = new Map([...weights].map(([n, t]) => [n, tensorSource(t)] as const));
  // An indented, key-ordered config with a float written as a Python client writes it.
  const configText = `${JSON.stringify(config, null, 4).replace(/"rms_norm_eps": 0.000001/, '"rms_norm_eps": 1e-06')}\n`;
  await writeCheckpoint(dir, sources, { configText, metadata: options.metadata ?? { format: "pt" }, maxShardSize: options.maxShardSize });
}
