import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { familyTable, familyTableMarkdown } from "../../../src/reference/prefuse/family-table.js";
import { EXPERT_LAYOUTS } from "../../../src/reference/prefuse/layouts.js";
import { ROOT, runCli } from "../../support/cli.js";

describe("the family table (docs/families.md)", () => {
  it("is the registry: the committed file equals the generated one (regenerate: moe-prefuse families --markdown > docs/families.md)", () => {
    expect(readFileSync(join(ROOT, "docs", "families.md"), "utf8")).toBe(familyTableMarkdown());
  });

  it("has one row per registry entry, each with its sources, and the loaders' own names", () => {
    const rows = familyTable();
    expect(rows.map((r) => r.modelType)).toEqual(EXPERT_LAYOUTS.map((l) => l.name));
    for (const r of rows.filter((x) => x.mlxLoader !== "none")) expect(r.sources.length, r.modelType).toBeGreaterThan(0);
    for (const s of rows.flatMap((r) => r.sources)) expect(s.commit).toMatch(/^[0-9a-f]{40}$/);
    const row = (m: string) => rows.find((r) => r.modelType === m)!;
    expect(row("gemma4").switchMlp).toContain("{L}.experts.switch_glu.gate_proj [E,I,H]");
    expect(row("kimi_linear").switchMlp).toContain("{L}.mlp.switch_mlp.gate_proj");
    expect(row("nemotron_h").switchMlp).toContain("{L}.mixer.switch_mlp.fc1 [E,I,H]");
    expect(row("mixtral").fused).toContain("{L}.mlp.experts.gate_up_proj [E,2I,H]");
    expect(row("qwen3_omni_moe").countKeys).toEqual([
      "thinker_config.text_config.num_experts (layers under thinker.)",
      "talker_config.text_config.num_experts (layers under talker.)",
    ]);
  });

  it("moe-prefuse families prints it", () => {
    const r = runCli(["families", "--markdown"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(familyTableMarkdown());
    expect(runCli(["families"]).stdout).toMatch(/deepseek_v3 +kimi_k2,joyai_llm_flash +per-expert +n_routed_experts/);
  });
});
