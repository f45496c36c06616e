// `split-retain`: oQ's fuse followed by mlx-vlm's qwen3_5_moe sanitize before its PR #1450. The
// sanitize split gate_up_proj into gate and up with `mx.split`, which kept the whole fused
// tensor tied to the split's outputs: gate [E, I, H] and up [E, I, H] are materialised while
// the fused gate_up (and down) are still alive. The fuse itself is `stack-concat` with chunk C
// (peak 4eE); the split then holds gate_up 2eE + down eE + gate eE + up eE = 5eE, 5/3 of the
// output. The fused tensor is dropped only when sanitize returns.

import { switchMlpLayout, SWITCH_MLP_NAMES } from "../layout.js";
import { type FuseProblem, projBytes } from "../problem.js";
import { fuseByStackConcat } from "./stack-concat.js";
import type { MemoryStrategy } from "./strategy.js";

export const splitRetain: MemoryStrategy = {
  name: "split-retain",
  summary: "oQ's fuse (stack-concat, chunk C), then mlx-vlm's pre-#1450 sanitize splits gate/up while the fused tensor stays alive",
  formula: "5eE (fused gate_up 2eE + down eE + split gate eE + split up eE; independent of C)",
  inputs: "memory",
  chunked: true,
  analyticPeak: (p: FuseProblem) => 5 * projBytes(p.shape) * p.experts,
  outputLayout: switchMlpLayout,
  run(input) {
    const { problem, ledger } = input;
    const { gateUp, down } = fuseByStackConcat(input);
    const e = projBytes(problem.shape);
    const gate = ledger.alloc(e * problem.experts, "split gate");
    const up = ledger.alloc(e * problem.experts, "split up");
    for (let x = 0; x < problem.experts; x++) {
      gate.set(gateUp.subarray(2 * x * e, (2 * x + 1) * e), x * e);
      up.set(gateUp.subarray((2 * x + 1) * e, (2 * x + 2) * e), x * e);
    }
    ledger.release(gateUp);
    return {
      residency: "memory",
      tensors: new Map([
        [SWITCH_MLP_NAMES.gate_proj, gate],
        [SWITCH_MLP_NAMES.up_proj, up],
        [SWITCH_MLP_NAMES.down_proj, down],
      ]),
    };
  },
};
