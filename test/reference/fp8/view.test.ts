// The lazily dequantizing WeightSource: BF16 specs up front, bytes decoded on demand in bounded
// chunks straight from the underlying source's chunk stream, identical to the in-memory API
// whichever way a tensor is read.

import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { Checkpoint, type ModelConfig } from "../../../src/reference/checkpoint.js";
import { OutputError, SafetensorsError } from "../../../src/reference/errors.js";
import { dequantFp8 } from "../../../src/reference/fp8/dequant.js";
import { kernelArena } from "../../../src/reference/fp8/arena.js";
import { PIECES_HELD, dequantView } from "../../../src/reference/fp8/view.js";
import { type TensorSource, tensorSource } from "../../../src/reference/safetensors/source.js";
import { writeSafetensorsFile } from "../../../src/reference/safetensors/writer.js";
import type { TensorMap } from "../../../src/reference/tensor.js";
import { type WeightSource, loadAll, memoryWeights } from "../../../src/reference/weights.js";
import { tempDir } from "../../support/tmp.js";
import { bf16, f32, fp8 } from "./tensors.js";

const CONFIG: ModelConfig = { model_type: "x", quantization_config: { quant_method: "fp8", fmt: "e4m3", weight_block_size: [4, 8] } };

function weights(): TensorMap {
  return new Map([
    ["a.weight", fp8([9, 20], "F8_E4M3", (i) => (i * 53 + 1) & 0xff)],
    ["a.weight_scale_inv", f32([3, 3])],
    ["a.activation_scale", f32([])],
    ["n.weight", bf16([5])],
  ]);
}

/** A source that streams weights in small chunks (no range reads) and refuses whole-tensor reads of FP8 weights. */
function streamingOnly(map: TensorMap, chunk: number, truncate = 0): WeightSource {
  const inner = memoryWeights(map);
  const isFp8 = (name: string) => map.get(name)!.dtype.startsWith("F8_");
  return {
    specs: inner.specs,
    read: (name) => (isFp8(name) ? Promise.reject(new Error(`whole read of ${name}`)) : inner.read(name)),
    readInto: (name, t, o) => (isFp8(name) ? Promise.reject(new Error(`whole read of ${name}`)) : inner.readInto(name, t, o)),
    source(name): TensorSource {
      const t = map.get(name)!;
      const data = t.data.subarray(0, t.data.length - truncate);
      return {
        ...tensorSource(t),
        readRange: undefined,
        async *chunks() {
          const buf = new Uint8Array(chunk);
          for (let off = 0; off < data.length; off += chunk) {
            const part = data.subarray(off, off + chunk);
            buf.set(part);
            yield buf.subarray(0, part.length);
          }
        },
      };
    },
  };
}

/** A source that reads FP8 weights only by range (`onRead` sees each read), never by chunks or whole. */
function rangedOnly(map: TensorMap, onRead: (target: Uint8Array, offset: number) => void): WeightSource {
  const inner = memoryWeights(map);
  const isFp8 = (name: string) => map.get(name)!.dtype.startsWith("F8_");
  return {
    ...inner,
    readInto: (name, t, o) => (isFp8(name) ? Promise.reject(new Error(`whole read of ${name}`)) : inner.readInto(name, t, o)),
    source(name) {
      const s = inner.source(name);
      return {
        ...s,
        chunks: () => {
          throw new Error("chunk stream used");
        },
        readRange: (target, offset) => {
          onRead(target, offset);
          return s.readRange!(target, offset);
        },
      };
    },
  };
}

async function collect(src: TensorSource): Promise<{ bytes: Uint8Array; sizes: number[] }> {
  const parts: Uint8Array[] = [];
  for await (const c of src.chunks()) parts.push(c.slice());
  return { bytes: new Uint8Array(Buffer.concat(parts)), sizes: parts.map((p) => p.length) };
}

describe("dequantView", () => {
  const expected = dequantFp8(weights(), CONFIG).weights;

  it("shows the output's specs and reads every tensor as dequantFp8 computes it", async () => {
    const view = dequantView(memoryWeights(weights()), CONFIG);
    expect([...view.specs]).toEqual([
      ["a.weight", { dtype: "BF16", shape: [9, 20] }],
      ["n.weight", { dtype: "BF16", shape: [5] }],
    ]);
    expect(view.config).toEqual({ model_type: "x" });
    expect(view.plan.droppedActivationScales).toEqual(["a.activation_scale"]);
    expect(await loadAll(view)).toEqual(expected);
    await expect(view.read("a.weight_scale_inv")).rejects.toThrow(SafetensorsError);
    await expect(view.read("a.weight_scale_inv")).rejects.toThrow("removed by FP8 dequantization");
  });

  it("streams from the source's chunks in bounded output chunks, never reading a whole FP8 weight", async () => {
    const view = dequantView(streamingOnly(weights(), 7), CONFIG, { chunkElements: 5 });
    const { bytes, sizes } = await collect(view.source("a.weight"));
    expect(bytes).toEqual(expected.get("a.weight")!.data);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(view.source("a.weight").byteLength).toBe(360);
    expect((await view.read("a.weight")).data).toEqual(expected.get("a.weight")!.data);
  });

  it("reads ranges of at most chunkElements straight into shared memory when the source can", async () => {
    const reads: [number, number, boolean][] = [];
    const view = dequantView(
      rangedOnly(weights(), (target, offset) => reads.push([offset, target.length, target.buffer instanceof SharedArrayBuffer])),
      CONFIG,
      { chunkElements: 64 },
    );
    expect((await view.read("a.weight")).data).toEqual(expected.get("a.weight")!.data);
    expect(reads).toEqual([
      [0, 64, true],
      [64, 64, true],
      [128, 52, true],
    ]);
  });

  it("reads ahead of a slow consumer, but at most two pieces of a tensor", async () => {
    let read = 0;
    const view = dequantView(
      rangedOnly(weights(), () => read++),
      CONFIG,
      { chunkElements: 16 },
    );
    let consumed = 0;
    const ahead: number[] = [];
    for await (const _ of view.source("a.weight").chunks()) {
      consumed++;
      await new Promise((resolve) => setTimeout(resolve, 2));
      ahead.push(read - consumed);
    }
    expect(consumed).toBe(12);
    expect(Math.max(...ahead)).toBe(2);
  });

  /**
   * Runs `read` with the kernel memory's take and give watched: the view's FP8 pieces (12 bytes
   * asked: 180 elements in 15 pieces of 12) and BF16 ones (24 bytes), the most of each held at
   * once and those still held at the end. Every piece is a 64 KiB block, so the two kinds are
   * told apart by what was asked.
   */
  async function watchPieces(read: (view: ReturnType<typeof dequantView>) => Promise<void>) {
    const arena = kernelArena();
    const live = { input: new Set<Uint8Array>(), output: new Set<Uint8Array>() };
    const most = { input: 0, output: 0 };
    const take = arena.take.bind(arena);
    const give = arena.give.bind(arena);
    const takeSpy = vi.spyOn(arena, "take").mockImplementation((bytes: number) => {
      const b = take(bytes);
      const kind = bytes === 12 ? "input" : bytes === 24 ? "output" : undefined;
      if (kind === undefined) throw new Error(`unexpected take of ${bytes} bytes`);
      live[kind].add(b);
      most[kind] = Math.max(most[kind], live[kind].size);
      return b;
    });
    const giveSpy = vi.spyOn(arena, "give").mockImplementation((b: Uint8Array) => {
      live.input.delete(b);
      live.output.delete(b);
      give(b);
    });
    try {
      await read(dequantView(memoryWeights(weights()), CONFIG, { chunkElements: 12 }));
    } finally {
      takeSpy.mockRestore();
      giveSpy.mockRestore();
    }
    return { most, left: live.input.size + live.output.size };
  }
  const slowly = () => new Promise((resolve) => setTimeout(resolve, 2));

  it("holds at most PIECES_HELD of a tensor's pieces in the kernel memory, FP8 and BF16 (what plan's memory model counts)", async () => {
    const { most, left } = await watchPieces(async (view) => {
      for await (const _ of view.source("a.weight").chunks()) await slowly();
    });
    expect(most).toEqual(PIECES_HELD);
    expect(left).toBe(0);
  });

  it("gives every piece back when its consumer stops early, the one read ahead included", async () => {
    const { most, left } = await watchPieces(async (view) => {
      let n = 0;
      for await (const _ of view.source("a.weight").chunks()) {
        await slowly();
        if (++n === 3) break;
      }
    });
    expect(most).toEqual(PIECES_HELD);
    expect(left).toBe(0);
  });

  it("gives every piece back when a prefetched tensor is cancelled instead of written", async () => {
    const { most, left } = await watchPieces(async (view) => {
      const source = view.source("a.weight");
      source.prefetch?.();
      await slowly();
      await source.cancel?.();
      // A second cancel, or one without a prefetch, has nothing to give back.
      await source.cancel?.();
      await view.source("a.weight").cancel?.();
      // Cancelled at once, while its first region is still being read and computed.
      const early = view.source("a.weight");
      early.prefetch?.();
      await early.cancel?.();
    });
    expect(most.input).toBeGreaterThan(0);
    expect(left).toBe(0);
  });

  it("readInto writes at aligned and odd offsets without touching the bytes around", async () => {
    const view = dequantView(streamingOnly(weights(), 13), CONFIG, { chunkElements: 6 });
    const want = expected.get("a.weight")!.data;
    for (const offset of [0, 1, 2, 3]) {
      const target = new Uint8Array(want.length + 6).fill(0xee);
      await view.readInto("a.weight", target, offset);
      expect(target.subarray(offset, offset + want.length)).toEqual(want);
      expect([...target.subarray(0, offset), ...target.subarray(offset + want.length)].every((b) => b === 0xee)).toBe(true);
    }
    await expect(view.readInto("a.weight", new Uint8Array(10), 0)).rejects.toThrow("cannot hold");
  });

  it("fails with a typed error when the source yields fewer bytes than the weight's spec", async () => {
    const view = dequantView(streamingOnly(weights(), 64, 3), CONFIG);
    await expect(collect(view.source("a.weight"))).rejects.toThrow(OutputError);
    await expect(collect(view.source("a.weight"))).rejects.toThrow("yielded 177 of the 180 bytes");
  });

  it("handles an empty FP8 weight ([0, n], scale grid [0, 2]) on every path", async () => {
    const empty: TensorMap = new Map([
      ["e.weight", fp8([0, 16])],
      ["e.weight_scale_inv", f32([0, 2])],
    ]);
    expect(dequantFp8(empty, CONFIG).weights.get("e.weight")).toEqual({ dtype: "BF16", shape: [0, 16], data: new Uint8Array(0) });
    const view = dequantView(streamingOnly(empty, 8), CONFIG);
    expect((await collect(view.source("e.weight"))).bytes).toEqual(new Uint8Array(0));
    expect((await view.read("e.weight")).data).toEqual(new Uint8Array(0));
  });

  it("dequantizes a checkpoint on disk lazily", async () => {
    const path = join(tempDir(), "model.safetensors");
    await writeSafetensorsFile(
      path,
      [...weights()].map(([n, t]) => [n, tensorSource(t)] as const),
    );
    const ckpt = await Checkpoint.open(path);
    try {
      const view = dequantView(ckpt, CONFIG, { checkpoint: path });
      expect(await loadAll(view)).toEqual(expected);
    } finally {
      await ckpt.close();
    }
  });
});
