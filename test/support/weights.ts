// Comparing weight dicts in property tests, with failures that name the first differing tensor,
// and the small reshufflings the properties apply to their inputs.

import { expect } from "vitest";
import { Xoshiro128 } from "../../src/fixtures-gen/prng.js";
import { type Tensor, type TensorMap, bytesEqual } from "../../src/reference/tensor.js";

/** The first difference between two weight dicts, in words, or undefined when they are equal. */
export function weightsDifference(actual: TensorMap, expected: TensorMap): string | undefined {
  for (const name of expected.keys()) if (!actual.has(name)) return `missing ${name}`;
  for (const name of actual.keys()) if (!expected.has(name)) return `unexpected ${name}`;
  for (const [name, t] of expected) {
    const a = actual.get(name)!;
    if (a.dtype !== t.dtype) return `${name}: dtype ${a.dtype}, expected ${t.dtype}`;
    if (a.shape.join() !== t.shape.join()) return `${name}: shape [${a.shape.join(", ")}], expected [${t.shape.join(", ")}]`;
    if (!bytesEqual(a.data, t.data)) return `${name}: bytes differ`;
  }
  return undefined;
}

export function expectSameWeights(actual: TensorMap, expected: TensorMap, what: string): void {
  const difference = weightsDifference(actual, expected);
  if (difference !== undefined) expect.fail(`${what}: ${difference}`);
}

export function expectSameBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  if (actual === undefined) expect.fail(`${what}: missing`);
  if (!bytesEqual(actual, expected)) expect.fail(`${what}: bytes differ`);
}

/** Equal 16-bit element arrays, else a failure naming the first difference (toEqual is slow on large arrays). */
export function expectSameBits(actual: Uint16Array, expected: Uint16Array, what: string): void {
  if (actual.length !== expected.length) expect.fail(`${what}: ${actual.length} elements, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) expect.fail(`${what}: element ${i} is 0x${actual[i]!.toString(16)}, expected 0x${expected[i]!.toString(16)}`);
  }
}

/** Expert e's slice of a tensor whose leading axis is the expert. */
export function expertSlot(t: Tensor, e: number): Uint8Array {
  const n = t.data.length / t.shape[0]!;
  return t.data.subarray(e * n, (e + 1) * n);
}

/** The same dict with its entries in a seeded random order (Fisher-Yates over the project's PRNG). */
export function shuffled(w: TensorMap, seed: number): TensorMap {
  const entries = [...w];
  const rng = new Xoshiro128(seed);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = rng.next() % (i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return new Map(entries);
}
