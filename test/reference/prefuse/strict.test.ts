// `strict`: a fuse refuses, writing nothing, when any layer would be left untouched, whatever the
// reason. One case per reason code of UNTOUCHED_REASONS (the list is read from the reasons data,
// so a new code fails here until it has a case): the plan gives the broken layer that code, the
// strict fuse throws LAYER_UNTOUCHED naming the layer and leaves no output, and the same fuse
// without strict writes the layer per expert.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PrefuseError } from "../../../src/reference/errors.js";
import { fuseCheckpointDir } from "../../../src/reference/prefuse/fuse-checkpoint.js";
import { planPrefuse } from "../../../src/reference/prefuse/plan.js";
import { UNTOUCHED_CODES } from "../../../src/reference/prefuse/reasons.js";
import { writeTinyCheckpoint } from "../../support/moe.js";
import { tempDir } from "../../support/tmp.js";
import { BROKEN, UNTOUCHED_CASES, UNTOUCHED_PREFIXES } from "../../support/untouched-cases.js";

describe("strict fuse: every untouched reason refuses", () => {
  it("every reason code has a case", () => {
    expect(UNTOUCHED_CODES.filter((code) => UNTOUCHED_CASES[code] === undefined)).toEqual([]);
    expect(Object.keys(UNTOUCHED_CASES).sort()).toEqual([...UNTOUCHED_CODES].sort());
  });

  it.each(UNTOUCHED_CODES)("%s: the plan names it, strict refuses and writes nothing, non-strict leaves the layer per expert", async (code) => {
    const c = UNTOUCHED_CASES[code];
    const weights = c.weights();
    const plan = planPrefuse(new Map([...weights].map(([n, t]) => [n, { dtype: t.dtype, shape: t.shape }])), c.config, { target: c.target });
    const layer = plan.layers.find((l) => l.prefix === BROKEN);
    expect(layer?.state).toBe("untouched");
    expect(layer?.state === "untouched" ? layer.reasons.map((r) => r.code) : []).toContain(code);
    expect(plan.layers.find((l) => l.prefix === UNTOUCHED_PREFIXES[0])?.state).toBe("fused");

    const dir = tempDir();
    const input = join(dir, "in");
    await writeTinyCheckpoint(input, weights, c.config);
    const refused = fuseCheckpointDir(input, join(dir, "strict"), { strict: true, target: c.target });
    await expect(refused).rejects.toBeInstanceOf(PrefuseError);
    await expect(refused).rejects.toMatchObject({ code: "LAYER_UNTOUCHED", message: expect.stringContaining(`layer ${BROKEN} cannot be fused`) });
    expect(existsSync(join(dir, "strict"))).toBe(false);

    const r = await fuseCheckpointDir(input, join(dir, "lenient"), { target: c.target });
    expect(r.plan.layers.find((l) => l.prefix === BROKEN)?.state).toBe("untouched");
  });
});
