import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/reference/errors.js";
import { ChunkPipeline } from "../../src/fixtures-gen/chunk-pipeline.js";
import { planFixture } from "../../src/fixtures-gen/plan.js";
import { produce } from "../../src/fixtures-gen/producers.js";
import { shardGroupsFor } from "../../src/fixtures-gen/shards.js";
import { compareNames } from "../../src/reference/safetensors/layout.js";

async function drain(source: { chunks(): AsyncIterable<Uint8Array> }): Promise<Buffer> {
  const parts: Buffer[] = [];
  // Chunks are reused buffers: copy each before asking for the next.
  for await (const c of source.chunks()) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe("streaming generation", () => {
  const plan = planFixture({ family: "qwen3_vl_moe", experts: 7, hidden: 9, intermediate: 5, variants: [{ kind: "fused", layer: 1 }] });
  const names = [...plan.tensors.keys()];

  it("streams every tensor in small chunks exactly as it is produced whole, in or out of the expected order", async () => {
    const pipeline = new ChunkPipeline(plan.tensors, names, 64);
    for (const n of names) expect((await drain(pipeline.source(n))).equals(Buffer.from(produce(plan.tensors.get(n)!))), n).toBe(true);
    const reversed = new ChunkPipeline(plan.tensors, names, 48);
    for (const n of [...names].reverse()) expect((await drain(reversed.source(n))).equals(Buffer.from(produce(plan.tensors.get(n)!))), n).toBe(true);
    pipeline.close();
    reversed.close();
  });

  it("streams large experts (the varied-base path, SIMD and word loops) in chunks of any size", async () => {
    const big = planFixture({ family: "qwen3_moe", experts: 3, hidden: 128, intermediate: 96, variants: [{ kind: "fused" }] });
    const bigNames = [...big.tensors.keys()];
    for (const chunk of [20_000, 1000, 16_384]) {
      const pipeline = new ChunkPipeline(big.tensors, bigNames, chunk);
      for (const n of bigNames)
        expect((await drain(pipeline.source(n))).equals(Buffer.from(produce(big.tensors.get(n)!))), `${n} in chunks of ${chunk}`).toBe(true);
      pipeline.close();
    }
  });

  it("fills any byte range of a fused, transposed tensor", () => {
    const fused = plan.tensors.get("model.language_model.layers.1.mlp.experts.gate_up_proj")!;
    const whole = produce(fused);
    for (const [offset, length] of [
      [0, 1],
      [3, 17],
      [88, 90],
      [whole.length - 5, 5],
    ] as const) {
      const part = new Uint8Array(length);
      fused.fill(part, offset);
      expect(part).toEqual(whole.subarray(offset, offset + length));
    }
  });

  it("splits into exactly N shards in name order for any N up to the number of tensors", () => {
    const sorted = [...plan.tensors.keys()].sort(compareNames);
    expect(shardGroupsFor(plan.tensors, 1)).toBeUndefined();
    for (let n = 2; n <= plan.tensors.size; n++) {
      const groups = shardGroupsFor(plan.tensors, n)!;
      expect(groups).toHaveLength(n);
      expect(groups.flat()).toEqual(sorted);
      expect(groups.every((g) => g.length > 0)).toBe(true);
    }
    expect(() => shardGroupsFor(plan.tensors, plan.tensors.size + 1)).toThrow(UsageError);
  });
});
