// The reading points of oQ's contract: where oMLX PR #933's text leaves the prefuse open, each
// named with its alternatives, as data next to the stage contracts (contracts.ts states what the
// text settles). An alternative is a patch of the reference's readings (prefuse/readings.ts), so
// the reference computes the expected output under any of them (alternatives.ts). The release
// gate infers from the cases that separate the alternatives which one a candidate implements
// (src/gate/fingerprint.ts), judges it against that one, and can pin it (src/gate/readings-file.ts).

import { OQ_EXPERT_COUNT_KEYS } from "./prefuse/expert-count.js";
import { EXPERT_LAYOUTS, followsOqPattern } from "./prefuse/layouts.js";
import { DEFAULT_READINGS, type PrefuseReadings, type ReadingPatch } from "./prefuse/readings.js";
import type { Stage } from "./stages.js";

export interface ReadingAlternative {
  readonly id: string;
  /** What a candidate reading the point this way does, in one line. */
  readonly summary: string;
  /** The reference's readings under this alternative. */
  readonly reading: ReadingPatch;
}

export interface ReadingPoint {
  readonly id: string;
  /** The open question, in one line. */
  readonly question: string;
  /** What the contract's source text says, and why that does not settle it. */
  readonly source: string;
  readonly alternatives: readonly ReadingAlternative[];
  /** The alternative this project's reference implements (golden expected files are written under it). */
  readonly reference: string;
}

/** A choice of alternative per point (point id -> alternative id). */
export type ReadingChoice = Readonly<Record<string, string>>;

const [NLE, TC_NLE, NE, TC_NE] = OQ_EXPERT_COUNT_KEYS as readonly [
  (typeof OQ_EXPERT_COUNT_KEYS)[number],
  (typeof OQ_EXPERT_COUNT_KEYS)[number],
  (typeof OQ_EXPERT_COUNT_KEYS)[number],
  (typeof OQ_EXPERT_COUNT_KEYS)[number],
];

/** Only the decoder's own `layers.N` prefixes (`model.layers.3.mlp`, `model.language_model.layers.0.mlp`), not `mtp.layers.N`. */
export const DECODER_LAYERS_ONLY = "^(?:.+\\.)?(?:model|language_model)\\.layers\\.\\d+\\.[^.]+$";

/**
 * The registry's families whose names and orientation are oQ's own (per-expert gate/up/down_proj,
 * fused as rows, no container rename): the layouts the oq-pattern reading knows. Every other family
 * falls back to the default rules, and per-expert names outside these are not scanned.
 */
const OQ_PATTERN_LAYOUTS: readonly string[] = EXPERT_LAYOUTS.filter(followsOqPattern).map((l) => l.name);

export const READING_POINTS: readonly ReadingPoint[] = [
  {
    id: "count-key-order",
    question: "In which order are the four expert-count keys read when several are present?",
    source:
      "PR #933: 'Resolves num_experts from four config locations (num_local_experts / num_experts, top-level or text_config)'. " +
      "oQ's existing chain (omlx/oq.py, universal_quant_predicate) reads num_local_experts, text_config.num_local_experts, num_experts, text_config.num_experts; the PR lists the keys before their scope.",
    alternatives: [
      {
        id: "oq-chain",
        summary: "num_local_experts, text_config.num_local_experts, num_experts, text_config.num_experts",
        reading: { countOrder: [NLE, TC_NLE, NE, TC_NE] },
      },
      {
        id: "pr-listed",
        summary: "num_local_experts, num_experts, then text_config.num_local_experts, text_config.num_experts",
        reading: { countOrder: [NLE, NE, TC_NLE, TC_NE] },
      },
    ],
    reference: "oq-chain",
  },
  {
    id: "count-zero",
    question: "What does an expert count of 0 at a key that comes first mean?",
    source: "PR #933 resolves the count from four locations and no-ops 'on dense models (num_experts unset)'; it does not say whether a falsy 0 counts as set.",
    alternatives: [
      { id: "refuse", summary: "0 is not an expert count: the config is refused (exit non-zero)", reading: { countZero: "refuse" } },
      { id: "skip", summary: "0 is skipped like an absent key (Python's `a or b or ...` chain), the next key decides", reading: { countZero: "skip" } },
      { id: "stop", summary: "the first key present decides: 0 experts, nothing is fused", reading: { countZero: "stop" } },
    ],
    reference: "refuse",
  },
  {
    id: "already-fused",
    question: "Does one already fused layer leave the other layers, or the whole checkpoint, as they are?",
    source:
      "PR #933: 'No-op on dense models (num_experts unset) and already-fused checkpoints — early return, zero scan cost' (per checkpoint), while its scan groups experts per layer.",
    alternatives: [
      { id: "per-layer", summary: "each layer on its own: fused layers stay, per-expert layers are fused", reading: { alreadyFused: "layer" } },
      { id: "whole-checkpoint", summary: "one early return: any fused layer leaves the whole checkpoint as it is", reading: { alreadyFused: "checkpoint" } },
    ],
    reference: "per-layer",
  },
  {
    id: "extra-experts",
    question: "What happens to a layer holding expert ids >= E?",
    source: "PR #933: 'Partial/mismatched layers are left untouched'; whether a layer with every expert 0..E-1 plus more is partial or mismatched is not said.",
    alternatives: [
      { id: "untouched", summary: "the layer is left untouched, per expert", reading: { extraExperts: "untouched" } },
      { id: "fuse-keep", summary: "experts 0..E-1 are fused, the extra ids stay per expert", reading: { extraExperts: "keep" } },
      { id: "fuse-drop", summary: "experts 0..E-1 are fused, the extra ids are removed", reading: { extraExperts: "drop" } },
    ],
    reference: "untouched",
  },
  {
    id: "outside-layers",
    question: "Are experts under prefixes outside the decoder's layers (mtp.layers.N.mlp.experts...) fused?",
    source:
      "PR #933 'Scans once for ...mlp.experts.{n}.(gate|up|down)_proj.weight keys' (any prefix), and writes 'the layout mlx_vlm.qwen3_5_moe.sanitize then splits' (mlx-vlm's sanitize dropped mtp.* at the time).",
    alternatives: [
      { id: "fused", summary: "every prefix is scanned, MTP layers are fused too", reading: { prefixPattern: undefined } },
      { id: "left", summary: "only the decoder's layers.N are fused, MTP layers stay per expert", reading: { prefixPattern: DECODER_LAYERS_ONLY } },
    ],
    reference: "fused",
  },
  {
    id: "mixed-dtypes",
    question: "What happens to a layer whose expert weights mix dtypes (one F32 gate_proj among BF16)?",
    source: "PR #933 stacks the experts with mx.stack, which promotes mixed dtypes; it does not say whether such a layer is 'mismatched'.",
    alternatives: [
      { id: "untouched", summary: "the layer is left untouched, per expert", reading: { mixedDtypes: "untouched" } },
      { id: "promoted", summary: "the layer is fused in F32, every weight promoted (as np/torch/mx.stack do)", reading: { mixedDtypes: "promote" } },
    ],
    reference: "untouched",
  },
  {
    id: "duplicate-ids",
    question: "What happens to a layer holding two tensors for one expert (experts.1 and experts.01)?",
    source:
      "PR #933 parses ids from its regex ('experts.{n}'); two spellings of one number are neither missing nor extra, and the text does not say which one is stacked.",
    alternatives: [
      { id: "untouched", summary: "the layer is left untouched, per expert", reading: { duplicates: "untouched" } },
      { id: "first-name", summary: "the tensor whose name sorts first (experts.01) is fused, the other stays per expert", reading: { duplicates: "first" } },
      {
        id: "last-name",
        summary: "the tensor whose name sorts last (experts.1) is fused, the other stays per expert (a dict keyed by the id, names visited in order)",
        reading: { duplicates: "last" },
      },
    ],
    reference: "untouched",
  },
  {
    id: "n-routed-experts",
    question: "Is n_routed_experts (DeepSeek, GLM) read when none of the four keys is present?",
    source: "PR #933 names four keys, num_local_experts and num_experts at two scopes; n_routed_experts is this project's extension.",
    alternatives: [
      { id: "read", summary: "n_routed_experts (top level, then text_config) is the count after the four keys", reading: { countIgnored: [] } },
      {
        id: "ignored",
        summary: "only the four keys are read: such a checkpoint is dense, nothing changes",
        reading: { countIgnored: ["n_routed_experts", "text_config.n_routed_experts"] },
      },
    ],
    reference: "read",
  },
  {
    id: "family-layouts",
    question: "Are other families' expert names and fused orientations known (Mixtral's w1/w3/w2, Qwen3-VL-MoE's transposed experts)?",
    source:
      "PR #933's pattern is ...mlp.experts.{n}.(gate|up|down)_proj.weight, written as [E, 2I, H] and [E, H, I]; transformers v5 fuses Mixtral's w1/w3 under mlp.experts.gate_up_proj " +
      "and stores Qwen3-VL-MoE's fused experts transposed ([E, H, 2I], [E, I, H]).",
    alternatives: [
      {
        id: "registry",
        summary: "each family's own names and orientation (the layout table): Mixtral fused under mlp.experts, Qwen3-VL-MoE transposed",
        reading: { layouts: undefined },
      },
      {
        id: "oq-pattern",
        summary: "oQ's names and [E, 2I, H] only: Mixtral is left as it is, Qwen3-VL-MoE is fused as [E, 2I, H]",
        reading: { layouts: OQ_PATTERN_LAYOUTS },
      },
    ],
    reference: "registry",
  },
];

/** The stages whose contract is oQ's function, and so has these reading points. */
const OQ_STAGES: readonly Stage[] = ["prefuse", "dequant+prefuse"];

/** The reading points of a stage (none for the stages this project defines on its own). */
export function readingPoints(stage: Stage): readonly ReadingPoint[] {
  return OQ_STAGES.includes(stage) ? READING_POINTS : [];
}

export function readingPoint(id: string): ReadingPoint | undefined {
  return READING_POINTS.find((p) => p.id === id);
}

/** The reference's choice at every point. */
export const REFERENCE_CHOICE: ReadingChoice = Object.fromEntries(READING_POINTS.map((p) => [p.id, p.reference]));

/** The reference's readings under a choice (points not in it keep the reference's alternative). */
export function readingsOf(choice: ReadingChoice): PrefuseReadings {
  let out = DEFAULT_READINGS;
  for (const p of READING_POINTS) {
    const alt = p.alternatives.find((a) => a.id === (choice[p.id] ?? p.reference));
    if (alt === undefined) throw new RangeError(`reading point ${p.id} has no alternative '${choice[p.id]}'`);
    out = { ...out, ...alt.reading };
  }
  return out;
}

/** `point=alternative` pairs, for lines and reasons. */
export function formatChoice(choice: ReadingChoice): string {
  return Object.entries(choice)
    .map(([p, a]) => `${p}=${a}`)
    .join(", ");
}
