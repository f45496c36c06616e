// One checkpoint per reason a plan can give for leaving a layer untouched (UNTOUCHED_REASONS):
// two MoE layers of 4 experts, the first complete, the second broken in exactly that way. The
// table is keyed by the reason codes, so a new code does not typecheck until it has a case (and
// untouched-cases tests check at run time that each case really yields its code).

import type { DType } from "../../src/reference/dtypes.js";
import type { FuseTarget } from "../../src/reference/prefuse/layouts.js";
import type { ReferenceUntouchedCode } from "../../src/reference/prefuse/reasons.js";
import type { TensorMap } from "../../src/reference/tensor.js";
import { expertName, tensor, tinyMoe } from "./moe.js";

export const UNTOUCHED_PREFIXES = ["model.layers.0.mlp", "model.layers.1.mlp"] as const;
/** The layer each case breaks. */
export const BROKEN = UNTOUCHED_PREFIXES[1];
const E = 4;
const I = 2;
const H = 3;

export interface UntouchedCase {
  readonly target: FuseTarget;
  readonly config: Readonly<Record<string, unknown>>;
  readonly weights: () => TensorMap;
}

const config = (modelType = "qwen3_moe", key = "num_experts") => ({ model_type: modelType, [key]: E });
/** The broken layer's per-expert tensors removed, for cases that put another form in their place. */
const withoutExperts = (w: TensorMap) => {
  for (const n of [...w.keys()]) if (n.startsWith(`${BROKEN}.experts.`)) w.delete(n);
};
const base = () => tinyMoe({ prefixes: [...UNTOUCHED_PREFIXES], E, I, H });
const edit = (f: (w: TensorMap) => void) => (): TensorMap => {
  const w = base();
  f(w);
  return w;
};
const put = (w: TensorMap, name: string, dtype: DType, shape: readonly number[]) => w.set(name, tensor(name, dtype, shape));

export const UNTOUCHED_CASES: Readonly<Record<ReferenceUntouchedCode, UntouchedCase>> = {
  MISSING_TENSOR: { target: "fused", config: config(), weights: edit((w) => w.delete(expertName(BROKEN, 2, "up_proj"))) },
  UNEXPECTED_EXPERT: {
    target: "fused",
    config: config(),
    weights: edit((w) => {
      for (const [p, shape] of [
        ["gate_proj", [I, H]],
        ["up_proj", [I, H]],
        ["down_proj", [H, I]],
      ] as const)
        put(w, expertName(BROKEN, E, p), "BF16", shape);
    }),
  },
  DUPLICATE_EXPERT: { target: "fused", config: config(), weights: edit((w) => put(w, `${BROKEN}.experts.01.gate_proj.weight`, "BF16", [I, H])) },
  SHAPE_MISMATCH: { target: "fused", config: config(), weights: edit((w) => put(w, expertName(BROKEN, 1, "down_proj"), "BF16", [H, I + 1])) },
  // Same element width: a check by width would let it through.
  DTYPE_MISMATCH: { target: "fused", config: config(), weights: edit((w) => put(w, expertName(BROKEN, 3, "gate_proj"), "F16", [I, H])) },
  // qwen3_vl_moe stores fused experts transposed; packed (MLX-quantized) weights cannot be.
  UNSUPPORTED_LAYOUT: {
    target: "fused",
    config: config("qwen3_vl_moe"),
    weights: edit((w) => {
      for (let e = 0; e < E; e++)
        for (const [p, rows] of [
          ["gate_proj", I],
          ["up_proj", I],
          ["down_proj", H],
        ] as const)
          put(w, expertName(BROKEN, e, p, "scales"), "F32", [rows, 1]);
    }),
  },
  MIXED_LAYOUT: {
    target: "switch_mlp",
    config: config(),
    weights: edit((w) => {
      put(w, `${BROKEN}.experts.gate_up_proj`, "BF16", [E, 2 * I, H]);
      put(w, `${BROKEN}.experts.down_proj`, "BF16", [E, H, I]);
    }),
  },
  FUSED_MISMATCH: {
    target: "switch_mlp",
    config: config(),
    weights: edit((w) => {
      for (const n of [...w.keys()]) if (n.startsWith(`${BROKEN}.experts.`)) w.delete(n);
      put(w, `${BROKEN}.experts.gate_up_proj`, "BF16", [E, 2 * I, H]);
    }),
  },
  // nemotron_h's experts have no gate: the fused target has no form for up and down alone.
  NON_GATED: {
    target: "fused",
    config: config("nemotron_h", "n_routed_experts"),
    weights: edit((w) => {
      for (let e = 0; e < E; e++) w.delete(expertName(BROKEN, e, "gate_proj"));
    }),
  },
  // compressed-tensors INT4 (Kimi-K2-Thinking): packed integers, no float weight to stack.
  PACKED_QUANTIZED: {
    target: "fused",
    config: config("kimi_k2", "n_routed_experts"),
    weights: edit((w) => {
      withoutExperts(w);
      for (let e = 0; e < E; e++) {
        for (const [p, rows] of [
          ["gate_proj", I],
          ["up_proj", I],
          ["down_proj", H],
        ] as const) {
          put(w, expertName(BROKEN, e, p, "weight_packed"), "I32", [rows, 1]);
          put(w, expertName(BROKEN, e, p, "weight_scale"), "BF16", [rows, 1]);
          put(w, expertName(BROKEN, e, p, "weight_shape"), "I32", [2]);
        }
      }
    }),
  },
  // gpt-oss's BF16 fused experts, gate and up interleaved: no loader splits them for MLX.
  INTERLEAVED: {
    target: "switch_mlp",
    config: config("gpt_oss", "num_local_experts"),
    weights: edit((w) => {
      withoutExperts(w);
      put(w, `${BROKEN}.experts.gate_up_proj`, "BF16", [E, H, 2 * I]);
      put(w, `${BROKEN}.experts.gate_up_proj_bias`, "BF16", [E, 2 * I]);
      put(w, `${BROKEN}.experts.down_proj`, "BF16", [E, I, H]);
      put(w, `${BROKEN}.experts.down_proj_bias`, "BF16", [E, H]);
    }),
  },
  UNRECOGNIZED_EXPERTS: {
    target: "fused",
    config: config(),
    weights: edit((w) => {
      withoutExperts(w);
      for (let e = 0; e < E; e++) put(w, expertName(BROKEN, e, "linear_fc1"), "BF16", [I, H]);
    }),
  },
};
