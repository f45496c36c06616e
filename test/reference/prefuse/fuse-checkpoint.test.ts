import fc from "fast-check";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../../../src/reference/checkpoint.js";
import { OutputError } from "../../../src/reference/errors.js";
import { createOnnxBackend } from "../../../src/reference/ops/onnx-backend.js";
import { DEFAULT_STEP_BYTES, expertsPerStep, fuseCheckpoint, fuseCheckpointDir } from "../../../src/reference/prefuse/fuse-checkpoint.js";
import type { PlannedOutput } from "../../../src/reference/prefuse/recipes.js";
import type { FuseTarget } from "../../../src/reference/prefuse/layouts.js";
import { checkOutputPath } from "../../../src/reference/output-path.js";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { COPY_CHUNK, type TensorSource } from "../../../src/reference/safetensors/source.js";
import { type TensorMap, bytesEqual } from "../../../src/reference/tensor.js";
import { type WeightSource, loadAll, memoryWeights } from "../../../src/reference/weights.js";
import { fcParams } from "../../support/fc.js";
import { hashTree, tensor, tinyMoe, writeTinyCheckpoint } from "../../support/moe.js";
import { tempDir } from "../../support/tmp.js";

const onnx = createOnnxBackend();
afterAll(() => onnx.close());

const PREFIXES = ["model.language_model.layers.0.mlp", "model.language_model.layers.1.mlp", "mtp.layers.0.mlp"];
const CONFIG = { model_type: "qwen3_5_moe", text_config: { model_type: "qwen3_5_moe_text", num_experts: 5, rms_norm_eps: 0.000001 } };

async function readBack(dir: string): Promise<TensorMap> {
  const ckpt = await Checkpoint.open(dir);
  try {
    return await loadAll(ckpt);
  } finally {
    await ckpt.close();
  }
}

function sameMaps(a: TensorMap, b: TensorMap): boolean {
  return (
    a.size === b.size &&
    [...a].every(([k, t]) => b.has(k) && b.get(k)!.dtype === t.dtype && b.get(k)!.shape.join() === t.shape.join() && bytesEqual(b.get(k)!.data, t.data))
  );
}

/** A WeightSource whose tensor streams come in chunks of awkward, varying sizes. */
function choppy(w: TensorMap, cut: number): WeightSource {
  const base = memoryWeights(w);
  return {
    ...base,
    source(name): TensorSource {
      const t = w.get(name)!;
      return {
        dtype: t.dtype,
        shape: t.shape,
        byteLength: t.data.length,
        async *chunks() {
          for (let off = 0, k = 0; off < t.data.length; k++) {
            const n = 1 + ((k * 7 + cut) % (cut + 3));
            yield t.data.slice(off, off + n);
            off += n;
          }
        },
      };
    },
  };
}

describe("fuseCheckpoint (streaming)", () => {
  it("writes what the in-memory prefuse returns, from a sharded checkpoint on disk, config.json copied verbatim", async () => {
    const dir = tempDir();
    const w = tinyMoe({ prefixes: PREFIXES, E: 5, I: 3, H: 4 });
    await writeTinyCheckpoint(join(dir, "in"), w, CONFIG, { maxShardSize: 700 });
    const before = hashTree(join(dir, "in"));
    const r = await fuseCheckpointDir(join(dir, "in"), join(dir, "out"), { chunk: 2 });
    expect(r.plan.layers.map((l) => l.state)).toEqual(["fused", "fused", "fused"]);
    expect(r.files).toEqual(["model.safetensors"]);
    const expected = await prefuse(w, CONFIG);
    expect(sameMaps(await readBack(join(dir, "out")), expected.weights)).toBe(true);
    expect(readFileSync(join(dir, "out", "config.json"), "utf8")).toBe(readFileSync(join(dir, "in", "config.json"), "utf8"));
    expect(readFileSync(join(dir, "out", "config.json"), "utf8")).toContain('"rms_norm_eps": 1e-06');
    const out = await Checkpoint.open(join(dir, "out"));
    expect(out.metadata).toEqual({ format: "pt" });
    await out.close();
    expect(hashTree(join(dir, "in"))).toEqual(before);
  });

  it("shards the output when it exceeds --max-shard-size, deterministically", async () => {
    const dir = tempDir();
    const w = tinyMoe({ prefixes: PREFIXES, E: 5, I: 3, H: 4 });
    await writeTinyCheckpoint(join(dir, "in"), w, CONFIG);
    const a = await fuseCheckpointDir(join(dir, "in"), join(dir, "a"), { maxShardSize: 500 });
    await fuseCheckpointDir(join(dir, "in"), join(dir, "b"), { maxShardSize: 500, chunk: 1, backend: onnx });
    expect(a.files.at(-1)).toBe("model.safetensors.index.json");
    expect(a.files.length).toBeGreaterThan(3);
    expect(hashTree(join(dir, "a"))).toEqual(hashTree(join(dir, "b")));
    expect(sameMaps(await readBack(join(dir, "a")), (await prefuse(w, CONFIG)).weights)).toBe(true);
  });

  it("property: streaming equals in-memory for any chunk size, step budget, target, layout and chunking of the input streams", async () => {
    const root = tempDir();
    let run = 0;
    const arb = fc.record({
      E: fc.integer({ min: 1, max: 20 }),
      chunk: fc.integer({ min: 1, max: 24 }),
      target: fc.constantFrom<FuseTarget>("fused", "switch_mlp"),
      modelType: fc.constantFrom("qwen3_moe", "qwen3_vl_moe"),
      fromFused: fc.boolean(),
      cut: fc.integer({ min: 1, max: 9 }),
      maxStepBytes: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ E, chunk, target, modelType, fromFused, cut, maxStepBytes }) => {
        const config = { model_type: modelType, num_experts: E };
        let w = tinyMoe({ prefixes: ["model.layers.0.mlp"], E, I: 2, H: 3 });
        if (fromFused) w = (await prefuse(w, config)).weights;
        const out = join(root, `out${run++}`);
        await fuseCheckpoint(choppy(w, cut), config, out, { chunk, target, maxStepBytes });
        expect(sameMaps(await readBack(out), (await prefuse(w, config, { target })).weights)).toBe(true);
      }),
      fcParams(),
    );
  });

  it("writes nothing when the config is bad, and refuses outputs that overlap the input", async () => {
    const dir = tempDir();
    const input = join(dir, "in");
    await writeTinyCheckpoint(input, tinyMoe({ prefixes: PREFIXES, E: 2, I: 1, H: 1 }), { num_experts: 2.5 });
    await expect(fuseCheckpointDir(input, join(dir, "out"))).rejects.toThrow(/config.json: 'num_experts' must be a positive integer/);
    expect(existsSync(join(dir, "out"))).toBe(false);
    expect(readdirSync(dir)).toEqual(["in"]);

    await expect(checkOutputPath(input, input)).rejects.toThrow(OutputError);
    await expect(checkOutputPath(input, join(input, "sub", "out"))).rejects.toThrow(/inside the input checkpoint/);
    symlinkSync(input, join(dir, "alias"));
    await expect(checkOutputPath(input, join(dir, "alias", "x"))).rejects.toThrow(/inside the input checkpoint/);
    await expect(checkOutputPath(join(input, "model.safetensors"), join(input, "x"))).rejects.toThrow(/inside the input checkpoint/);
    mkdirSync(join(dir, "full"));
    writeFileSync(join(dir, "full", "f"), "x");
    await expect(checkOutputPath(input, join(dir, "full"))).rejects.toThrow(/exists and is not empty/);
    mkdirSync(join(dir, "empty"));
    await expect(checkOutputPath(input, join(dir, "empty"))).resolves.toBeUndefined();
    await expect(checkOutputPath(join(dir, "nope"), join(dir, "o"))).rejects.toThrow(/no such file/);
  });

  it("fails cleanly when a shard cannot be read any more mid-stream (truncated after open)", async () => {
    const dir = tempDir();
    await writeTinyCheckpoint(join(dir, "in"), tinyMoe({ prefixes: PREFIXES, E: 3, I: 2, H: 2 }), CONFIG);
    const ckpt = await Checkpoint.open(join(dir, "in"));
    try {
      truncateSync(join(dir, "in", "model.safetensors"), 200);
      await expect(fuseCheckpoint(ckpt, CONFIG, join(dir, "out"))).rejects.toThrow(/model\.safetensors: unexpected end of file at byte \d+/);
    } finally {
      await ckpt.close();
    }
    expect(readdirSync(dir)).toEqual(["in"]);
  });

  it("steps through `chunk` experts, or as many as fit in the step budget, at least one", () => {
    const out = (E: number, I: number, H: number): PlannedOutput => ({
      name: "x",
      layer: "l",
      dtype: "BF16",
      shape: [E, 2 * I, H],
      recipe: { op: "copy", input: { name: "y", spec: { dtype: "BF16", shape: [E, 2 * I, H] } } },
    });
    expect(expertsPerStep(out(256, 512, 2048), 16, DEFAULT_STEP_BYTES)).toBe(1);
    expect(expertsPerStep(out(256, 8, 8), 16, DEFAULT_STEP_BYTES)).toBe(16);
    expect(expertsPerStep(out(5, 8, 8), 16, DEFAULT_STEP_BYTES)).toBe(5);
    expect(expertsPerStep(out(64, 8, 8), 64, 256 * 10)).toBe(10);
    expect(expertsPerStep(out(3, 0, 8), 2, 1)).toBe(2);
  });

  it("reads pass-through tensors larger than a step buffer through one copy buffer for the whole run, in pieces of at most COPY_CHUNK", async () => {
    const dir = tempDir();
    const w = tinyMoe({ prefixes: ["model.layers.0.mlp"], E: 3, I: 2, H: 3 });
    // Larger than a step buffer (3 experts x 24 B): a head over COPY_CHUNK (two pieces), a smaller one after it.
    w.set("lm_head.weight", tensor("lm_head.weight", "BF16", [COPY_CHUNK / 2 + 1001, 1]));
    w.set("model.vision.weight", tensor("model.vision.weight", "BF16", [4000, 1]));
    const base = memoryWeights(w);
    const targets: Uint8Array[] = [];
    const recording: WeightSource = {
      ...base,
      source(name) {
        const own = base.source(name);
        const readRange = (target: Uint8Array, offset: number) => {
          targets.push(target);
          return own.readRange!(target, offset);
        };
        return { ...own, readRange };
      },
    };
    const config = { model_type: "qwen3_moe", num_experts: 3 };
    await fuseCheckpoint(recording, config, join(dir, "out"), { chunk: 16 });
    expect(sameMaps(await readBack(join(dir, "out")), (await prefuse(w, config)).weights)).toBe(true);
    expect(targets.map((t) => t.length)).toEqual([COPY_CHUNK, 2002, 8000]);
    expect(new Set(targets.map((t) => t.buffer)).size).toBe(1);
    expect(targets[0]!.buffer.byteLength).toBe(COPY_CHUNK);
  });

  it("reports progress up to the total bytes written", async () => {
    const dir = tempDir();
    const w = tinyMoe({ prefixes: PREFIXES, E: 3, I: 2, H: 2 });
    const seen: number[] = [];
    const r = await fuseCheckpoint(memoryWeights(w), CONFIG, join(dir, "out"), { onProgress: (p) => seen.push(p.bytesDone, p.bytesTotal) });
    expect(seen.at(-2)).toBe(r.totalSize);
    expect(seen.at(-1)).toBe(r.totalSize);
  });

  it("still asks a source to prefetch, and to cancel when the write fails, when it reports progress", async () => {
    const dir = tempDir();
    const w = tinyMoe({ prefixes: ["model.layers.0.mlp"], E: 3, I: 2, H: 3 });
    // Two pass-through tensors larger than a step buffer, from a source that computes them (no
    // range reads, as a dequantizing view's): the writer asks the second to start early.
    w.set("lm_head.weight", tensor("lm_head.weight", "BF16", [4000, 1]));
    w.set("model.vision.weight", tensor("model.vision.weight", "BF16", [4000, 1]));
    const base = memoryWeights(w);
    const events: string[] = [];
    let failing = false;
    const computing: WeightSource = {
      ...base,
      source(name) {
        const { readRange: _none, ...own } = base.source(name);
        return {
          ...own,
          prefetch: () => void events.push(`prefetch ${name}`),
          cancel: async () => void events.push(`cancel ${name}`),
          async *chunks() {
            if (failing && name === "lm_head.weight") throw new Error("EIO");
            yield* own.chunks();
          },
        };
      },
    };
    const config = { model_type: "qwen3_moe", num_experts: 3 };
    // The runs that must succeed are awaited as they are; those that must fail must reject.
    const settle = (run: Promise<unknown>) => (failing ? expect(run).rejects.toThrow("EIO") : run);
    const twice = async (tag: string): Promise<[string[], string[]]> => {
      await settle(fuseCheckpoint(computing, config, join(dir, `${tag}-quiet`), { chunk: 16 }));
      const quiet = events.splice(0);
      await settle(fuseCheckpoint(computing, config, join(dir, `${tag}-reported`), { chunk: 16, onProgress: () => undefined }));
      return [quiet, events.splice(0)];
    };
    const [quiet, reported] = await twice("ok");
    expect(quiet).toContain("prefetch model.vision.weight");
    expect(reported).toEqual(quiet);
    failing = true;
    const [quietFailed, reportedFailed] = await twice("failed");
    expect(quietFailed).toContain("cancel model.vision.weight");
    expect(reportedFailed).toEqual(quietFailed);
  });

  it("takes its step buffers from the source's supply, the same bytes out, and gives every one back, also when the write fails", async () => {
    const dir = tempDir();
    const w = tinyMoe({ prefixes: PREFIXES, E: 5, I: 3, H: 4 });
    const out: Uint8Array[] = [];
    const back: Uint8Array[] = [];
    const supplied = (): WeightSource => ({
      ...memoryWeights(w),
      buffers: {
        take: (bytes) => {
          out.push(new Uint8Array(bytes + 64));
          return out.at(-1)!;
        },
        give: (b) => back.push(b),
      },
    });
    await fuseCheckpoint(supplied(), CONFIG, join(dir, "out"), { chunk: 2 });
    expect(sameMaps(await readBack(join(dir, "out")), (await prefuse(w, CONFIG)).weights)).toBe(true);
    expect(out.length).toBeGreaterThanOrEqual(2);
    expect(back).toEqual(out);
    // A source that fails mid-stream: the run ends in an error, and the buffers still go back.
    const failing = { ...supplied(), readInto: () => Promise.reject(new Error("disk gone")) };
    await expect(fuseCheckpoint(failing, CONFIG, join(dir, "out2"), { chunk: 2 })).rejects.toThrow("disk gone");
    expect(back).toEqual(out);
  });
});
