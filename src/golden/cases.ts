// The golden corpus, as definitions: `moe-prefuse golden update` rebuilds corpus/golden from this
// list (inputs from the fixture generator or the committed FP8 oracle cases, expected outputs
// from the reference or the oracle), deterministically. Adding a case is adding an entry here
// and running the update. Inputs stay tiny (a few KB; the Qwen3.5 families carry ~35 KB of
// attention and vision tensors whatever the expert sizes) except where E = 128 is the point.

import type { FamilyName } from "../fixtures-gen/families.js";
import type { FixtureSpec } from "../fixtures-gen/spec.js";
import type { CaseDefinition } from "./build.js";

/** Qwen3.5-MoE, the VLM of the oQ fix (PR #933): one decoder MoE layer and one MTP MoE layer. */
const QWEN35: FixtureSpec = { family: "qwen3_5_moe", layers: 1, mtpLayers: 1, hidden: 4, intermediate: 2, vocab: 8 };
const TINY = { hidden: 4, intermediate: 2, vocab: 8 } as const;

const OQ_PLAN = "oq-test-plan";

/** The oQ fix's own test plan (tests/test_oq.py::TestPrefuseMoeExpertsForVlm), one case per scenario. */
const OQ_TEST_PLAN: CaseDefinition[] = [
  {
    id: "y_prefuse-oq-fuses-per-expert",
    description:
      "oQ test plan 'fuses per-expert layout end-to-end': every per-expert layer of a Qwen3.5-MoE checkpoint (decoder and MTP) becomes experts.gate_up_proj [E, 2I, H] and experts.down_proj [E, H, I]; all other tensors pass through.",
    stage: "prefuse",
    outcome: "transform",
    features: [OQ_PLAN, "per-expert"],
    input: { kind: "generated", spec: { ...QWEN35, seed: 1, experts: 8 } },
  },
  {
    id: "y_prefuse-oq-round-trip",
    description:
      "oQ test plan 'round-trip split': splitting each expected gate_up_proj in two along axis -2 (mx.split(fused, 2, axis=-2)) gives back every expert's gate and up bytes; I=3 and H=5 differ so a transposed or interleaved concat shows.",
    stage: "prefuse",
    outcome: "transform",
    features: [OQ_PLAN, "round-trip"],
    input: { kind: "generated", spec: { ...QWEN35, seed: 2, experts: 6, hidden: 5, intermediate: 3 } },
  },
  {
    id: "n_prefuse-oq-already-fused",
    description: "oQ test plan 'no-op on already-fused checkpoints': every MoE layer is already experts.gate_up_proj / down_proj; the output equals the input.",
    stage: "prefuse",
    outcome: "untouched",
    features: [OQ_PLAN, "already-fused"],
    input: { kind: "generated", spec: { ...QWEN35, seed: 3, experts: 8, variants: [{ kind: "fused" }] } },
  },
  {
    id: "n_prefuse-oq-dense",
    description: "oQ test plan 'no-op on dense models': no experts and no expert count; the output equals the input.",
    stage: "prefuse",
    outcome: "untouched",
    features: [OQ_PLAN, "dense"],
    input: { kind: "generated", spec: { ...QWEN35, seed: 4, variants: [{ kind: "dense" }] } },
  },
  {
    id: "n_prefuse-oq-partial-layer",
    description:
      "oQ test plan 'partial layer left untouched': the only MoE layer lacks expert 3 (of 4); it stays per expert, bit for bit, so the downstream sanitize fails clearly instead of loading zeros.",
    stage: "prefuse",
    outcome: "untouched",
    features: [OQ_PLAN, "partial"],
    input: {
      kind: "generated",
      spec: { ...QWEN35, mtpLayers: 0, seed: 5, experts: 4, variants: [{ kind: "partial", defect: "drop-expert", layer: 0, expert: 3 }] },
    },
  },
  ...(["num_local_experts", "text_config.num_local_experts", "num_experts", "text_config.num_experts"] as const).map(
    (key, k): CaseDefinition => ({
      id: `y_prefuse-oq-count-${key}`,
      description: `oQ test plan 'four num_experts config fallbacks': the expert count is stated only at ${key}; the checkpoint is fused as usual.`,
      stage: "prefuse",
      outcome: "transform",
      features: [OQ_PLAN, "config-key"],
      input: { kind: "generated", spec: { ...QWEN35, seed: 10 + k, experts: 5, variants: [{ kind: "count-key", keys: [{ key }] }] } },
    }),
  ),
  {
    id: "y_prefuse-oq-20-experts-chunk-spill",
    description:
      "oQ test plan '20-expert stack spills across the 16-expert chunk boundary': experts 16..19 land after 0..15, in numeric order (10 after 9, not after 1).",
    stage: "prefuse",
    outcome: "transform",
    features: [OQ_PLAN],
    input: { kind: "generated", spec: { ...QWEN35, seed: 6, experts: 20 } },
  },
];

const EXPERT_COUNTS: CaseDefinition[] = [
  {
    id: "y_prefuse-e1-qwen3_moe",
    description: "A single expert (E = 1): gate_up_proj [1, 2I, H]; Qwen3-MoE's dense layer 0 passes through.",
    stage: "prefuse",
    outcome: "transform",
    features: ["expert-count"],
    input: { kind: "generated", spec: { family: "qwen3_moe", ...TINY, seed: 20, experts: 1, layers: 2 } },
  },
  {
    id: "y_prefuse-e16-olmoe",
    description: "Exactly one chunk of 16 experts (OLMoE, two MoE layers).",
    stage: "prefuse",
    outcome: "transform",
    features: ["expert-count"],
    input: { kind: "generated", spec: { family: "olmoe", ...TINY, seed: 21, experts: 16, layers: 2 } },
  },
  {
    id: "y_prefuse-e17-qwen3_moe",
    description: "17 experts: the second chunk holds one expert, the off-by-one case of a 16-expert stack.",
    stage: "prefuse",
    outcome: "transform",
    features: ["expert-count"],
    input: { kind: "generated", spec: { family: "qwen3_moe", ...TINY, seed: 22, experts: 17, layers: 2 } },
  },
  {
    id: "y_prefuse-e128-qwen3_5_moe",
    description: "128 experts, the count of tiny-random/qwen3.5-moe: eight full chunks, expert ids up to three digits in numeric order.",
    stage: "prefuse",
    outcome: "transform",
    features: ["expert-count"],
    input: { kind: "generated", spec: { ...QWEN35, mtpLayers: 0, seed: 23, experts: 128, hidden: 2, intermediate: 1 } },
  },
  {
    id: "y_prefuse-e33-olmoe-f32",
    description: "33 experts in F32 (two full chunks and a spill of one), so a dtype change or a seam error shows on a wider element.",
    stage: "prefuse",
    outcome: "transform",
    features: ["expert-count", "dtype"],
    input: { kind: "generated", spec: { family: "olmoe", ...TINY, seed: 24, experts: 33, layers: 1, dtype: "F32" } },
  },
];

const CONFIG_KEYS: CaseDefinition[] = [
  {
    id: "y_prefuse-count-conflict-first-wins",
    description:
      "Conflicting counts: text_config.num_local_experts = 6 (right) comes before num_experts = 9 in oQ's order, so 6 wins and every layer fuses; reading num_experts first finds experts missing.",
    stage: "prefuse",
    outcome: "transform",
    features: ["config-key", "conflict"],
    input: {
      kind: "generated",
      spec: {
        ...QWEN35,
        seed: 30,
        experts: 6,
        variants: [{ kind: "count-key", keys: [{ key: "text_config.num_local_experts" }, { key: "num_experts", value: 9 }] }],
      },
    },
  },
  {
    id: "n_prefuse-count-conflict-first-is-wrong",
    description:
      "Conflicting counts: num_local_experts = 5 comes first in oQ's order and wins over text_config.num_experts = 6 (the true count), so expert 5 is an id >= E and every layer stays untouched.",
    stage: "prefuse",
    outcome: "untouched",
    features: ["config-key", "conflict"],
    input: {
      kind: "generated",
      spec: {
        ...QWEN35,
        seed: 31,
        experts: 6,
        variants: [{ kind: "count-key", keys: [{ key: "num_local_experts", value: 5 }, { key: "text_config.num_experts" }] }],
      },
    },
  },
  {
    id: "n_prefuse-count-order-text-config-first",
    description:
      "num_experts = 5 (right) and text_config.num_local_experts = 6: oQ's chain reads text_config.num_local_experts first, so expert 5 is missing and the layer stays untouched; the order the PR lists the keys in (num_experts before text_config) fuses it (reading point count-key-order).",
    stage: "prefuse",
    outcome: "untouched",
    features: ["config-key", "conflict"],
    input: {
      kind: "generated",
      spec: {
        ...QWEN35,
        mtpLayers: 0,
        seed: 33,
        experts: 5,
        variants: [{ kind: "count-key", keys: [{ key: "num_experts" }, { key: "text_config.num_local_experts", value: 6 }] }],
      },
    },
  },
  {
    id: "n_prefuse-count-zero",
    description:
      "num_local_experts = 0 before num_experts = 4: the reference refuses a count of 0; Python's `or` chain skips it and fuses with 4, a first-present rule stops at it and changes nothing (reading point count-zero).",
    stage: "prefuse",
    outcome: "error",
    features: ["config-key"],
    input: {
      kind: "generated",
      spec: {
        ...QWEN35,
        mtpLayers: 0,
        seed: 34,
        experts: 4,
        variants: [{ kind: "count-key", keys: [{ key: "num_local_experts", value: 0 }, { key: "num_experts" }] }],
      },
    },
  },
  {
    id: "n_prefuse-count-missing",
    description: "Per-expert tensors but no expert count anywhere in config.json: treated as dense, nothing changes.",
    stage: "prefuse",
    outcome: "untouched",
    features: ["config-key", "dense"],
    input: { kind: "generated", spec: { ...QWEN35, seed: 32, experts: 4, variants: [{ kind: "count-key", keys: [] }] } },
  },
];

const PARTIAL: CaseDefinition[] = [
  {
    id: "y_prefuse-partial-drop-projection",
    description: "Layer 1 lacks expert 2's down_proj: that layer stays per expert, bit for bit; layer 0 and the MTP layer fuse.",
    stage: "prefuse",
    outcome: "transform",
    features: ["partial"],
    input: {
      kind: "generated",
      spec: { ...QWEN35, layers: 2, seed: 40, experts: 4, variants: [{ kind: "partial", defect: "drop-projection", layer: 1, expert: 2, projection: "down" }] },
    },
  },
  {
    id: "y_prefuse-partial-wrong-shape",
    description: "One up_proj of Qwen3-MoE's layer 3 has an extra row: layer 3 stays untouched (SHAPE_MISMATCH), layer 1 fuses.",
    stage: "prefuse",
    outcome: "transform",
    features: ["partial"],
    input: {
      kind: "generated",
      spec: {
        family: "qwen3_moe",
        ...TINY,
        seed: 41,
        experts: 5,
        layers: 4,
        variants: [{ kind: "partial", defect: "wrong-shape", layer: 3, expert: 1, projection: "up" }],
      },
    },
  },
  {
    id: "y_prefuse-partial-wrong-dtype",
    description:
      "One gate_proj of OLMoE's layer 0 is F32 among BF16 tensors: the reference leaves layer 0 untouched (DTYPE_MISMATCH) and fuses layer 1 in BF16; what oQ does with mixed dtypes is the reading point mixed-dtypes (untouched, or fused promoted to F32).",
    stage: "prefuse",
    outcome: "transform",
    features: ["partial", "dtype"],
    input: {
      kind: "generated",
      spec: {
        family: "olmoe",
        ...TINY,
        seed: 42,
        experts: 4,
        layers: 2,
        variants: [{ kind: "partial", defect: "wrong-dtype", layer: 0, expert: 0, projection: "gate" }],
      },
    },
  },
  {
    id: "y_prefuse-extra-expert",
    description: "The MTP layer also holds expert 4 of E = 4 (an id >= E): it stays untouched (UNEXPECTED_EXPERT), the decoder layer fuses.",
    stage: "prefuse",
    outcome: "transform",
    features: ["partial", "mtp"],
    input: { kind: "generated", spec: { ...QWEN35, seed: 43, experts: 4, variants: [{ kind: "extra-expert", layer: "mtp.0", id: 4 }] } },
  },
  {
    id: "y_prefuse-duplicate-ids",
    description:
      "Layer 0 holds expert 1 twice, as experts.1 and experts.01 (other values): the reference leaves it untouched (DUPLICATE_EXPERT) and fuses layer 1; which one a dict keyed by the id would stack is the reading point duplicate-ids.",
    stage: "prefuse",
    outcome: "transform",
    features: ["partial"],
    input: { kind: "generated", spec: { ...QWEN35, mtpLayers: 0, layers: 2, seed: 46, experts: 3, variants: [{ kind: "duplicate-expert", layer: 0, id: 1 }] } },
  },
  {
    id: "y_prefuse-partial-drop-expert-mtp",
    description: "The MTP layer lacks expert 0: it stays untouched, the decoder layer fuses.",
    stage: "prefuse",
    outcome: "transform",
    features: ["partial", "mtp"],
    input: { kind: "generated", spec: { ...QWEN35, seed: 44, experts: 3, variants: [{ kind: "partial", defect: "drop-expert", layer: "mtp.0", expert: 0 }] } },
  },
  {
    id: "y_prefuse-mixed-fused-and-per-expert",
    description: "Layer 0 is already fused, layer 1 and the MTP layer are per expert: only the per-expert layers change.",
    stage: "prefuse",
    outcome: "transform",
    features: ["already-fused"],
    input: { kind: "generated", spec: { ...QWEN35, layers: 2, seed: 45, experts: 4, variants: [{ kind: "fused", layer: 0 }] } },
  },
];

const FAMILIES: CaseDefinition[] = [
  {
    id: "y_prefuse-qwen3_moe-mlp-only-layers",
    description: "Qwen3-MoE with mlp_only_layers [1] and decoder_sparse_step 2: only layer 3 has experts; the dense MLPs pass through.",
    stage: "prefuse",
    outcome: "transform",
    features: ["dense-layers"],
    input: { kind: "generated", spec: { family: "qwen3_moe", ...TINY, seed: 50, experts: 4, layers: 4, mlpOnlyLayers: [1] } },
  },
  {
    id: "y_prefuse-deepseek_v3-num_experts",
    description:
      "DeepSeek-V3 naming (gate/up/down_proj, shared experts, F32 router bias) with the count at num_experts, a key oQ reads: fused like any transformers-v5 family.",
    stage: "prefuse",
    outcome: "transform",
    features: ["config-key"],
    input: {
      kind: "generated",
      spec: { family: "deepseek_v3", ...TINY, seed: 51, experts: 6, layers: 2, variants: [{ kind: "count-key", keys: [{ key: "num_experts" }] }] },
    },
  },
  {
    id: "y_prefuse-deepseek_v3-n_routed_experts",
    description:
      "DeepSeek-V3 as released: the count only at n_routed_experts, which oQ's four keys do not include (reading point n-routed-experts: ignored, dense, no-op); the reference reads it and fuses.",
    stage: "prefuse",
    outcome: "transform",
    features: ["config-key", "n_routed_experts"],
    input: { kind: "generated", spec: { family: "deepseek_v3", ...TINY, seed: 52, experts: 18, layers: 2 } },
  },
  {
    id: "y_prefuse-mixtral",
    description:
      "Mixtral's w1/w3/w2 naming is outside oQ's pattern (reading point family-layouts: oq-pattern, no-op); the reference fuses w1 then w3 under transformers v5's mlp.experts names.",
    stage: "prefuse",
    outcome: "transform",
    features: ["naming"],
    input: { kind: "generated", spec: { family: "mixtral", ...TINY, seed: 53, experts: 8, layers: 2 } },
  },
  {
    id: "y_prefuse-qwen3_vl_moe-per-expert",
    description:
      "Qwen3-VL-MoE stores fused experts transposed ([E, H, 2I], [E, I, H]); oQ's pattern would write [E, 2I, H] (reading point family-layouts: oq-pattern). The reference writes the family's transposed layout.",
    stage: "prefuse",
    outcome: "transform",
    features: ["transposed"],
    input: { kind: "generated", spec: { family: "qwen3_vl_moe", ...TINY, seed: 54, experts: 5, layers: 1 } },
  },
];

const SWITCH_MLP: CaseDefinition[] = [
  {
    id: "y_switch_mlp-qwen3_5_moe-per-expert",
    description: "Per-expert straight to mlx-vlm's final layout: switch_mlp.{gate,up,down}_proj.weight [E, I, H], [E, I, H], [E, H, I], 17 experts.",
    stage: "switch_mlp",
    outcome: "transform",
    features: ["switch_mlp"],
    input: { kind: "generated", spec: { ...QWEN35, seed: 60, experts: 17 } },
  },
  {
    id: "y_switch_mlp-qwen3_5_moe-from-fused",
    description: "Round trip: already-fused layers split as mlx-vlm's sanitize does (gate = gate_up[..., :I, :], up = gate_up[..., I:, :], down as is).",
    stage: "switch_mlp",
    outcome: "transform",
    features: ["switch_mlp", "round-trip", "already-fused"],
    input: { kind: "generated", spec: { ...QWEN35, seed: 61, experts: 6, hidden: 5, intermediate: 3, variants: [{ kind: "fused" }] } },
  },
  {
    id: "y_switch_mlp-qwen3_vl_moe-from-fused",
    description: "Qwen3-VL-MoE's transposed fused experts: gate_up [E, H, 2I] split along the last axis, then transpose(0, 2, 1); down [E, I, H] transposed.",
    stage: "switch_mlp",
    outcome: "transform",
    features: ["switch_mlp", "transposed", "round-trip"],
    input: {
      kind: "generated",
      spec: { family: "qwen3_vl_moe", ...TINY, hidden: 3, intermediate: 2, seed: 62, experts: 4, layers: 2, variants: [{ kind: "fused" }] },
    },
  },
  {
    id: "y_switch_mlp-qwen3_vl_moe-per-expert",
    description: "Qwen3-VL-MoE per expert to switch_mlp: stacked as they are, no transpose.",
    stage: "switch_mlp",
    outcome: "transform",
    features: ["switch_mlp", "transposed"],
    input: { kind: "generated", spec: { family: "qwen3_vl_moe", ...TINY, hidden: 3, intermediate: 2, seed: 63, experts: 3, layers: 1 } },
  },
  {
    id: "y_switch_mlp-mixtral",
    description: "Mixtral to mlx-lm's block_sparse_moe.switch_mlp: w1 -> gate_proj, w3 -> up_proj, w2 -> down_proj, float16.",
    stage: "switch_mlp",
    outcome: "transform",
    features: ["switch_mlp", "naming"],
    input: { kind: "generated", spec: { family: "mixtral", ...TINY, seed: 64, experts: 8, layers: 2 } },
  },
  {
    id: "y_switch_mlp-partial",
    description: "switch_mlp with one layer missing an up_proj: that layer stays per expert, the others are stacked.",
    stage: "switch_mlp",
    outcome: "transform",
    features: ["switch_mlp", "partial"],
    input: {
      kind: "generated",
      spec: {
        family: "olmoe",
        ...TINY,
        seed: 65,
        experts: 4,
        layers: 2,
        variants: [{ kind: "partial", defect: "drop-projection", layer: 1, expert: 0, projection: "up" }],
      },
    },
  },
];

/**
 * One case per registry family and target. The switch_mlp stage writes each family's MLX names
 * (its loader's sanitize output). In the prefuse stage (fused target) a family named or counted
 * otherwise than oQ's pattern is a y_ case its reading points decide (family-layouts,
 * n-routed-experts: its case.json names them); a family whose experts are not gated per-expert
 * or fused tensors, or whose count no point covers, lies outside oQ's contract: an open (i_) case.
 */
type RegistryCase = readonly [family: FamilyName, prefuse: "y" | "n" | "i", switchMlp: "y" | "n", fusedInput: boolean, what: string];

const REGISTRY_CASES: readonly RegistryCase[] = [
  ["phimoe", "y", "y", false, "w1/w3/w2 under block_sparse_moe, fused under transformers v5's mlp; mlx-lm stacks into block_sparse_moe.switch_mlp"],
  ["minimax", "y", "y", false, "model_type minimax_m2 (an alias of minimax in both MLX loaders), mixtral naming"],
  ["kimi_linear", "y", "y", false, "mlx-lm moves the stack from block_sparse_moe to mlp.switch_mlp; transformers v5 defines no fused form (generic names)"],
  ["lfm2_moe", "y", "y", false, "w1/w3/w2 under feed_forward, kept there by both targets"],
  ["arctic", "y", "y", false, "mixtral naming, no MLX loader and no transformers v5 form: default names, with warnings"],
  ["qwen2_moe", "y", "y", false, "oQ's names and num_experts, with a shared expert"],
  ["qwen3_next", "y", "y", false, "oQ's names and num_experts (mlx-lm's sanitize caveat is a plan warning)"],
  ["hunyuan_v1_moe", "y", "y", false, "oQ's names and num_experts"],
  ["bailing_moe", "y", "y", false, "oQ's names and num_experts; no transformers v5 form (generic names)"],
  ["deepseek_v2", "y", "y", false, "n_routed_experts, which oQ does not read"],
  ["glm4_moe", "y", "y", false, "n_routed_experts, router correction bias"],
  ["glm4v_moe", "y", "y", false, "text_config.n_routed_experts of a VLM"],
  ["ernie4_5_moe", "i", "y", false, "moe_num_experts (read after oQ's keys)"],
  ["dots1", "y", "y", false, "its SwitchGLU is named experts: mlp.experts.{gate,up,down}_proj"],
  ["afmoe", "y", "y", false, "oQ's names and num_experts; MLX stack named mlp.experts.{gate,up,down}_proj"],
  ["qwen3_omni_moe", "i", "y", false, "the thinker's count at thinker_config.text_config.num_experts, layers under thinker."],
  ["gemma4", "n", "y", true, "released fused directly under the layer ({L}.experts.gate_up_proj [E, 2I, H]); MLX splits rows into {L}.experts.switch_glu"],
  [
    "llama4",
    "n",
    "y",
    true,
    "released fused transposed (feed_forward.experts.gate_up_proj [E, H, 2I]); mlx-lm splits the last axis into feed_forward.experts.{proj}",
  ],
  ["gpt_oss", "i", "n", true, "released fused with gate and up interleaved plus biases: already fused for transformers, INTERLEAVED for the switch target"],
  ["nemotron_h", "i", "y", false, "non-gated experts under backbone.layers.{l}.mixer: NON_GATED in the fused target, switch_mlp.fc1 (up) / fc2 (down) for MLX"],
  ["granitemoe", "i", "n", false, "experts stacked as block_sparse_moe.input_linear [E, 2I, H] / output_linear: STACKED_OTHER_NAME in both targets"],
  ["jetmoe", "i", "n", false, "experts stacked as mlp.input_linear / output_linear: STACKED_OTHER_NAME"],
  ["dbrx", "i", "n", false, "transformer.blocks.{l}.ffn.experts.mlp.{w1,v1,w2} [E*I, H], count at ffn_config.moe_num_experts: STACKED_OTHER_NAME"],
  ["step3p5", "i", "n", false, "moe.{gate,up,down}_proj [E, ...] stacked, count at moe_num_experts: STACKED_OTHER_NAME"],
];

const OUTCOME_OF = { y: "transform", n: "untouched", i: "open" } as const;

const REGISTRY: CaseDefinition[] = REGISTRY_CASES.flatMap(([family, prefuse, switchMlp, fusedInput, what], k): CaseDefinition[] => {
  const spec: FixtureSpec = {
    family,
    ...TINY,
    seed: 80 + k,
    experts: k % 4 === 0 ? 17 : 3 + (k % 3),
    layers: 1,
    ...(fusedInput ? { variants: [{ kind: "fused" }] } : {}),
  };
  const input = { kind: "generated", spec } as const;
  return [
    {
      id: `${prefuse}_prefuse-${family}`,
      description: `${family} (fused target): ${what}.`,
      stage: "prefuse",
      outcome: OUTCOME_OF[prefuse],
      features: ["registry"],
      input,
    },
    {
      id: `${switchMlp}_switch_mlp-${family}`,
      description: `${family} (switch_mlp target): ${what}.`,
      stage: "switch_mlp",
      outcome: OUTCOME_OF[switchMlp],
      features: ["registry", "switch_mlp"],
      input,
    },
  ];
});

/** The FP8 cases written by ci/oracles/fp8_dequant_oracle.py (corpus/fp8), as corpus cases. */
const FP8_ORACLE_CASES: CaseDefinition[] = [
  [
    "fp8-e4m3-blocks",
    "E4M3 with F32 and BF16 block scales, partial blocks (130 x 200 over 128 x 128), every FP8 code, subnormal and overflowing products, a negative scale, an activation scale dropped",
  ],
  ["fp8-e5m2-e8m0", "E5M2 weights with E8M0 scales (F8_E8M0 and U8), 32 x 64 blocks over 70 x 100 and 33 x 64, a NaN scale"],
  ["compressed-tensors-channel", "llm-compressor's compressed-tensors FP8, one BF16 scale per output channel, input_scale dropped, lm_head ignored"],
  ["quark-per-block", "AMD Quark per-block FP8 (weight_scale, not _scale_inv), 200 x 130 over 128 x 128 blocks"],
].map(([name, what]) => ({
  id: `y_dequant-oracle-${name}`,
  description: `FP8 dequantization, expected output computed by the numpy oracle: ${what}.`,
  stage: "dequant",
  outcome: "transform",
  features: ["oracle"],
  input: { kind: "fp8-oracle-case", name: name! },
  expectedBy: "fp8-oracle",
}));

const FP8_GENERATED: CaseDefinition[] = [
  {
    id: "y_dequant-qwen3_5_moe_fp8",
    description:
      "Qwen3.5-MoE block-FP8 as the official releases (BF16 weight_scale_inv), 2 x 3 blocks over 2 x 5 and 5 x 2 experts (partial blocks); expected by the numpy oracle.",
    stage: "dequant",
    outcome: "transform",
    features: ["oracle", "partial-block"],
    input: {
      kind: "generated",
      spec: { family: "qwen3_5_moe_fp8", ...TINY, hidden: 5, seed: 70, experts: 3, layers: 1, mtpLayers: 0, fp8: { blockSize: [2, 3] } },
    },
    expectedBy: "fp8-oracle",
  },
  {
    id: "y_dequant+prefuse-qwen3_5_moe_fp8",
    description: "oQ's whole FP8 path: dequantize (numpy oracle) then fuse (reference), 17 experts with partial blocks; the bug of PR #933 starts here.",
    stage: "dequant+prefuse",
    outcome: "transform",
    features: ["oracle", "partial-block"],
    input: {
      kind: "generated",
      spec: { family: "qwen3_5_moe_fp8", ...TINY, hidden: 5, seed: 71, experts: 17, layers: 1, mtpLayers: 1, fp8: { blockSize: [3, 2] } },
    },
    expectedBy: "fp8-oracle",
  },
  {
    id: "y_dequant+prefuse-qwen3_moe-f32-scales",
    description: "Qwen3-MoE block-FP8 with F32 scales (DeepSeek style), 128 x 128 blocks larger than every weight: one partial block per weight.",
    stage: "dequant+prefuse",
    outcome: "transform",
    features: ["oracle", "partial-block"],
    input: { kind: "generated", spec: { family: "qwen3_moe", ...TINY, seed: 72, experts: 5, layers: 2, fp8: { scaleDtype: "F32" } } },
    expectedBy: "fp8-oracle",
  },
  {
    id: "y_dequant+prefuse-partial-wrong-shape",
    description:
      "FP8 with one expert's down_proj a row short of the others: dequantized, then that layer stays per expert (SHAPE_MISMATCH) while the MTP layer fuses.",
    stage: "dequant+prefuse",
    outcome: "transform",
    features: ["oracle", "partial"],
    input: {
      kind: "generated",
      spec: {
        family: "qwen3_5_moe_fp8",
        ...TINY,
        seed: 73,
        experts: 3,
        layers: 1,
        mtpLayers: 1,
        fp8: { blockSize: [2, 2] },
        variants: [{ kind: "partial", defect: "wrong-shape", layer: 0, expert: 1, projection: "down", shape: [3, 2] }],
      },
    },
    expectedBy: "fp8-oracle",
  },
  {
    id: "y_dequant+prefuse-signed-zeros-and-nans",
    description:
      "FP8 experts of 64 x 64, each its kind's base with the expert's own sign pattern, so their codes hold -0 (0x80), negatives rounded to -0 and NaNs of both signs (0x7F, 0xFF): dequantized, every -0 stays 0x8000 and every NaN is 0x7FC0, so a candidate that writes +0 for -0 or keeps a NaN's sign fails the bit-exact compare.",
    stage: "dequant+prefuse",
    outcome: "transform",
    features: ["oracle", "signed-zero", "nan"],
    input: {
      kind: "generated",
      spec: { family: "qwen3_moe", hidden: 64, intermediate: 64, vocab: 8, seed: 75, experts: 2, layers: 2, fp8: { blockSize: [32, 48] } },
    },
    expectedBy: "fp8-oracle",
  },
  {
    id: "n_dequant-missing-scale",
    description:
      "An FP8 expert weight without its weight_scale_inv: the dequantization refuses the checkpoint (WEIGHT_WITHOUT_SCALE) rather than guess a scale.",
    stage: "dequant",
    outcome: "error",
    features: ["partial"],
    input: {
      kind: "generated",
      spec: {
        family: "qwen3_5_moe_fp8",
        ...TINY,
        seed: 74,
        experts: 2,
        layers: 1,
        mtpLayers: 0,
        fp8: { blockSize: [2, 2] },
        variants: [{ kind: "partial", defect: "drop-scale", layer: 0, expert: 1, projection: "gate" }],
      },
    },
  },
];

export const GOLDEN_CASES: readonly CaseDefinition[] = [
  ...OQ_TEST_PLAN,
  ...EXPERT_COUNTS,
  ...CONFIG_KEYS,
  ...PARTIAL,
  ...FAMILIES,
  ...SWITCH_MLP,
  ...REGISTRY,
  ...FP8_ORACLE_CASES,
  ...FP8_GENERATED,
];
