// The kernel memory's allocator: blocks by size class reused once given back (each block once,
// whole), views that stay valid when the memory grows, buffers outside it past the limit (a
// piece's reused too), scratch always inside and never reused as a buffer.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import {
  ARENA_LIMIT,
  Arena,
  KERNEL_MEMORY_PAGES,
  PIECE_CLASS_LIMIT,
  SCRATCH_BLOCK,
  SCRATCH_UP_FRONT,
  blockSize,
  kernelArena,
} from "../../../src/reference/fp8/arena.js";
import { DequantPool } from "../../../src/reference/fp8/pool.js";
import { DEQUANT_CHUNK_ELEMENTS, dequantView } from "../../../src/reference/fp8/view.js";
import { type SharedMemory, WEBASSEMBLY } from "../../../src/reference/fp8/wasm-api.js";
import { defaultThreads } from "../../../src/reference/fp8/threads.js";
import { SCRATCH_BYTES } from "../../../src/reference/fp8/wasm-kernel.js";
import { memoryWeights } from "../../../src/reference/weights.js";
import { ROOT } from "../../support/cli.js";
import { fcParams } from "../../support/fc.js";
import { f32, fp8 } from "./tensors.js";

const memory = (): SharedMemory => new WEBASSEMBLY!.Memory({ initial: 1, maximum: KERNEL_MEMORY_PAGES, shared: true });
const MiB = 1 << 20;

describe("the kernel memory (Arena)", () => {
  it("hands out power-of-two blocks of at least 64 KiB, and reuses a block given back", () => {
    const arena = new Arena(memory());
    const a = arena.take(1);
    const b = arena.take(65537);
    expect([a.length, b.length]).toEqual([65536, 131072]);
    expect(arena.offsetOf(a)).toBe(0);
    expect(arena.offsetOf(b)).toBe(65536);
    expect(() => arena.give(b.subarray(0, 100))).toThrow("give back the whole block take returned, once, not a view of 100 bytes");
    arena.give(a);
    const c = arena.take(1000);
    expect(arena.offsetOf(c)).toBe(0);
    expect(arena.offsetOf(arena.take(100))).toBe(196608);
  });

  it("rounds to powers of two up to the largest piece, to multiples of it above", () => {
    // The largest power-of-two class is the view's largest piece: a BF16 piece of DEQUANT_CHUNK_ELEMENTS.
    expect(PIECE_CLASS_LIMIT).toBe(2 * DEQUANT_CHUNK_ELEMENTS);
    expect(PIECE_CLASS_LIMIT).toBe(8 * MiB);
    expect([1, 65536, 65537, 3 * MiB, 4 * MiB, 8 * MiB].map(blockSize)).toEqual([65536, 65536, 131072, 4 * MiB, 4 * MiB, 8 * MiB]);
    // A fuse's step buffer: one expert's gate_up of [2 x 10240, 2048] BF16 is 80 MiB, and takes 80 MiB.
    expect([8 * MiB + 1, 80 * MiB, 80 * MiB + 1].map(blockSize)).toEqual([16 * MiB, 80 * MiB, 88 * MiB]);
    const arena = new Arena(memory());
    const step = arena.take(80 * MiB);
    expect(step.length).toBe(80 * MiB);
    const piece = arena.take(4 * MiB);
    expect(arena.offsetOf(piece)).toBe(80 * MiB);
    arena.give(step);
    expect(arena.offsetOf(arena.take(79 * MiB + 1))).toBe(0);
  });

  it("refuses a block given back twice, and a view of a block's class size that is not the block", () => {
    const arena = new Arena(memory());
    const step = arena.take(80 * MiB);
    const piece = arena.take(4 * MiB);
    arena.give(piece);
    expect(() => arena.give(piece)).toThrow("give back the whole block take returned, once");
    // 8 MiB inside the step buffer has a class's size, but is no block: taken, it would be lent twice.
    expect(() => arena.give(step.subarray(8 * MiB, 16 * MiB))).toThrow("give back the whole block take returned, once");
    // The piece was the top block: the next block takes its place, above the step, not inside it.
    expect(arena.offsetOf(arena.take(8 * MiB))).toBe(80 * MiB);
  });

  it("lowers its top over the blocks given back, so a run of other shapes after it reuses the same bytes", () => {
    const m = memory();
    const arena = new Arena(m);
    // A fuse of [2 x 10240, 2048] experts: two 80 MiB steps and six 4 MiB pieces, given back
    // steps first (neither is the top then), so the last piece brings the top down over all.
    const first = [arena.take(80 * MiB), arena.take(80 * MiB), ...Array.from({ length: 6 }, () => arena.take(4 * MiB))];
    const grown = m.buffer.byteLength;
    for (const b of first) arena.give(b);
    // Then one of [2 x 11264, 2048] experts: 88 MiB steps and 2 MiB pieces, classes the first
    // run never used. They take the same bytes from 0, and the memory does not grow.
    const second = [arena.take(88 * MiB), arena.take(88 * MiB), ...Array.from({ length: 4 }, () => arena.take(2 * MiB))];
    expect(second.map((b) => arena.offsetOf(b))).toEqual([0, 88, 176, 178, 180, 182].map((x) => x * MiB));
    expect(m.buffer.byteLength).toBe(grown);
  });

  it("reserves scratch at the bottom for the default pool's threads: lent through a run, it does not hold the buffers' top up", () => {
    const arena = new Arena(memory(), 2);
    const step = arena.take(80 * MiB);
    const scratch = arena.takeScratch(SCRATCH_BYTES, true);
    const piece = arena.take(4 * MiB);
    expect([arena.offsetOf(step), arena.offsetOf(scratch), arena.offsetOf(piece)]).toEqual([2 * SCRATCH_BLOCK, 0, 2 * SCRATCH_BLOCK + 80 * MiB]);
    arena.give(piece);
    arena.give(step);
    // The scratch is still lent (a pool's thread keeps it), yet the next run takes the same bytes.
    const next = arena.take(88 * MiB);
    expect(arena.offsetOf(next)).toBe(2 * SCRATCH_BLOCK);
    // Only the reserve's threads take from it; the others take from the top, like any block.
    const other = arena.takeScratch(SCRATCH_BYTES);
    expect(arena.offsetOf(other)).toBe(2 * SCRATCH_BLOCK + 88 * MiB);
    expect(arena.offsetOf(arena.takeScratch(SCRATCH_BYTES, true))).toBe(SCRATCH_BLOCK);
    // The reserve, given back, is the reserve's again; once spent, its threads take from the top.
    arena.give(scratch);
    expect(arena.offsetOf(arena.takeScratch(SCRATCH_BYTES, true))).toBe(0);
    const spent = arena.takeScratch(SCRATCH_BYTES, true);
    expect(arena.offsetOf(spent)).toBe(2 * SCRATCH_BLOCK + 88 * MiB + SCRATCH_BLOCK);
    // Everything above the reserve back, the top comes down to it, and never below.
    for (const b of [spent, other, next]) arena.give(b);
    expect(arena.offsetOf(arena.take(MiB))).toBe(2 * SCRATCH_BLOCK);
    // A thread's scratch is one block of the reserve.
    expect(blockSize(SCRATCH_BYTES)).toBe(SCRATCH_BLOCK);
  });

  it("counts the buffers' limit from the reserve's end: two 480 MiB steps and their pieces fit whatever the core count", () => {
    const arena = new Arena(memory(), 32);
    const blocks = [arena.take(480 * MiB), arena.take(480 * MiB), ...Array.from({ length: 6 }, () => arena.take(4 * MiB))];
    expect(blocks.every((b) => arena.offsetOf(b) !== undefined)).toBe(true);
  });

  it("grows first, and gives a plain buffer when the system refuses the growth, its top where it was", () => {
    // A maximum of 4 MiB stands in for a growth the system refuses (a data-segment or commit limit).
    const arena = new Arena(new WEBASSEMBLY!.Memory({ initial: 1, maximum: 64, shared: true }));
    const first = arena.take(MiB);
    const big = arena.take(8 * MiB);
    expect([arena.offsetOf(first), arena.offsetOf(big)]).toEqual([0, undefined]);
    expect(arena.offsetOf(arena.take(MiB))).toBe(MiB);
    expect(arena.offsetOf(arena.take(MiB))).toBe(2 * MiB);
    // Scratch cannot be a plain buffer: a thread without room for it is refused, in one line.
    expect(() => arena.takeScratch(SCRATCH_BYTES)).toThrow("no room for another thread's scratch");
    expect(arena.offsetOf(arena.take(MiB))).toBe(3 * MiB);
  });

  /** test/support/fp8-scratch-child.ts in a fresh process (its memory as a run of the CLI finds it), under `ulimit -d` when given. */
  const child = (args: readonly string[], ulimitKiB?: number) =>
    spawnSync(
      "sh",
      [
        "-c",
        `${ulimitKiB === undefined ? "" : `ulimit -d ${ulimitKiB} && `}exec "${process.execPath}" --import tsx test/support/fp8-scratch-child.ts ${args.join(" ")}`,
      ],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
      },
    );

  it("leaves nothing above a run's buffers in a fresh process: a pool of more threads than cores, or the default pool first asked for mid-run beside one", () => {
    // The pool must not take the main thread's reserved block, nor the default pool's: either
    // would then take its scratch mid-run, above the run's step buffer, for the process's life.
    for (const args of [
      ["reserve", "1"],
      ["reserve", "0", "default"],
    ]) {
      const r = child(args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      const [step, next] = r.stdout.trim().split(" ").map(Number);
      // At or below: with the pool's scratch given back, the top may come down under the step.
      expect(next, args.join(" ")).toBeLessThanOrEqual(step!);
    }
  });

  it.runIf(process.platform === "linux")("dequantizes in the kernel memory under a 512 MiB data-segment limit (ulimit -d), --threads 256 included", () => {
    // Growing a WebAssembly memory makes its pages writable, which Linux charges to the data
    // segment while they are not yet resident: the memory must grow only as far as it is used,
    // and a pool of 256 threads on a few cores must not take all their scratch at once.
    for (const threads of ["2", "256"]) {
      const r = child(["many", threads], 524288);
      expect(r.status, `${threads}: ${r.stderr}`).toBe(0);
      const [grown, inMemory] = r.stdout.trim().split(" ");
      expect(inMemory, threads).toBe("true");
      // The reserve and the pool's first workers' blocks: a block a core each, at most SCRATCH_UP_FRONT.
      expect(Number(grown), threads).toBeLessThanOrEqual(2 * Math.min(defaultThreads(), SCRATCH_UP_FRONT) * SCRATCH_BLOCK);
    }
  });

  it("reuses a run's bytes for the next in the process's own kernel memory, with the default pool's threads computing in between", async () => {
    // The pipeline's set-up: a fuse of a dequantizing view on the default pool, whose threads
    // keep their scratch for the process's life, first used in the middle of the run.
    const arena = kernelArena();
    const weights = memoryWeights(
      new Map([
        ["a.weight", fp8([512, 1024])],
        ["a.weight_scale_inv", f32([4, 8])],
      ]),
    );
    const view = dequantView(weights, { model_type: "x", quantization_config: { quant_method: "fp8", fmt: "e4m3", weight_block_size: [128, 128] } });
    const step = arena.take(80 * MiB);
    await view.read("a.weight");
    await view.close();
    arena.give(step);
    // The next run, of another shape, takes the same bytes.
    const next = arena.take(88 * MiB);
    expect(arena.offsetOf(next)).toBe(arena.offsetOf(step));
    arena.give(next);
  });

  it("reuses a run's bytes for the next with a pool's threads started in between and still running (whatever ran before in this process)", async () => {
    // The default pool's threads may have taken their scratch in an earlier test file of this
    // worker (isolate: false); a pool of its own takes its scratch when it is made, before the
    // run's buffers, and keeps it while its threads run.
    const arena = kernelArena();
    const pool = new DequantPool(2, { minTaskElements: 1 << 16 });
    try {
      const step = arena.take(80 * MiB);
      const weights = memoryWeights(
        new Map([
          ["a.weight", fp8([512, 1024])],
          ["a.weight_scale_inv", f32([4, 8])],
        ]),
      );
      const view = dequantView(
        weights,
        { model_type: "x", quantization_config: { quant_method: "fp8", fmt: "e4m3", weight_block_size: [128, 128] } },
        { pool },
      );
      await view.read("a.weight");
      await view.close();
      expect(pool.started).toBeGreaterThan(0);
      arena.give(step);
      const next = arena.take(88 * MiB);
      expect(arena.offsetOf(next)).toBe(arena.offsetOf(step));
      arena.give(next);
    } finally {
      await pool.close();
    }
  });

  it("never lends overlapping blocks, stays within plan's bound, and comes back to an empty memory whatever the order of takes and gives", () => {
    // One memory for every case: each case's arena starts at offset 0 of it, as a fresh one would.
    const m = memory();
    // Few classes, so that blocks given back are often taken again (the free lists' bookkeeping);
    // scratch of a thread's size comes from the reserve while it lasts.
    const sizes = [1, 100_000, SCRATCH_BYTES, 3 * MiB, 8 * MiB + 1];
    const op = fc.oneof(fc.record({ take: fc.constantFrom(...sizes), scratch: fc.boolean(), reserved: fc.boolean() }), fc.record({ give: fc.nat() }));
    const order = fc.array(fc.nat(), { minLength: 30, maxLength: 30 });
    fc.assert(
      fc.property(fc.nat({ max: 3 }), fc.array(op, { maxLength: 30 }), order, (reserved, ops, giveOrder) => {
        const floor = reserved * SCRATCH_BLOCK;
        /** Offsets, those in the reserve as "reserve" (which of its blocks comes back first depends on the order of gives). */
        const run = (arena: Arena): (number | "reserve")[] => {
          const lent: Uint8Array[] = [];
          const offsets: (number | "reserve")[] = [];
          // plan's memory model (src/plan/memory.ts): what the memory holds above the reserve is at
          // most, per class, the most blocks of it ever lent there at once times the class's size.
          const held = new Map<string, number>();
          const most = new Map<string, number>();
          let highest = floor;
          const key = (b: Uint8Array, scratch: boolean) => `${scratch} ${b.length}`;
          const kinds = new Map<Uint8Array, boolean>();
          for (const o of ops) {
            if ("take" in o) {
              const b = o.scratch ? arena.takeScratch(o.take, o.reserved) : arena.take(o.take);
              const at = arena.offsetOf(b)!;
              expect(b.length).toBe(blockSize(o.take));
              // Only the reserve's threads' scratch is in the reserve.
              if (at < floor) expect([o.scratch, o.reserved, b.length]).toEqual([true, true, SCRATCH_BLOCK]);
              offsets.push(at < floor ? "reserve" : at);
              lent.push(b);
              kinds.set(b, o.scratch);
              if (at >= floor) {
                held.set(key(b, o.scratch), (held.get(key(b, o.scratch)) ?? 0) + 1);
                most.set(key(b, o.scratch), Math.max(most.get(key(b, o.scratch)) ?? 0, held.get(key(b, o.scratch))!));
                highest = Math.max(highest, at + b.length);
              }
            } else if (lent.length > 0) {
              const [b] = lent.splice(o.give % lent.length, 1);
              if (arena.offsetOf(b!)! >= floor) held.set(key(b!, kinds.get(b!)!), held.get(key(b!, kinds.get(b!)!))! - 1);
              arena.give(b!);
            }
            const spans = lent.map((b) => [arena.offsetOf(b)!, arena.offsetOf(b)! + b.length] as const).sort((a, b) => a[0] - b[0]);
            for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
            expect(spans.every(([, end]) => end <= m.buffer.byteLength)).toBe(true);
          }
          const bound = [...most].reduce((sum, [k, n]) => sum + n * Number(k.split(" ")[1]), 0);
          expect(highest - floor).toBeLessThanOrEqual(bound);
          for (let i = 0; lent.length > 0; i++) arena.give(lent.splice(giveOrder[i % giveOrder.length]! % lent.length, 1)[0]!);
          return offsets;
        };
        const arena = new Arena(m, reserved);
        const offsets = run(arena);
        // Everything back: the next block is at the reserve's end again, a reserved thread's
        // scratch in the reserve while there is one, and the same run takes the same bytes.
        const probes = [arena.take(1), arena.takeScratch(SCRATCH_BYTES, true)];
        expect(arena.offsetOf(probes[0]!)).toBe(floor);
        expect(arena.offsetOf(probes[1]!)! < floor).toBe(reserved > 0);
        for (const b of probes) arena.give(b);
        expect(run(arena)).toEqual(offsets);
      }),
      fcParams(300),
    );
  });

  it("holds a fuse's two step buffers of 480 MiB and their readers' pieces", () => {
    // One expert's gate_up of [2 x 24576, 5120] in BF16 is 480 MiB, read by two readers (gate and
    // up) of three 4 MiB pieces each.
    const arena = new Arena(memory());
    const steps = [arena.take(480 * MiB), arena.take(480 * MiB)];
    const pieces = Array.from({ length: 6 }, () => arena.take(4 * MiB));
    expect([...steps, ...pieces].every((b) => arena.offsetOf(b) !== undefined)).toBe(true);
  });

  it("keeps earlier views valid when the memory grows, and knows them as its own", () => {
    const m = memory();
    const arena = new Arena(m);
    const first = arena.take(10);
    first.fill(7);
    const big = arena.take(8 << 20);
    expect(m.buffer.byteLength).toBeGreaterThanOrEqual(first.length + big.length);
    expect(first.every((x) => x === 7)).toBe(true);
    expect(new Uint8Array(m.buffer, 0, 10).every((x) => x === 7)).toBe(true);
    expect(arena.offsetOf(first)).toBe(0);
    expect(arena.offsetOf(new Uint16Array(big.buffer, big.byteOffset + 4, 2))).toBe(big.byteOffset + 4);
    expect(arena.offsetOf(new Uint8Array(new SharedArrayBuffer(16)))).toBeUndefined();
    expect(arena.offsetOf(new Uint8Array(16))).toBeUndefined();
  });

  it("gives plain SharedArrayBuffers past its limit and reuses them, still takes scratch, and ignores a foreign buffer given back", () => {
    const arena = new Arena(memory());
    const blocks = [arena.take(ARENA_LIMIT / 2), arena.take(ARENA_LIMIT / 2)];
    expect(blocks.map((b) => arena.offsetOf(b))).toEqual([0, ARENA_LIMIT / 2]);
    const outside = arena.take(4 * MiB);
    expect(outside.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(arena.offsetOf(outside)).toBeUndefined();
    expect(() => arena.give(outside.subarray(0, MiB))).toThrow("give back the whole block");
    arena.give(outside);
    expect(() => arena.give(outside)).toThrow("give back the whole block take returned, once");
    // The next piece of that class is the same buffer, not a new one for the collector. (Identity
    // compared by hand: a failing toBe on two 4 MiB arrays deep-compares them for its hint.)
    expect(arena.take(3 * MiB + 1) === outside).toBe(true);
    expect(arena.take(4 * MiB) === outside).toBe(false);
    const foreign = new Uint8Array(new SharedArrayBuffer(4 * MiB));
    arena.give(foreign);
    expect(arena.take(4 * MiB) === foreign).toBe(false);
    // A buffer larger than a piece (a fuse's step, once a run) goes to the collector when given back.
    const large = arena.take(16 * MiB);
    arena.give(large);
    expect(arena.take(16 * MiB) === large).toBe(false);
    expect(arena.offsetOf(arena.takeScratch(1 << 20))).toBe(ARENA_LIMIT);
    arena.give(blocks[0]!);
    expect(arena.offsetOf(arena.take(ARENA_LIMIT / 2))).toBe(0);
  });

  it("keeps scratch blocks for scratch: a buffer never takes the room kept for threads", () => {
    const arena = new Arena(memory());
    const filled = [arena.take(ARENA_LIMIT / 2), arena.take(ARENA_LIMIT / 2)];
    const scratch = Array.from({ length: 256 }, () => arena.takeScratch(1 << 20));
    for (const b of scratch) arena.give(b);
    // Pieces of the scratch's class go outside the memory, not into the scratch given back...
    expect(Array.from({ length: 10 }, () => arena.take(MiB)).every((b) => arena.offsetOf(b) === undefined)).toBe(true);
    // ...so 256 threads find their scratch again.
    expect(Array.from({ length: 256 }, () => arena.takeScratch(1 << 20)).every((b) => arena.offsetOf(b)! >= ARENA_LIMIT)).toBe(true);
    expect(filled.map((b) => arena.offsetOf(b))).toEqual([0, ARENA_LIMIT / 2]);
  });

  it("without WebAssembly, every buffer is a plain SharedArrayBuffer", () => {
    const arena = new Arena(undefined);
    const b = arena.take(5);
    expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(arena.offsetOf(b)).toBeUndefined();
    expect(() => arena.takeScratch(5)).toThrow("no room");
  });
});
