// The oMLX adapter (ci/adapters/omlx_prefuse.py) cannot run here (MLX needs Apple silicon); its
// own code does, against stand-in `mlx.core` and `omlx.oq` modules (test/support/omlx-stand-in:
// the numpy adapter's reader, writer and prefuse underneath): both protocols, both ways oQ's
// function may hand back the result, and the stage check.

import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { runGate } from "../../src/gate/gate.js";
import { CANDIDATE_CWD, PYTHON, writeRichCorpus } from "../support/gate-fixture.js";
import { tempDir } from "../support/tmp.js";

const STAND_IN = join(CANDIDATE_CWD, "test", "support", "omlx-stand-in");
const OMLX = `${PYTHON} ci/adapters/omlx_prefuse.py`;

describe("omlx_prefuse.py against stand-in MLX and oMLX modules", () => {
  it("passes in both protocols, whether oQ's function works in place or returns the dict", async () => {
    const corpus = join(tempDir(), "corpus");
    await writeRichCorpus(corpus);
    const saved = { PYTHONPATH: process.env.PYTHONPATH, OMLX_STAND_IN_RETURNS: process.env.OMLX_STAND_IN_RETURNS };
    process.env.PYTHONPATH = STAND_IN;
    try {
      for (const returns of ["0", "1"]) {
        process.env.OMLX_STAND_IN_RETURNS = returns;
        const common = {
          corpus: { dir: corpus, optional: false },
          runs: 1,
          seed: 2,
          jobs: 1,
          shrink: 0,
          cwd: CANDIDATE_CWD,
          passEnv: ["OMLX_STAND_IN_RETURNS"],
        };
        const perCase = await runGate({ ...common, candidate: `${OMLX} {input} {output}` });
        const served = await runGate({ ...common, candidate: `${OMLX} --serve`, serve: true });
        for (const r of [perCase, served])
          expect(r.totals, `${r.protocol} returns=${returns}: ${r.cases.map((c) => c.reason).join("; ")}`).toEqual({
            passed: 2,
            failed: 0,
            open: 0,
            skipped: 0,
          });
      }
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });

  it("exits 2 for another stage, or without MLX, before doing anything", () => {
    const run = (args: string[], env: Record<string, string>) =>
      spawnSync(PYTHON.slice(1, -1), ["ci/adapters/omlx_prefuse.py", ...args], {
        cwd: CANDIDATE_CWD,
        env: { PATH: process.env.PATH!, ...env },
        encoding: "utf8",
      });
    const stage = run(["--stage", "dequant", "in", "out"], { PYTHONPATH: STAND_IN });
    expect(stage.status).toBe(2);
    expect(stage.stderr).toBe("omlx_prefuse: stage 'dequant' is not one this adapter implements (prefuse)\n");
    const noMlx = run(["--serve"], {});
    expect(noMlx.status).toBe(2);
    expect(noMlx.stderr).toMatch(/^omlx_prefuse: needs MLX and oMLX \(Apple silicon\): No module named 'mlx'/);
    expect(run(["--serve", "in"], { PYTHONPATH: STAND_IN }).status).toBe(2); // --serve takes no paths
  });
});
