// The kernel memory's allocator: power-of-two blocks reused once given back, views that stay
// valid when the memory grows, buffers outside it past the limit, scratch always inside.

import { describe, expect, it } from "vitest";
import { ARENA_LIMIT, Arena } from "../../../src/reference/fp8/arena.js";
import { type SharedMemory, WEBASSEMBLY } from "../../../src/reference/fp8/wasm-api.js";

const memory = (): SharedMemory => new WEBASSEMBLY!.Memory({ initial: 1, maximum: (1 << 30) / 65536, shared: true });

describe("the kernel memory (Arena)", () => {
  it("hands out power-of-two blocks of at least 64 KiB, and reuses a block given back", () => {
    const arena = new Arena(memory());
    const a = arena.take(1);
    const b = arena.take(65537);
    expect([a.length, b.length]).toEqual([65536, 131072]);
    expect(arena.offsetOf(a)).toBe(0);
    expect(arena.offsetOf(b)).toBe(65536);
    expect(() => arena.give(b.subarray(0, 100))).toThrow("give back the whole block take returned, not a view of 100 bytes");
    arena.give(a);
    const c = arena.take(1000);
    expect(arena.offsetOf(c)).toBe(0);
    expect(arena.offsetOf(arena.take(100))).toBe(196608);
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

  it("gives plain SharedArrayBuffers past its limit, still takes scratch, and ignores a foreign buffer given back", () => {
    const arena = new Arena(memory());
    const blocks = [arena.take(ARENA_LIMIT / 2), arena.take(ARENA_LIMIT / 2)];
    expect(blocks.map((b) => arena.offsetOf(b))).toEqual([0, ARENA_LIMIT / 2]);
    const outside = arena.take(1);
    expect(outside.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(arena.offsetOf(outside)).toBeUndefined();
    arena.give(outside);
    expect(arena.offsetOf(arena.takeScratch(1 << 20))).toBe(ARENA_LIMIT);
    arena.give(blocks[0]!);
    expect(arena.offsetOf(arena.take(ARENA_LIMIT / 2))).toBe(0);
  });

  it("without WebAssembly, every buffer is a plain SharedArrayBuffer", () => {
    const arena = new Arena(undefined);
    const b = arena.take(5);
    expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(arena.offsetOf(b)).toBeUndefined();
    expect(() => arena.takeScratch(5)).toThrow("no room");
  });
});
