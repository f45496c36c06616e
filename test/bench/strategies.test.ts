// Every strategy fuses correctly for any shape, expert count and chunk size (checked against an
// element-wise oracle written independently of the layout code), and its ledger's peak equals
// its closed-form formula: the analytic numbers the report prints are the strategies' own.

import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expertWeights, writeExpertCheckpoint } from "../../src/bench/inputs.js";
import { MemoryLedger } from "../../src/bench/ledger.js";
import { DOWN_NAME, type FuseProblem, GATE_UP_NAME, expertTensorName, inputBytes } from "../../src/bench/problem.js";
import { SWITCH_MLP_NAMES } from "../../src/bench/layout.js";
import { STRATEGIES } from "../../src/bench/strategies/registry.js";
import type { MemoryStrategy } from "../../src/bench/strategies/strategy.js";
import { verifyOutput } from "../../src/bench/verify.js";
import { Checkpoint } from "../../src/reference/checkpoint.js";
import { memoryWeights } from "../../src/reference/weights.js";
import type { TensorMap } from "../../src/reference/tensor.js";
import { tempDir } from "../support/tmp.js";
import { fcParams, fcTimeout } from "../support/fc.js";

const problemArb = fc
  .record({
    hidden: fc.integer({ min: 1, max: 6 }),
    intermediate: fc.integer({ min: 1, max: 6 }),
    experts: fc.integer({ min: 1, max: 12 }),
    chunk: fc.integer({ min: 1, max: 14 }),
  })
  .map(({ hidden, intermediate, experts, chunk }): FuseProblem => ({ shape: { name: "t", hidden, intermediate }, experts, chunk }));

const words = (t: TensorMap, name: string) => new Uint16Array(t.get(name)!.data.slice().buffer);

/** The fused tensors element by element: gate_up[e, r, h] = r < I ? gate_e[r, h] : up_e[r - I, h]; down[e] = down_e. */
function oracle(p: FuseProblem, t: TensorMap): { gateUp: Uint16Array; down: Uint16Array } {
  const { hidden: H, intermediate: I } = p.shape;
  const gateUp = new Uint16Array(p.experts * 2 * I * H);
  const down = new Uint16Array(p.experts * H * I);
  for (let e = 0; e < p.experts; e++) {
    const g = words(t, expertTensorName(e, "gate_proj"));
    const u = words(t, expertTensorName(e, "up_proj"));
    const d = words(t, expertTensorName(e, "down_proj"));
    for (let r = 0; r < 2 * I; r++) for (let h = 0; h < H; h++) gateUp[(e * 2 * I + r) * H + h] = r < I ? g[r * H + h]! : u[(r - I) * H + h]!;
    for (let k = 0; k < H * I; k++) down[e * H * I + k] = d[k]!;
  }
  return { gateUp, down };
}

const asWords = (b: Uint8Array) => new Uint16Array(b.slice().buffer);

describe("in-memory strategies", () => {
  for (const name of ["stack-concat", "prealloc", "split-retain"] as const) {
    it(`${name}: output matches the oracle; ledger peak = formula; only the output stays live`, () => {
      const strategy = STRATEGIES.get(name) as MemoryStrategy;
      fc.assert(
        fc.property(problemArb, (p) => {
          const tensors = expertWeights(p);
          const before = new Map([...tensors].map(([k, v]) => [k, v.data.slice()]));
          const ledger = new MemoryLedger();
          const out = strategy.run({ problem: p, tensors, ledger });
          const want = oracle(p, tensors);
          const { hidden: H, intermediate: I } = p.shape;
          if (name === "split-retain") {
            // switch_mlp: gate and up split back out of gate_up, down passed through.
            const gate = asWords(out.tensors.get(SWITCH_MLP_NAMES.gate_proj)!);
            const up = asWords(out.tensors.get(SWITCH_MLP_NAMES.up_proj)!);
            for (let e = 0; e < p.experts; e++) {
              expect(gate.subarray(e * I * H, (e + 1) * I * H)).toEqual(want.gateUp.subarray(e * 2 * I * H, (e * 2 + 1) * I * H));
              expect(up.subarray(e * I * H, (e + 1) * I * H)).toEqual(want.gateUp.subarray((e * 2 + 1) * I * H, (e + 1) * 2 * I * H));
            }
            expect(asWords(out.tensors.get(SWITCH_MLP_NAMES.down_proj)!)).toEqual(want.down);
          } else {
            expect(asWords(out.tensors.get(GATE_UP_NAME)!)).toEqual(want.gateUp);
            expect(asWords(out.tensors.get(DOWN_NAME)!)).toEqual(want.down);
          }
          expect(ledger.peak).toBe(strategy.analyticPeak(p));
          const outBytes = [...out.tensors.values()].reduce((a, b) => a + b.length, 0);
          expect(ledger.current).toBe(outBytes);
          expect(outBytes).toBe(inputBytes(p));
          // Inputs are never modified.
          for (const [k, v] of tensors) expect(v.data).toEqual(before.get(k));
        }),
        fcParams(),
      );
    });
  }

  it("the closed forms: stack-concat 4eE, prealloc 3eE, split-retain 5eE whatever C", () => {
    const p = (chunk: number): FuseProblem => ({ shape: { name: "q", hidden: 2048, intermediate: 512 }, experts: 256, chunk });
    const e = 512 * 2048 * 2;
    for (const c of [1, 16, 256]) {
      expect(STRATEGIES.get("stack-concat")!.analyticPeak(p(c))).toBe(4 * e * 256);
      expect(STRATEGIES.get("prealloc")!.analyticPeak(p(c))).toBe(3 * e * 256);
      expect(STRATEGIES.get("split-retain")!.analyticPeak(p(c))).toBe(5 * e * 256);
    }
    expect(STRATEGIES.get("stream")!.analyticPeak(p(16))).toBe(4 * e * 16 + (4 << 20));
  });
});

describe("stream (disk to disk)", () => {
  // Each run writes and rereads a checkpoint: milliseconds when idle, up to a second on a loaded machine.
  it("writes the oracle's fused checkpoint for any chunk size; ledger peak = formula", { timeout: fcTimeout(100, 1_000) }, async () => {
    const dir = tempDir();
    // A few per-expert checkpoints written once (odd sizes, one expert, a partial last chunk),
    // fused over and over with arbitrary chunk sizes.
    const layers: FuseProblem[] = [
      { shape: { name: "a", hidden: 3, intermediate: 5 }, experts: 7, chunk: 1 },
      { shape: { name: "b", hidden: 8, intermediate: 2 }, experts: 1, chunk: 1 },
      { shape: { name: "c", hidden: 6, intermediate: 4 }, experts: 12, chunk: 1 },
    ];
    const inputs = await Promise.all(
      layers.map(async (p, k) => {
        const path = join(dir, `in-${k}`);
        await writeExpertCheckpoint(path, p);
        return { ckpt: await Checkpoint.open(path), want: oracle(p, expertWeights(p)) };
      }),
    );
    const strategy = STRATEGIES.get("stream")!;
    if (strategy.inputs !== "disk") throw new Error("stream reads from disk");
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: layers.length - 1 }), fc.integer({ min: 1, max: 14 }), async (k, chunk) => {
          const p = { ...layers[k]!, chunk };
          const { ckpt, want } = inputs[k]!;
          const output = join(dir, `out-${n++}`);
          const ledger = new MemoryLedger();
          const out = await strategy.run({ problem: p, weights: ckpt, config: ckpt.config ?? {}, ledger, outDir: output });
          expect(out.dir).toBe(output);
          const fused = await Checkpoint.open(output);
          try {
            expect(asWords((await fused.read(GATE_UP_NAME)).data)).toEqual(want.gateUp);
            expect(asWords((await fused.read(DOWN_NAME)).data)).toEqual(want.down);
            expect(fused.get(GATE_UP_NAME).shape).toEqual([p.experts, 2 * p.shape.intermediate, p.shape.hidden]);
            expect(fused.get(DOWN_NAME).shape).toEqual([p.experts, p.shape.hidden, p.shape.intermediate]);
          } finally {
            await fused.close();
          }
          expect(ledger.peak).toBe(strategy.analyticPeak(p));
          expect(ledger.current).toBe(0);
        }),
        fcParams(),
      );
    } finally {
      await Promise.all(inputs.map((i) => i.ckpt.close()));
    }
  });

  it("generates the same bytes in memory and on disk, distinct per tensor", async () => {
    const p: FuseProblem = { shape: { name: "t", hidden: 8, intermediate: 4 }, experts: 5, chunk: 2 };
    const dir = join(tempDir(), "in");
    await writeExpertCheckpoint(dir, p);
    const ckpt = await Checkpoint.open(dir);
    const mem = expertWeights(p);
    const seen = new Set<string>();
    for (const [name, t] of mem) {
      expect((await ckpt.read(name)).data).toEqual(t.data);
      seen.add(Buffer.from(t.data).toString("hex"));
    }
    expect(seen.size).toBe(mem.size);
    await ckpt.close();
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).num_experts).toBe(5);
  });
});

describe("verifyOutput", () => {
  it("catches a misplaced expert and a wrong tensor set", async () => {
    const p: FuseProblem = { shape: { name: "t", hidden: 4, intermediate: 2 }, experts: 3, chunk: 2 };
    const tensors = expertWeights(p);
    const strategy = STRATEGIES.get("prealloc") as MemoryStrategy;
    const out = strategy.run({ problem: p, tensors, ledger: new MemoryLedger() });
    const layout = strategy.outputLayout(p);
    await expect(verifyOutput(layout, p, out, memoryWeights(tensors))).resolves.toBeUndefined();
    const gateUp = out.tensors.get(GATE_UP_NAME)!;
    const e = 2 * 4 * 2;
    gateUp.copyWithin(0, 2 * e, 3 * e); // expert 1's gate over expert 0's gate
    await expect(verifyOutput(layout, p, out, memoryWeights(tensors))).rejects.toThrow(/expert 0/);
    const partial = { residency: "memory" as const, tensors: new Map([[GATE_UP_NAME, gateUp]]) };
    await expect(verifyOutput(layout, p, partial, memoryWeights(tensors))).rejects.toThrow(/expected/);
  });
});
