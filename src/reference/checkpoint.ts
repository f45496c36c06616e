// Opening a checkpoint: a directory holding config.json with model.safetensors, or an index
// with its shards, or a single .safetensors file. Only headers are read; every tensor stays on
// disk until asked for. The index and the shards must agree exactly, in both directions.

import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CheckpointError, MoePrefuseError, SafetensorsError } from "./errors.js";
import { MAX_JSON_DEPTH, jsonDepth, readRegularFile } from "./input-file.js";
import { type ShardIndex, INDEX_FILE, parseShardIndex, shardPath } from "./safetensors/shard-index.js";
import { SafetensorsFile } from "./safetensors/reader.js";
import { type TensorSource, fileTensorSource } from "./safetensors/source.js";
import type { Tensor, TensorSpec } from "./tensor.js";
import type { WeightSource } from "./weights.js";

export type ModelConfig = Readonly<Record<string, unknown>>;

export const CONFIG_FILE = "config.json";
export const SINGLE_FILE = "model.safetensors";

export interface CheckpointTensor extends TensorSpec {
  readonly name: string;
  readonly byteLength: number;
  readonly file: SafetensorsFile;
}

export class Checkpoint implements WeightSource {
  private constructor(
    /** The directory holding the checkpoint (for a single file: its directory). */
    readonly dir: string,
    readonly config: ModelConfig | undefined,
    readonly files: readonly SafetensorsFile[],
    readonly tensors: ReadonlyMap<string, CheckpointTensor>,
    readonly index: ShardIndex | undefined,
  ) {}

  static async open(path: string): Promise<Checkpoint> {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new CheckpointError("NOT_FOUND", "no such file or directory", { file: path });
    }
    const dir = info.isDirectory() ? path : dirname(path);
    const config = await readConfig(dir);
    const opened: SafetensorsFile[] = [];
    try {
      let index: ShardIndex | undefined;
      if (info.isDirectory()) {
        const names = await readdir(dir);
        if (names.includes(INDEX_FILE)) {
          const indexFile = join(dir, INDEX_FILE);
          index = parseShardIndex(await readRegularFile(indexFile), indexFile);
          const shards = [...new Set(index.weightMap.values())].sort();
          for (const s of shards) opened.push(await SafetensorsFile.open(shardPath(dir, s, indexFile)));
          checkIndex(index, opened, indexFile);
        } else {
          const candidates = names.includes(SINGLE_FILE) ? [SINGLE_FILE] : names.filter((n) => n.endsWith(".safetensors")).sort();
          if (candidates.length === 0) throw new CheckpointError("NO_WEIGHTS", `no ${SINGLE_FILE}, ${INDEX_FILE} or other .safetensors file`, { file: dir });
          if (candidates.length > 1)
            throw new CheckpointError("NO_WEIGHTS", `several .safetensors files (${candidates.join(", ")}) and no ${INDEX_FILE} to say which belong together`, {
              file: dir,
            });
          opened.push(await SafetensorsFile.open(join(dir, candidates[0]!)));
        }
      } else {
        opened.push(await SafetensorsFile.open(path));
      }
      const tensors = new Map<string, CheckpointTensor>();
      for (const f of opened) {
        for (const t of f.header.tensors) {
          if (tensors.has(t.name))
            throw new CheckpointError("DUPLICATE_TENSOR", `also in ${basename(tensors.get(t.name)!.file.path)}`, { file: f.path, tensor: t.name });
          tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.end - t.begin, file: f });
        }
      }
      return new Checkpoint(dir, config, opened, tensors, index);
    } catch (e) {
      await Promise.all(opened.map((f) => f.close()));
      throw e;
    }
  }

  get specs(): ReadonlyMap<string, TensorSpec> {
    return this.tensors;
  }

  /** `__metadata__` of the checkpoint: the first file's, in file order. */
  get metadata(): Readonly<Record<string, string>> | undefined {
    return this.files[0]?.metadata;
  }

  get(name: string): CheckpointTensor {
    const t = this.tensors.get(name);
    if (t === undefined) throw new SafetensorsError("TENSOR_NOT_FOUND", "no such tensor in the checkpoint", { file: this.dir, tensor: name });
    return t;
  }

  async read(name: string): Promise<Tensor> {
    const t = this.get(name);
    return { dtype: t.dtype, shape: t.shape, data: await t.file.read(name) };
  }

  async readInto(name: string, target: Uint8Array, targetOffset: number): Promise<void> {
    await this.get(name).file.readInto(name, target, targetOffset);
  }

  source(name: string): TensorSource {
    return fileTensorSource(this.get(name).file, name);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

async function readConfig(dir: string): Promise<ModelConfig | undefined> {
  const file = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await readRegularFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (e instanceof MoePrefuseError) throw e;
    throw new CheckpointError("CONFIG_INVALID", `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file });
  }
  // Before anything walks the tree (JSON.stringify and the config readers recurse).
  if (jsonDepth(text) > MAX_JSON_DEPTH)
    throw new CheckpointError("CONFIG_TOO_DEEP", `nests arrays and objects more than ${MAX_JSON_DEPTH} deep; refused`, { file });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError("CONFIG_INVALID_JSON", `not valid JSON (${(e as Error).message})`, { file });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new CheckpointError("CONFIG_INVALID", "not a JSON object", { file });
  return json as ModelConfig;
}

/** A weight file as the index check sees it: where it is, and the tensors its header lists. */
export interface IndexedFile {
  readonly path: string;
  readonly tensors: ReadonlyMap<string, unknown>;
}

/**
 * The index and the files' headers agree exactly, in both directions. `dir` is where shard
 * names resolve (the index's directory; a stand-in one for files that are not on disk).
 */
export function checkIndex(index: ShardIndex, files: readonly IndexedFile[], indexFile: string, dir = dirname(indexFile)): void {
  const byShard = new Map(files.map((f) => [f.path, f]));
  // Resolved once per shard, not once per tensor: an index lists tens of thousands of tensors.
  const paths = new Map<string, string>();
  const pathOf = (shard: string): string => {
    let p = paths.get(shard);
    if (p === undefined) {
      p = shardPath(dir, shard, indexFile);
      paths.set(shard, p);
    }
    return p;
  };
  for (const [tensor, shard] of index.weightMap) {
    const f = byShard.get(pathOf(shard));
    if (f === undefined || !f.tensors.has(tensor)) {
      throw new SafetensorsError("INDEX_MISMATCH", `the index places it in ${shard}, which does not hold it`, { file: indexFile, tensor });
    }
  }
  for (const f of files) {
    for (const name of f.tensors.keys()) {
      const shard = index.weightMap.get(name);
      if (shard === undefined || pathOf(shard) !== f.path) {
        throw new SafetensorsError(
          "INDEX_MISMATCH",
          `${basename(f.path)} holds it but the index ${shard === undefined ? "does not list it" : `places it in ${shard}`}`,
          { file: indexFile, tensor: name },
        );
      }
    }
  }
}
