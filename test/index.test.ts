// The published entry, as a user imports it: `moe-prefuse` by name (the package's self-reference,
// resolved through package.json "exports" to the built dist/), not the sources. A plan, an
// in-memory fuse, a disk-to-disk fuse and one gate case go through it, so a name the manual
// documents but the entry forgets, or a build that drops a module, fails here.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as api from "moe-prefuse";
import { Checkpoint, fuseCheckpoint, generateCheckpoint, planPrefuse, prefuse, runGate, writeGeneratedCheckpoint } from "moe-prefuse";
import { ROOT } from "./support/cli.js";
import { tempDir } from "./support/tmp.js";

const SPEC = { family: "qwen3_moe", seed: 7, experts: 18, layers: 2, hidden: 8, intermediate: 4 } as const;

describe('import from "moe-prefuse"', () => {
  it("resolves to the built package, not the sources", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: { ".": { default: string } } };
    expect(import.meta.resolve("moe-prefuse")).toBe(`file://${join(ROOT, pkg.exports["."].default)}`);
  });

  it("plans and fuses in memory: every MoE layer fused, no per-expert tensor left", async () => {
    const g = generateCheckpoint(SPEC);
    const plan = planPrefuse(g.tensors, g.config, { target: "fused" });
    expect(plan.layers.length).toBeGreaterThan(0);
    expect(plan.layers.filter((l) => l.state !== "fused")).toEqual([]);
    const { weights } = await prefuse(g.tensors, g.config, { chunk: 16 });
    const names = [...weights.keys()];
    expect(names.filter((n) => /\.experts\.\d+\./.test(n))).toEqual([]);
    expect(names.filter((n) => n.endsWith("experts.gate_up_proj"))).toHaveLength(plan.layers.length);
  });

  it("fuses a checkpoint on disk to the same bytes as in memory", async () => {
    const dir = tempDir();
    await writeGeneratedCheckpoint(join(dir, "in"), SPEC);
    const ckpt = await Checkpoint.open(join(dir, "in"));
    await fuseCheckpoint(ckpt, ckpt.config!, join(dir, "out"));
    await ckpt.close();
    const onDisk = await Checkpoint.open(join(dir, "out"));
    const inMemory = (await prefuse(generateCheckpoint(SPEC).tensors, onDisk.config!, {})).weights;
    expect([...onDisk.specs.keys()].sort()).toEqual([...inMemory.keys()].sort());
    for (const [name, t] of inMemory) expect(Buffer.from((await onDisk.read(name)).data).equals(Buffer.from(t.data)), name).toBe(true);
    await onDisk.close();
  });

  it("runs a gate case with the bundled numpy adapter", async () => {
    const lines: string[] = [];
    const report = await runGate({ candidate: "python3 ci/adapters/numpy_prefuse.py {input} {output}", corpus: null, runs: 1, seed: 3, cwd: ROOT }, (l) =>
      lines.push(l),
    );
    expect(report.totals).toMatchObject({ passed: 1, failed: 0 });
    expect(lines.at(-1)).toBe("1 passed, 0 failed");
  });

  it("exports the typed errors with their codes, and no internals", () => {
    expect(new api.UsageError("INVALID_ARGUMENT", "x").code).toBe("INVALID_ARGUMENT");
    for (const internal of ["Scratch", "produceExperts", "ChunkBuffers", "expertsPerStep", "recipeInputs", "MemoryLedger"])
      expect(api).not.toHaveProperty(internal);
  });
});
