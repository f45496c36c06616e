// The mutation check only means something while its edits still apply: a refactor that moves the
// code a mutant edits turns that mutant into "EDIT FAILED" minutes into `npm run mutants`. This
// checks every edit against the current sources in milliseconds, so the drift shows in `npm test`.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { MUTANTS } from "./mutants.js";

describe("the mutation list", () => {
  it.each(MUTANTS.map((m) => [m.name, m] as const))("%s: each edit's search text occurs exactly once in its file", (_name, m) => {
    for (const e of m.edits) expect(readFileSync(join(ROOT, e.file), "utf8").split(e.search).length - 1, e.file).toBe(1);
  });
});
