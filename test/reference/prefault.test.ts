// Prefaulting output memory on the threadpool must never cost a byte: regions written after
// `ready` keep their bytes, and a fuse large enough to take the prefault path is still exact.

import { describe, expect, it } from "vitest";
import { PREFAULT_MIN_BYTES, prefault } from "../../src/reference/prefault.js";
import { prefuse } from "../../src/reference/prefuse/prefuse.js";
import type { Tensor, TensorMap } from "../../src/reference/tensor.js";
import { Xoshiro128 } from "../../src/fixtures-gen/prng.js";

describe("prefault", () => {
  it("zeroes regions ahead and never after the caller has written them", async () => {
    const a = new Uint8Array(48 << 20);
    const b = new Uint8Array(40 << 20);
    const faults = await prefault([a, b]);
    // Last regions first: the threadpool reaches them last, so writing before `ready` would
    // have its bytes zeroed afterwards.
    for (const buf of [b, a]) {
      for (let start = Math.floor((buf.length - 1) / (3 << 20)) * (3 << 20); start >= 0; start -= 3 << 20) {
        const end = Math.min(buf.length, start + (3 << 20));
        await faults.ready(buf, start, end);
        buf.fill((start >> 20) + 1, start, end);
      }
    }
    await faults.close();
    for (const buf of [a, b]) {
      for (let start = 0; start < buf.length; start += 3 << 20) {
        const end = Math.min(buf.length, start + (3 << 20));
        expect(
          buf.subarray(start, end).every((x) => x === (start >> 20) + 1),
          `region at ${start}`,
        ).toBe(true);
      }
    }
  });

  it("does nothing for buffers below the threshold", async () => {
    const small = new Uint8Array(PREFAULT_MIN_BYTES - 1).fill(7);
    const faults = await prefault([small]);
    await faults.ready(small, 0, small.length);
    await faults.close();
    expect(small.every((x) => x === 7)).toBe(true);
  });

  it("a fuse big enough to prefault (96 MiB out) is still exact, expert by expert", async () => {
    const E = 32;
    const I = 512;
    const H = 1024;
    const prefix = "model.layers.0.mlp";
    const weights: TensorMap = new Map();
    const make = (seed: number, shape: number[]): Tensor => {
      const data = new Uint8Array(shape[0]! * shape[1]! * 2);
      new Xoshiro128(seed).fill(new Uint32Array(data.buffer));
      return { dtype: "BF16", shape, data };
    };
    for (let e = 0; e < E; e++) {
      weights.set(`${prefix}.experts.${e}.gate_proj.weight`, make(3 * e + 1, [I, H]));
      weights.set(`${prefix}.experts.${e}.up_proj.weight`, make(3 * e + 2, [I, H]));
      weights.set(`${prefix}.experts.${e}.down_proj.weight`, make(3 * e + 3, [H, I]));
    }
    const { weights: out } = await prefuse(weights, { model_type: "qwen3_moe", num_experts: E }, { chunk: 5 });
    const gateUp = out.get(`${prefix}.experts.gate_up_proj`)!;
    const down = out.get(`${prefix}.experts.down_proj`)!;
    expect(gateUp.data.length + down.data.length).toBeGreaterThanOrEqual(PREFAULT_MIN_BYTES);
    const m = I * H * 2;
    for (let e = 0; e < E; e++) {
      const eq = (a: Uint8Array, name: string) => Buffer.compare(a, weights.get(`${prefix}.experts.${e}.${name}.weight`)!.data) === 0;
      expect(eq(gateUp.data.subarray(2 * e * m, (2 * e + 1) * m), "gate_proj"), `gate ${e}`).toBe(true);
      expect(eq(gateUp.data.subarray((2 * e + 1) * m, (2 * e + 2) * m), "up_proj"), `up ${e}`).toBe(true);
      expect(eq(down.data.subarray(e * m, (e + 1) * m), "down_proj"), `down ${e}`).toBe(true);
    }
  });
});
