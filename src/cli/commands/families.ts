// `moe-prefuse families`: the layout registry, one row per model_type: what its releases hold,
// where its expert count is, what each target writes and which MLX loader reads it. `--markdown`
// prints docs/families.md exactly (the manual's table is this output), `--json` the rows.

import type { Command } from "commander";
import { familyTable, familyTableMarkdown } from "../../reference/prefuse/family-table.js";
import { asLines, prettyJson, writeOutput } from "../output.js";
import { tableLines } from "../table.js";

export function registerFamilies(program: Command): void {
  program
    .command("families")
    .description("list the MoE families of the layout registry: count keys, what each target writes, which loader reads it, sources")
    .option("--markdown", "print docs/families.md (generated from the registry)")
    .option("--json", "print the rows as JSON")
    .action(async (opts: { markdown?: boolean; json?: boolean }) => {
      if (opts.markdown) return writeOutput([familyTableMarkdown()]);
      const rows = familyTable();
      if (opts.json) {
        await writeOutput(prettyJson({ families: rows }));
        return writeOutput(["\n"]);
      }
      await writeOutput(
        asLines(
          tableLines(
            ["MODEL_TYPE", "ALIASES", "HOLDS", "COUNT", "MLX LOADER"],
            rows.map((r) => [r.modelType, r.aliases.join(","), r.storage, r.countKeys.join(","), r.mlxLoader]),
          ),
        ),
      );
    });
}
