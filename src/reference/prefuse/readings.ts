// Readings: the choices where oQ's contract (oMLX PR #933's text) leaves the prefuse open, as
// data that parameterises the reference's plan. Each field is one decision the plan makes; the
// defaults are this project's own reading, so a plan without readings is the reference's. The
// reading points (../reading-points.ts) name the points, their alternatives and the fields each
// alternative sets; ../alternatives.ts runs the reference once per alternative.

import { type CountLookup, EXPERT_COUNT_KEYS, type ExpertCountKey } from "./expert-count.js";

export interface PrefuseReadings {
  /** Count keys read first, in this order; every other known key follows in the default order. */
  readonly countOrder: readonly ExpertCountKey[];
  /** Count keys not read at all (e.g. this project's extension n_routed_experts). */
  readonly countIgnored: readonly ExpertCountKey[];
  /** What a count of 0 means (CountLookup.zero). */
  readonly countZero: CountLookup["zero"];
  /**
   * A fused tensor under one layer prefix leaves `layer` that layer alone; `checkpoint` leaves
   * the whole checkpoint alone ("no-op on ... already-fused checkpoints — early return").
   */
  readonly alreadyFused: "layer" | "checkpoint";
  /**
   * A layer holding expert ids >= E: left `untouched`; or experts 0..E-1 fused and the extras
   * kept per expert (`keep`) or removed (`drop`).
   */
  readonly extraExperts: "untouched" | "keep" | "drop";
  /**
   * Layer prefixes that are scanned at all, as a regular expression source; others are left per
   * expert (e.g. only the decoder's `layers.N`, not `mtp.layers.N`). Undefined: every prefix.
   */
  readonly prefixPattern?: string;
  /** Registry names of the layouts known (the rest fall back to the default); undefined: all. */
  readonly layouts?: readonly string[];
  /**
   * A layer whose expert weights mix dtypes: left `untouched`, or fused after promoting every
   * weight to the common dtype (`promote`: F32, the promotion of any two of BF16, F16, F32 in
   * numpy, torch and MLX).
   */
  readonly mixedDtypes: "untouched" | "promote";
  /**
   * Two tensors for one expert and projection (`experts.1` and `experts.01`): the layer is left
   * `untouched`, or the one whose name sorts `first` (bytewise) or `last` is fused and the other
   * stays as it is (what a dict keyed by the numeric id keeps, visiting names in sorted order).
   */
  readonly duplicates: "untouched" | "first" | "last";
}

export const DEFAULT_READINGS: PrefuseReadings = {
  countOrder: EXPERT_COUNT_KEYS,
  countIgnored: [],
  countZero: "refuse",
  alreadyFused: "layer",
  extraExperts: "untouched",
  mixedDtypes: "untouched",
  duplicates: "untouched",
};

/** A partial reading, as an alternative states it. */
export type ReadingPatch = Partial<PrefuseReadings>;

/** The count lookup a reading makes: its order first, then the other keys, without the ignored ones. */
export function countLookupOf(r: PrefuseReadings): CountLookup {
  const keys = [...r.countOrder, ...EXPERT_COUNT_KEYS.filter((k) => !r.countOrder.includes(k))].filter((k) => !r.countIgnored.includes(k));
  return { keys, zero: r.countZero, ignored: r.countIgnored };
}
