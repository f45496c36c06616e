// The in-memory API and the streaming CLI agree: `moe-prefuse fuse` (the built binary, in a
// child process) writes exactly the bytes `prefuse()` returns, serialized, and config.json
// verbatim, from a sharded checkpoint on disk, whatever the chunk size, target or engine.
// Each case spawns the CLI (about 0.3 s), so this property runs 20 cases by default
// (FC_NUM_RUNS=n scales it to 20n/100).

import fc from "fast-check";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { prefuse } from "../../src/reference/prefuse/prefuse.js";
import { serializeSafetensors } from "../../src/reference/safetensors/memory.js";
import { bytesEqual } from "../../src/reference/tensor.js";
import { generateCheckpoint, writeGeneratedCheckpoint } from "../../src/fixtures-gen/generate.js";
import { anyPrefuseInput, fuseTarget } from "../support/arbitraries/fixture-spec.js";
import { specCounterexample, targetStage } from "../support/property/counterexample.js";
import { fcTimeout } from "../support/fc.js";
import { checkProperty } from "../support/property/runner.js";
import { runCliAsync } from "../support/cli-async.js";
import { tempDir } from "../support/tmp.js";

const CLI_RUNS = 20;

describe("in-memory API and streaming CLI", () => {
  it(`property (${CLI_RUNS} runs by default: each spawns the CLI): moe-prefuse fuse writes the bytes prefuse() returns`, {
    timeout: fcTimeout(CLI_RUNS, 5_000),
  }, async () => {
    const root = tempDir();
    let run = 0;
    await checkProperty({
      name: "cli-agrees",
      runs: CLI_RUNS,
      arbitrary: fc.record({
        spec: anyPrefuseInput,
        shards: fc.integer({ min: 1, max: 3 }),
        chunk: fc.integer({ min: 1, max: 20 }),
        target: fuseTarget,
        engine: fc.constantFrom("typed", "onnx"),
      }),
      counterexample: ({ spec, shards, chunk, target, engine }) => specCounterexample(targetStage(target), spec, { shards, chunk, engine }),
      predicate: async ({ spec, shards, chunk, target, engine }) => {
        const g = generateCheckpoint(spec);
        const dir = join(root, `run${run++}`);
        await writeGeneratedCheckpoint(join(dir, "in"), { ...spec, shards });
        const r = await runCliAsync(["fuse", join(dir, "in"), join(dir, "out"), "--chunk", String(chunk), "--target", target, "--engine", engine]);
        expect(
          r.stderr.split("\n").filter((l) => l.startsWith("moe-prefuse: error")),
          "CLI errors",
        ).toEqual([]);
        expect(r.status, r.stderr).toBe(0);
        const expected = serializeSafetensors((await prefuse(g.tensors, g.config, { target })).weights, g.metadata);
        expect(bytesEqual(await readFile(join(dir, "out", "model.safetensors")), expected), "model.safetensors").toBe(true);
        expect(await readFile(join(dir, "out", "config.json"), "utf8")).toBe(await readFile(join(dir, "in", "config.json"), "utf8"));
      },
    });
  });
});
