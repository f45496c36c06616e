// ci/adapters/omlx_prefuse.py, the oQ release gate's candidate, run against a stand-in for MLX and
// oMLX (test/support/omlx-standin: mlx.core.load/save_safetensors and
// omlx.oq._prefuse_moe_experts_for_vlm over the numpy adapter), since neither installs off Apple
// silicon. What is tested is the adapter's own part: its arguments (positional INPUT_DIR and
// OUTPUT_FILE, --stage or MOE_PREFUSE_STAGE, prefuse only, exit 2 otherwise or without MLX/oMLX),
// that it hands the function the weights and the parsed config.json, and that it writes what the
// function returns or, when it returns nothing, the dict it rebuilt in place. Nothing here says
// the real oMLX is correct; that is the gate's job on the release machine.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runGate } from "../../src/gate/gate.js";
import { prefuse } from "../../src/reference/prefuse/prefuse.js";
import { parseSafetensors } from "../../src/reference/safetensors/memory.js";
import { ROOT } from "../support/cli.js";
import { tinyMoe, writeTinyCheckpoint } from "../support/moe.js";
import { tempDir } from "../support/tmp.js";
import { weightsDifference } from "../support/weights.js";

const PYTHON = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
const ADAPTER = join(ROOT, "ci", "adapters", "omlx_prefuse.py");
const STANDIN = join(ROOT, "test", "support", "omlx-standin");
const CONFIG = { model_type: "qwen3_moe", num_experts: 4 };

function run(args: readonly string[], env: Readonly<Record<string, string>> = {}, standin = true) {
  const { MOE_PREFUSE_STAGE: _, ...rest } = process.env;
  const r = spawnSync(PYTHON, [ADAPTER, ...args], {
    encoding: "utf8",
    env: { ...rest, PYTHONPATH: standin ? STANDIN : join(ROOT, "ci", "adapters"), ...env },
  });
  return { status: r.status, stderr: r.stderr };
}

async function checkpoint(): Promise<{ dir: string; input: string; weights: ReturnType<typeof tinyMoe> }> {
  const dir = tempDir();
  const weights = tinyMoe({ prefixes: ["model.layers.0.mlp", "model.layers.1.mlp"], E: 4, I: 2, H: 3 });
  await writeTinyCheckpoint(join(dir, "in"), weights, CONFIG);
  return { dir, input: join(dir, "in"), weights };
}

describe("ci/adapters/omlx_prefuse.py (stand-in MLX and oMLX)", () => {
  it.each(["return", "inplace"])("passes the weights and config.json to oQ's function and writes its result (function mode: %s)", async (mode) => {
    const { dir, input, weights } = await checkpoint();
    const out = join(dir, "out.safetensors");
    const log = join(dir, "calls.jsonl");
    const r = run([input, out], { OMLX_STANDIN_MODE: mode, OMLX_STANDIN_LOG: log });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const calls = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(calls).toEqual([{ config: CONFIG, names: [...weights.keys()].sort() }]);
    const written = parseSafetensors(new Uint8Array(readFileSync(out)), out).tensors;
    expect(weightsDifference(written, (await prefuse(weights, CONFIG)).weights)).toBeUndefined();
  });

  it("takes the stage from --stage, else MOE_PREFUSE_STAGE, and refuses every stage but prefuse with exit 2 and one line", async () => {
    const { dir, input } = await checkpoint();
    const out = join(dir, "out.safetensors");
    expect(run(["--stage", "prefuse", input, out]).status).toBe(0);
    expect(run([input, out], { MOE_PREFUSE_STAGE: "prefuse" }).status).toBe(0);
    for (const [args, env] of [[["--stage", "dequant", input, join(dir, "a")], {}], [[input, join(dir, "b")], { MOE_PREFUSE_STAGE: "switch_mlp" }], [["--stage", "switch_mlp", input, join(dir, "c")], { MOE_PREFUSE_STAGE: "prefuse" }]] as const) {
      const r = run(args, env);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^omlx_prefuse: stage '[a-z_+]+' is not one this adapter implements \(prefuse\)\n$/);
    }
    expect([existsSync(join(dir, "a")), existsSync(join(dir, "b")), existsSync(join(dir, "c"))]).toEqual([false, false, false]);
  });

  it("exits 2 with one line, writing nothing, where MLX or oMLX cannot be imported; exit 2 for missing arguments", async () => {
    const { dir, input } = await checkpoint();
    const r = run([input, join(dir, "out.safetensors")], {}, false);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^omlx_prefuse: needs MLX and oMLX \(Apple silicon\): No module named '(mlx|omlx)'\n$/);
    expect(existsSync(join(dir, "out.safetensors"))).toBe(false);
    expect(run([input]).status).toBe(2);
  });

  // Each case starts a Python process that imports numpy (about a second on a loaded 2-core
  // machine): the timeout allows ten seconds a case, for the few cases run.
  const RUNS = 4;
  it("passes the release gate's prefuse stage on generated cases (the workflow's command, with the stand-in)", { timeout: RUNS * 10_000 + 30_000 }, async () => {
    const report = await runGate({
      candidate: `env PYTHONPATH=${STANDIN} '${PYTHON}' ci/adapters/omlx_prefuse.py {input} {output}`,
      stage: "prefuse",
      corpus: null,
      runs: RUNS,
      seed: 1,
      jobs: 1,
      shrink: 0,
      cwd: ROOT,
    });
    expect(report.totals.failed).toBe(0);
    expect(report.totals.passed).toBe(RUNS);
  });
});
