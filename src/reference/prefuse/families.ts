// The family registry: one entry per config `model_type` (aliases included) saying how its
// checkpoints store experts and what each target must write for it, read from the loaders'
// own source. Every entry cites the files it was read from (repository, path, commit):
//   mlx-lm  ml-explore/mlx-lm  d78bf58e217c904ec282ed8da9b947491f78c022 (2026-08-22)
//   mlx-vlm Blaizzy/mlx-vlm    9b13f522a7f1d214f426c67bb292c9e1065e9108 (2026-08-22)
//   transformers v5 huggingface/transformers src/transformers/conversion_mapping.py
//           000c33fdfde12e1ffafbfcdb3c926df5727a00b6 (the fused target's names)
// Each loader's `sanitize` is quoted as the formula it applies; names are relative to the
// expert module's parent `{L}` (the layer root, whatever its prefix: `model.layers.{l}`,
// `model.language_model.layers.{l}`, `mtp.layers.{l}`, `thinker.model.layers.{l}`...): loaders
// rename those prefixes on every load, so the targets keep the checkpoint's own.

import type { ExpertLayout, SourceRef } from "./layouts.js";

const MLX_LM = "ml-explore/mlx-lm";
const MLX_VLM = "Blaizzy/mlx-vlm";
const TRANSFORMERS = "huggingface/transformers";
const MLX_LM_COMMIT = "d78bf58e217c904ec282ed8da9b947491f78c022";
const MLX_VLM_COMMIT = "9b13f522a7f1d214f426c67bb292c9e1065e9108";
const TF_COMMIT = "000c33fdfde12e1ffafbfcdb3c926df5727a00b6";

const lm = (file: string): SourceRef => ({ repo: MLX_LM, path: `mlx_lm/models/${file}`, commit: MLX_LM_COMMIT });
const vlm = (file: string): SourceRef => ({ repo: MLX_VLM, path: `mlx_vlm/models/${file}`, commit: MLX_VLM_COMMIT });
const tf = (file = "conversion_mapping.py"): SourceRef => ({ repo: TRANSFORMERS, path: `src/transformers/${file}`, commit: TF_COMMIT });
const LM_REMAP: SourceRef = { repo: MLX_LM, path: "mlx_lm/utils.py", commit: MLX_LM_COMMIT };

const GATE_UP_DOWN = { gate: "gate_proj", up: "up_proj", down: "down_proj" } as const;
const W1_W3_W2 = { gate: "w1", up: "w3", down: "w2" } as const;
const AFFINE = ["scales", "biases"] as const;

/** Unknown model types: oQ's `...experts.{n}.(gate|up|down)_proj.weight`, fused as `[E, 2I, H]`, MLX's `switch_mlp`. */
export const DEFAULT_LAYOUT: ExpertLayout = {
  name: "default",
  modelTypes: [],
  storage: "per-expert",
  perExpert: GATE_UP_DOWN,
  module: "mlp",
  countKeys: [],
  orientation: "rows",
  fusedBy: undefined,
  switchModule: "switch_mlp",
  switchProjections: GATE_UP_DOWN,
  mlxStacks: AFFINE,
  mlxLoader: undefined,
  sources: [],
};

/** A per-expert `mlp.experts.{e}.{gate,up,down}_proj` family stacked into `mlp.switch_mlp` (qwen2_moe's rules). */
const QWEN2_MOE_LIKE: ExpertLayout = { ...DEFAULT_LAYOUT, fusedBy: tf() };
/** Mixtral's `block_sparse_moe.experts.{e}.{w1,w3,w2}`, fused by transformers v5 under `mlp` (its `.block_sparse_moe` -> `.mlp` rename). */
const MIXTRAL_LIKE: ExpertLayout = {
  ...DEFAULT_LAYOUT,
  perExpert: W1_W3_W2,
  module: "block_sparse_moe",
  fusedContainer: { from: "block_sparse_moe", to: "mlp" },
  fusedBy: tf(),
};

export const FAMILY_REGISTRY: readonly ExpertLayout[] = [
  // mixtral.py sanitize: block_sparse_moe.experts.{e}.{w1,w2,w3}.{weight,scales,biases} ->
  // block_sparse_moe.switch_mlp.{gate,down,up}_proj.* = stack over num_local_experts.
  {
    ...MIXTRAL_LIKE,
    name: "mixtral",
    modelTypes: ["mixtral"],
    countKeys: ["num_local_experts"],
    mlxLoader: "mlx-lm mixtral.py",
    sources: [lm("mixtral.py"), tf()],
  },
  // phimoe.py: as mixtral (scales, biases stacked too); transformers maps phimoe like mixtral.
  {
    ...MIXTRAL_LIKE,
    name: "phimoe",
    modelTypes: ["phimoe"],
    countKeys: ["num_local_experts"],
    mlxLoader: "mlx-lm phimoe.py, mlx-vlm phimoe",
    sources: [lm("phimoe.py"), vlm("phimoe/language.py"), tf()],
  },
  // minimax.py: dequantizes FP8 first, then stacks `.weight` only; utils.py MODEL_REMAPPING minimax_m2 -> minimax.
  {
    ...MIXTRAL_LIKE,
    name: "minimax",
    modelTypes: ["minimax", "minimax_m2"],
    countKeys: ["num_local_experts"],
    mlxStacks: [],
    mlxLoader: "mlx-lm minimax.py, mlx-vlm minimax",
    sources: [lm("minimax.py"), LM_REMAP, vlm("minimax/language.py"), tf()],
  },
  // kimi_linear.py: block_sparse_moe.experts.{i}.{w1,w2,w3}.weight -> mlp.switch_mlp.{proj}.weight over
  // num_experts; the gate and shared experts move to mlp as well. No transformers v5 mapping.
  {
    ...MIXTRAL_LIKE,
    name: "kimi_linear",
    modelTypes: ["kimi_linear"],
    countKeys: ["num_experts"],
    fusedContainer: undefined,
    fusedBy: undefined,
    switchContainer: { from: "block_sparse_moe", to: "mlp" },
    mlxStacks: [],
    mlxLoader: "mlx-lm kimi_linear.py",
    sources: [lm("kimi_linear.py")],
  },
  // lfm2_moe.py: renames w1/w3/w2 to *_proj anywhere, then stacks feed_forward.experts.{e}.{proj}.weight
  // into feed_forward.switch_mlp (mlx-vlm's lfm2_moe also stacks scales, biases); transformers fuses under feed_forward.experts.
  {
    ...DEFAULT_LAYOUT,
    name: "lfm2_moe",
    modelTypes: ["lfm2_moe"],
    perExpert: W1_W3_W2,
    module: "feed_forward",
    countKeys: ["num_experts"],
    fusedBy: tf(),
    mlxStacks: [],
    mlxLoader: "mlx-lm lfm2_moe.py, mlx-vlm lfm2_moe",
    sources: [lm("lfm2_moe.py"), vlm("lfm2_moe/language.py"), tf()],
  },
  // Snowflake Arctic (remote code): mixtral naming plus a dense residual_mlp; no MLX loader, no v5 mapping.
  { ...MIXTRAL_LIKE, name: "arctic", modelTypes: ["arctic"], countKeys: ["num_local_experts"], fusedContainer: undefined, fusedBy: undefined, sources: [] },
  // qwen2_moe.py / olmoe.py / hunyuan.py / bailing_moe.py / deepseek_v2.py: mlp.experts.{e}.{proj}.{weight,scales,biases}
  // -> mlp.switch_mlp.{proj}.* (bailing_moe from first_k_dense_replace on).
  {
    ...QWEN2_MOE_LIKE,
    name: "qwen2_moe",
    modelTypes: ["qwen2_moe"],
    countKeys: ["num_experts"],
    mlxLoader: "mlx-lm qwen2_moe.py",
    sources: [lm("qwen2_moe.py"), tf()],
  },
  { ...QWEN2_MOE_LIKE, name: "olmoe", modelTypes: ["olmoe"], countKeys: ["num_experts"], mlxLoader: "mlx-lm olmoe.py", sources: [lm("olmoe.py"), tf()] },
  {
    ...QWEN2_MOE_LIKE,
    name: "hunyuan_v1_moe",
    modelTypes: ["hunyuan_v1_moe", "hunyuan"],
    countKeys: ["num_experts"],
    mlxLoader: "mlx-lm hunyuan.py (model_type hunyuan)",
    sources: [lm("hunyuan.py"), tf()],
  },
  {
    ...QWEN2_MOE_LIKE,
    name: "bailing_moe",
    modelTypes: ["bailing_moe"],
    countKeys: ["num_experts"],
    fusedBy: undefined,
    mlxLoader: "mlx-lm bailing_moe.py",
    sources: [lm("bailing_moe.py")],
  },
  {
    ...QWEN2_MOE_LIKE,
    name: "deepseek_v2",
    modelTypes: ["deepseek_v2"],
    countKeys: ["n_routed_experts"],
    mlxLoader: "mlx-lm deepseek_v2.py",
    sources: [lm("deepseek_v2.py"), tf()],
  },
  // deepseek_v3.py: stacks weight, scales, biases over n_routed_experts; remaps compressed-tensors INT4
  // (weight_packed, weight_scale, weight_shape) first. utils.py MODEL_REMAPPING kimi_k2 -> deepseek_v3.
  {
    ...QWEN2_MOE_LIKE,
    name: "deepseek_v3",
    modelTypes: ["deepseek_v3", "kimi_k2", "joyai_llm_flash"],
    countKeys: ["n_routed_experts"],
    mlxLoader: "mlx-lm deepseek_v3.py",
    sources: [lm("deepseek_v3.py"), LM_REMAP, tf()],
  },
  // glm4_moe.py: as deepseek_v3 (and drops the MTP layer model.layers.{num_hidden_layers}).
  {
    ...QWEN2_MOE_LIKE,
    name: "glm4_moe",
    modelTypes: ["glm4_moe"],
    countKeys: ["n_routed_experts"],
    mlxLoader: "mlx-lm glm4_moe.py",
    sources: [lm("glm4_moe.py"), tf()],
  },
  // mlx-vlm glm4v_moe/language.py: the same stack over text_config.n_routed_experts.
  {
    ...QWEN2_MOE_LIKE,
    name: "glm4v_moe",
    modelTypes: ["glm4v_moe", "glm4v_moe_text"],
    countKeys: ["text_config.n_routed_experts"],
    mlxLoader: "mlx-vlm glm4v_moe",
    sources: [vlm("glm4v_moe/language.py"), tf()],
  },
  // qwen3_moe.py / qwen3_next.py: stack `.weight` only over num_experts. qwen3_next's sanitize returns
  // early when model.layers.0.mlp.experts.0.up_proj.weight is absent, skipping its other conversions.
  {
    ...QWEN2_MOE_LIKE,
    name: "qwen3_moe",
    modelTypes: ["qwen3_moe"],
    countKeys: ["num_experts"],
    mlxStacks: [],
    mlxLoader: "mlx-lm qwen3_moe.py",
    sources: [lm("qwen3_moe.py"), tf()],
  },
  {
    ...QWEN2_MOE_LIKE,
    name: "qwen3_next",
    modelTypes: ["qwen3_next"],
    countKeys: ["num_experts"],
    mlxStacks: [],
    mlxLoader: "mlx-lm qwen3_next.py",
    mlxCaveat:
      "mlx-lm's qwen3_next sanitize returns early when no per-expert experts are left, skipping its norm +1 shift and conv1d transpose: load a switch_mlp output only with those already applied",
    sources: [lm("qwen3_next.py"), tf()],
  },
  // ernie4_5_moe.py: mlp.experts.{e}.{proj}.weight over moe_num_experts.
  {
    ...QWEN2_MOE_LIKE,
    name: "ernie4_5_moe",
    modelTypes: ["ernie4_5_moe"],
    countKeys: ["moe_num_experts"],
    mlxStacks: [],
    mlxLoader: "mlx-lm ernie4_5_moe.py",
    sources: [lm("ernie4_5_moe.py"), tf()],
  },
  // dots1.py / afmoe.py: their SwitchGLU is named `experts`: mlp.experts.{e}.{proj}.* -> mlp.experts.{proj}.*.
  {
    ...QWEN2_MOE_LIKE,
    name: "dots1",
    modelTypes: ["dots1"],
    countKeys: ["n_routed_experts"],
    switchModule: "experts",
    mlxLoader: "mlx-lm dots1.py",
    sources: [lm("dots1.py"), tf()],
  },
  {
    ...QWEN2_MOE_LIKE,
    name: "afmoe",
    modelTypes: ["afmoe"],
    countKeys: ["num_experts"],
    fusedBy: undefined,
    switchModule: "experts",
    mlxLoader: "mlx-lm afmoe.py",
    sources: [lm("afmoe.py")],
  },
  // qwen3_5_moe.py: BF16 releases ship mlp.experts.gate_up_proj [E, 2I, H] split at shape[-2] // 2
  // (rows) into switch_mlp; mlx-vlm also stacks per-expert `.weight` (FP8 releases) over text_config.num_experts.
  {
    ...QWEN2_MOE_LIKE,
    name: "qwen3_5_moe",
    modelTypes: ["qwen3_5_moe", "qwen3_5_moe_text"],
    countKeys: ["text_config.num_experts"],
    fusedBy: tf(),
    mlxStacks: [],
    mlxLoader: "mlx-lm qwen3_5_moe.py, mlx-vlm qwen3_5_moe",
    sources: [lm("qwen3_5_moe.py"), vlm("qwen3_5_moe/qwen3_5_moe.py")],
  },
  // mlx-vlm qwen3_omni_moe: thinker.language_model.model.layers.{l}.mlp over num_experts of the thinker's
  // text config, talker.model.layers.{l}.mlp over talker_config.text_config.num_experts: one count per sub-model.
  {
    ...QWEN2_MOE_LIKE,
    name: "qwen3_omni_moe",
    modelTypes: ["qwen3_omni_moe"],
    countKeys: ["thinker_config.text_config.num_experts"],
    subModels: [
      { prefix: "thinker.", countKey: "thinker_config.text_config.num_experts" },
      { prefix: "talker.", countKey: "talker_config.text_config.num_experts" },
    ],
    mlxStacks: [],
    mlxLoader: "mlx-vlm qwen3_omni_moe",
    sources: [vlm("qwen3_omni_moe/language.py"), vlm("qwen3_omni_moe/talker.py"), tf()],
  },
  // qwen3_vl_moe.py: gate_up_proj [E, H, 2I] split on the last axis, each half and down swapaxes(-2, -1).
  {
    ...QWEN2_MOE_LIKE,
    name: "qwen3_vl_moe",
    modelTypes: ["qwen3_vl_moe", "qwen3_vl_moe_text"],
    storage: "fused",
    countKeys: ["text_config.num_experts"],
    orientation: "columns",
    mlxStacks: [],
    mlxLoader: "mlx-lm qwen3_vl_moe.py",
    sources: [lm("qwen3_vl_moe.py"), tf()],
  },
  // llama4.py: feed_forward.experts.gate_up_proj [E, H, 2I] split on the last axis, swapaxes(1, 2),
  // into feed_forward.experts.{gate,up,down}_proj.weight (its SwitchGLU is `experts`).
  {
    ...DEFAULT_LAYOUT,
    name: "llama4",
    modelTypes: ["llama4", "llama4_text"],
    storage: "fused",
    module: "feed_forward",
    countKeys: ["text_config.num_local_experts"],
    orientation: "columns",
    switchModule: "experts",
    mlxStacks: [],
    mlxLoader: "mlx-lm llama4.py",
    sources: [lm("llama4.py")],
  },
  // gemma4_text.py: {L}.experts.gate_up_proj [E, 2I, H] (directly under the layer) split on axis -2 into
  // {L}.experts.switch_glu.{gate,up}_proj.weight; down_proj -> switch_glu.down_proj.weight.
  {
    ...DEFAULT_LAYOUT,
    name: "gemma4",
    modelTypes: ["gemma4", "gemma4_text", "gemma4_unified"],
    storage: "fused",
    module: "",
    countKeys: ["text_config.num_experts"],
    switchModule: "experts.switch_glu",
    mlxStacks: [],
    mlxLoader: "mlx-lm gemma4_text.py, mlx-vlm gemma4",
    sources: [lm("gemma4_text.py"), vlm("gemma4/gemma4.py"), LM_REMAP],
  },
  // gpt_oss.py: gate_up_proj(_blocks viewed as uint32 and flattened, _scales) split interleaved on
  // axis -2 (v[..., ::2, :] gate, v[..., 1::2, :] up), gate_up_proj_bias on the last axis, into
  // mlp.experts.{proj}.{weight,scales,bias}; down's renamed. Axis -2 fits the MXFP4 release only:
  // a BF16 gate_up_proj [E, H, 2I] (transformers) interleaves its last axis.
  {
    ...DEFAULT_LAYOUT,
    name: "gpt_oss",
    modelTypes: ["gpt_oss"],
    storage: "fused-interleaved",
    countKeys: ["num_local_experts"],
    switchModule: "experts",
    mlxStacks: [],
    mlxLoader: "mlx-lm gpt_oss.py, mlx-vlm gpt_oss",
    sources: [lm("gpt_oss.py"), vlm("gpt_oss/language.py")],
  },
  // nemotron_h.py: backbone.layers.{l}.mixer.experts.{e}.{up,down}_proj.weight (no gate, ReLU^2) ->
  // mixer.switch_mlp.fc1 (from up_proj) and fc2 (from down_proj), over n_routed_experts.
  {
    ...DEFAULT_LAYOUT,
    name: "nemotron_h",
    modelTypes: ["nemotron_h"],
    storage: "non-gated",
    module: "mixer",
    countKeys: ["n_routed_experts"],
    switchProjections: { gate: "gate_proj", up: "fc1", down: "fc2" },
    mlxStacks: [],
    mlxLoader: "mlx-lm nemotron_h.py, mlx-vlm nemotron_h",
    sources: [lm("nemotron_h.py"), vlm("nemotron_h/language.py")],
  },
  // granitemoe.py / granitemoehybrid.py: block_sparse_moe.input_linear [E, 2I, H] split in halves on
  // axis 1 into switch_mlp.{gate,up}_proj, output_linear -> switch_mlp.down_proj. Already stacked.
  {
    ...DEFAULT_LAYOUT,
    name: "granitemoe",
    modelTypes: ["granitemoe", "granitemoehybrid", "granitemoeshared"],
    storage: "stacked-other",
    module: "block_sparse_moe",
    countKeys: ["num_local_experts"],
    mlxStacks: [],
    mlxLoader: "mlx-lm granitemoe.py, granitemoehybrid.py",
    sources: [lm("granitemoe.py"), lm("granitemoehybrid.py")],
  },
  // JetMoE (transformers configuration_jetmoe.py: num_local_experts): mlp.input_linear / output_linear
  // stacked [E, ...], attention experts too. No MLX loader.
  {
    ...DEFAULT_LAYOUT,
    name: "jetmoe",
    modelTypes: ["jetmoe"],
    storage: "stacked-other",
    countKeys: ["num_local_experts"],
    mlxStacks: [],
    sources: [{ repo: TRANSFORMERS, path: "src/transformers/models/jetmoe/configuration_jetmoe.py", commit: "05cd1ec14dbe16127778060fb68c34105873015c" }],
  },
  // dbrx.py: transformer.blocks.{l}.ffn.experts.mlp.{w1,v1,w2} [E*I, H] split into per-expert
  // experts.{e}.{w1,v1,w2}.weight (w2 transposed) over ffn_config.moe_num_experts.
  {
    ...DEFAULT_LAYOUT,
    name: "dbrx",
    modelTypes: ["dbrx"],
    storage: "stacked-other",
    module: "ffn",
    countKeys: ["ffn_config.moe_num_experts"],
    mlxStacks: [],
    mlxLoader: "mlx-lm dbrx.py",
    sources: [lm("dbrx.py")],
  },
  // step3p5.py: {L}.moe.{gate,up,down}_proj.* [E, ...] renamed to {L}.mlp.switch_mlp.{proj}.* (moe_num_experts).
  {
    ...DEFAULT_LAYOUT,
    name: "step3p5",
    modelTypes: ["step3p5"],
    storage: "stacked-other",
    module: "moe",
    countKeys: ["moe_num_experts"],
    mlxStacks: [],
    mlxLoader: "mlx-lm step3p5.py",
    sources: [lm("step3p5.py")],
  },
];
