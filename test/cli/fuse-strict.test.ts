// `moe-prefuse fuse --strict` through the binary, for every reason a layer can be left untouched
// (one case per code of UNTOUCHED_REASONS, test/support/untouched-cases.ts): exit 1 with one
// error line naming the layer, no output directory, the input unchanged. (Without --strict the
// same checkpoints fuse, leaving the layer per expert: test/reference/prefuse/strict.test.ts.)

import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UNTOUCHED_CODES } from "../../src/reference/prefuse/reasons.js";
import { runCli } from "../support/cli.js";
import { hashTree, writeTinyCheckpoint } from "../support/moe.js";
import { tempDir } from "../support/tmp.js";
import { BROKEN, UNTOUCHED_CASES } from "../support/untouched-cases.js";

describe("moe-prefuse fuse --strict", () => {
  it.each(UNTOUCHED_CODES)("%s: refuses with one line naming the layer and writes nothing", async (code) => {
    const c = UNTOUCHED_CASES[code];
    const dir = tempDir();
    const input = join(dir, "in");
    await writeTinyCheckpoint(input, c.weights(), c.config);
    const before = hashTree(input);

    const strict = runCli(["fuse", input, join(dir, "strict"), "--strict", "--target", c.target]);
    expect(strict.status).toBe(1);
    expect(strict.stdout).toBe("");
    expect(strict.stderr).toMatch(/^moe-prefuse: error: [^\n]+\n$/);
    expect(strict.stderr).toContain(`layer ${BROKEN} cannot be fused`);
    expect(existsSync(join(dir, "strict"))).toBe(false);
    expect(hashTree(input)).toEqual(before);
  });
});
