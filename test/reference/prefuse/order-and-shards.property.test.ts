// Independence from tensor order and shard layout: the same checkpoint with its tensors in any
// order (in memory), or split into any number of shards on disk (streamed by fuseCheckpointDir),
// fuses to the same bytes as the single-file, name-ordered input.

import fc from "fast-check";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fuseCheckpointDir } from "../../../src/reference/prefuse/fuse-checkpoint.js";
import { prefuse } from "../../../src/reference/prefuse/prefuse.js";
import { serializeSafetensors } from "../../../src/reference/safetensors/memory.js";
import { bytesEqual } from "../../../src/reference/tensor.js";
import { generateCheckpoint, writeGeneratedCheckpoint } from "../../../src/fixtures-gen/generate.js";
import { anyPrefuseInput, fuseTarget } from "../../support/arbitraries/fixture-spec.js";
import { specCounterexample, targetStage } from "../../support/property/counterexample.js";
import { checkProperty } from "../../support/property/runner.js";
import { expectSameWeights, shuffled } from "../../support/weights.js";
import { tempDir } from "../../support/tmp.js";

describe("independence from tensor order and shard layout", () => {
  it("property: shuffled tensors in memory, and 2-5 shards on disk, fuse to the same bytes", async () => {
    const root = tempDir();
    let run = 0;
    await checkProperty({
      name: "order-and-shards",
      arbitrary: fc.record({ spec: anyPrefuseInput, order: fc.nat(), shards: fc.integer({ min: 2, max: 5 }), target: fuseTarget }),
      counterexample: ({ spec, order, shards, target }) => specCounterexample(targetStage(target), spec, { order, shards }),
      predicate: async ({ spec, order, shards, target }) => {
        const g = generateCheckpoint(spec);
        const reference = await prefuse(g.tensors, g.config, { target });
        expectSameWeights((await prefuse(shuffled(g.tensors, order), g.config, { target })).weights, reference.weights, `tensors in shuffled order ${order}`);

        const dir = join(root, `run${run++}`);
        await writeGeneratedCheckpoint(join(dir, "in"), { ...spec, shards });
        await fuseCheckpointDir(join(dir, "in"), join(dir, "out"), { target });
        const written = await readFile(join(dir, "out", "model.safetensors"));
        expect(bytesEqual(written, serializeSafetensors(reference.weights, g.metadata)), `${shards} input shards: output bytes`).toBe(true);
      },
    });
  });
});
