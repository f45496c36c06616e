import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inspectCheckpoint } from "../../src/cli/commands/inspect.js";
import type { FamilyName } from "../../src/fixtures-gen/families.js";
import { writeGeneratedCheckpoint } from "../../src/fixtures-gen/generate.js";
import { parseVariant } from "../../src/fixtures-gen/variants.js";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

/** The plan's states (one vocabulary): what `fuse` would do with each layer. */
type State = "fused" | "untouched" | "already-fused" | "dense";

/** Each variant, and the MoE state the reference's inspect must see: count key, count, [layer prefix, state, experts] per layer. */
const CASES: [FamilyName, string[], string | null, number | null, [string, State, number][]][] = [
  [
    "qwen3_5_moe",
    [],
    "text_config.num_experts",
    4,
    [0, 1, 2, 3].map((i) => [`model.language_model.layers.${i}.mlp`, "fused", 4] as [string, State, number]).concat([["mtp.layers.0.mlp", "fused", 4]]),
  ],
  [
    "qwen3_5_moe",
    ["fused"],
    "text_config.num_experts",
    4,
    [0, 1, 2, 3]
      .map((i) => [`model.language_model.layers.${i}.mlp`, "already-fused", 4] as [string, State, number])
      .concat([["mtp.layers.0.mlp", "already-fused", 4]]),
  ],
  [
    "qwen3_5_moe",
    ["partial:wrong-shape:layer=mtp"],
    "text_config.num_experts",
    4,
    [0, 1, 2, 3].map((i) => [`model.language_model.layers.${i}.mlp`, "fused", 4] as [string, State, number]).concat([["mtp.layers.0.mlp", "untouched", 4]]),
  ],
  [
    "qwen3_vl_moe",
    ["fused"],
    "text_config.num_experts",
    4,
    [
      ["model.language_model.layers.0.mlp", "already-fused", 4],
      ["model.language_model.layers.1.mlp", "already-fused", 4],
    ],
  ],
  [
    "mixtral",
    ["fused:layer=1"],
    "num_local_experts",
    4,
    [
      ["model.layers.0.block_sparse_moe", "fused", 4],
      ["model.layers.1.mlp", "already-fused", 4],
    ],
  ],
  ["qwen3_moe", ["dense"], null, null, []],
  ["qwen3_moe", ["count-key:none"], null, null, [["model.layers.1.mlp", "dense", 4]]],
  [
    "olmoe",
    ["partial:drop-expert:layer=1"],
    "num_experts",
    4,
    [
      ["model.layers.0.mlp", "fused", 4],
      ["model.layers.1.mlp", "untouched", 3],
    ],
  ],
  [
    "olmoe",
    ["partial:drop-projection"],
    "num_experts",
    4,
    [
      ["model.layers.0.mlp", "untouched", 4],
      ["model.layers.1.mlp", "fused", 4],
    ],
  ],
  [
    "olmoe",
    ["partial:wrong-dtype"],
    "num_experts",
    4,
    [
      ["model.layers.0.mlp", "untouched", 4],
      ["model.layers.1.mlp", "fused", 4],
    ],
  ],
  [
    "olmoe",
    ["extra-expert:layer=1"],
    "num_experts",
    4,
    [
      ["model.layers.0.mlp", "fused", 4],
      ["model.layers.1.mlp", "untouched", 5],
    ],
  ],
  // Conflicting counts: oQ's precedence picks num_local_experts (6), so every layer lacks experts 4 and 5.
  [
    "olmoe",
    ["count-key:num_experts=4,num_local_experts=6"],
    "num_local_experts",
    6,
    [
      ["model.layers.0.mlp", "untouched", 4],
      ["model.layers.1.mlp", "untouched", 4],
    ],
  ],
  ["deepseek_v3", ["count-key:text_config.n_routed_experts"], "text_config.n_routed_experts", 4, [["model.layers.1.mlp", "fused", 4]]],
  [
    "qwen3_5_moe_fp8",
    [],
    "text_config.num_experts",
    4,
    [0, 1, 2, 3].map((i) => [`model.language_model.layers.${i}.mlp`, "fused", 4] as [string, State, number]).concat([["mtp.layers.0.mlp", "fused", 4]]),
  ],
];

describe("inspect sees each variant's MoE state", () => {
  it.each(CASES)("%s %j", async (family, variants, key, count, layers) => {
    const dir = join(tempDir(), "ckpt");
    await writeGeneratedCheckpoint(dir, { family, experts: 4, hidden: 8, intermediate: 4, variants: variants.map(parseVariant) });
    const moe = (await inspectCheckpoint(dir)).moe!;
    expect(moe.expertCount === null ? null : [moe.expertCount.key, moe.expertCount.count]).toEqual(key === null ? null : [key, count]);
    expect(moe.layers.map((l) => [l.prefix, l.state, l.experts])).toEqual(layers);
    if (variants[0]?.startsWith("count-key:num_experts=4,")) expect(moe.warnings.join(" ")).toMatch(/'num_experts' = 4 disagrees with 'num_local_experts' = 6/);
  });

  it("the inspect command prints the MoE view of a generated partial checkpoint", () => {
    const dir = join(tempDir(), "ckpt");
    expect(runCli(["gen", "mixtral", dir, "--experts", "4", "--variant", "partial:drop-expert:layer=1,expert=2"]).status).toBe(0);
    const r = runCli(["inspect", dir]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/MoE: .*4 experts from num_local_experts/);
    expect(r.stdout).toMatch(/model\.layers\.1\.block_sparse_moe +untouched +MISSING_TENSOR +3 /);
    expect(r.stdout).toMatch(/model\.layers\.0\.block_sparse_moe +fused +PER_EXPERT_COMPLETE +4 /);
  });
});
