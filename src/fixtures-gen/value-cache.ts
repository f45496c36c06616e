// Per-run memory of what is expensive to draw: each kind's base array, its doubled copy and its
// FP8 quantization. Bounded (least recently used entries are dropped past a byte budget), so a
// 12 GiB checkpoint is generated with a few MiB of bases live at a time; a dropped entry is
// simply recomputed, identically.

import { numelOf } from "../reference/dtypes.js";
import type { FloatDType } from "./float-codec.js";
import { decodeArray } from "./float-codec.js";
import { type BlockQuantized, type BlockSize, quantizeBlocks, withSpecialValues } from "./fp8-quantize.js";
import { type Distribution, type ExpertVariation, baseValues, doubled, expertVariation, kindSeed } from "./values.js";

/** A kind of values: the tensor name (for experts with `*` for the id), its dtype, shape and distribution. */
export interface KindRef {
  readonly key: string;
  readonly dtype: FloatDType;
  readonly shape: readonly number[];
  readonly dist: Distribution;
}

export interface QuantizeSettings {
  readonly blockSize: BlockSize;
  readonly scaleDtype: FloatDType;
}

/**
 * A budget that holds what one MoE layer draws from (three expert kinds, each with its doubled
 * copy and FP8 codes) several times over, and never less than 64 MiB.
 */
export function cacheBudget(largestKindBytes: number): number {
  return Math.max(64 << 20, 8 * largestKindBytes);
}

export class ValueCache {
  private readonly entries = new Map<string, { value: Uint8Array | BlockQuantized; bytes: number }>();
  private total = 0;

  constructor(
    readonly seed: number,
    private readonly budget: number,
  ) {}

  private memo<T extends Uint8Array | BlockQuantized>(key: string, make: () => T, bytes: (v: T) => number): T {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value as T;
    }
    const value = make();
    const size = bytes(value);
    this.entries.set(key, { value, bytes: size });
    this.total += size;
    for (const [k, e] of this.entries) {
      if (this.total <= this.budget || k === key) break;
      this.entries.delete(k);
      this.total -= e.bytes;
    }
    return value;
  }

  /** The kind's base values, or the base multiplied by 2. */
  values(kind: KindRef, times2 = false): Uint8Array {
    const base = this.memo(
      `base\0${kind.key}\0${kind.dtype}\0${kind.shape.join("x")}`,
      () => baseValues(kind.dtype, numelOf(kind.shape), kind.dist, kindSeed(this.seed, kind.key)),
      (v) => v.length,
    );
    if (!times2) return base;
    return this.memo(
      `x2\0${kind.key}\0${kind.dtype}\0${kind.shape.join("x")}`,
      () => doubled(kind.dtype, base),
      (v) => v.length,
    );
  }

  /** Block-FP8 quantization of the kind's base values with the special values (a 2-D [rows, cols] tensor). */
  quantized(kind: KindRef, q: QuantizeSettings): BlockQuantized {
    const [rows, cols] = kind.shape as [number, number];
    return this.memo(
      `fp8\0${kind.key}\0${kind.dtype}\0${kind.shape.join("x")}\0${q.blockSize.join("x")}\0${q.scaleDtype}`,
      () => quantizeBlocks(withSpecialValues(decodeArray(kind.dtype, this.values(kind))), rows, cols, q.blockSize, q.scaleDtype),
      (v) => v.codes.length + v.scales.length * 8,
    );
  }

  variation(kind: KindRef, expert: number): ExpertVariation {
    return expertVariation(this.seed, kind.key, expert, numelOf(kind.shape));
  }
}
