// The independent FP8 oracle (ci/oracles/fp8_dequant_oracle.py: numpy only, no code shared with
// this package) run as a child process. The golden corpus takes the expected output of its FP8
// cases from it, so that those bytes come from an implementation outside this code base.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONFIG_FILE, SINGLE_FILE } from "../reference/checkpoint.js";
import type { CaseInput } from "./answer.js";

export const FP8_ORACLE_SCRIPT = join("ci", "oracles", "fp8_dequant_oracle.py");

export interface Fp8Oracle {
  readonly python: string;
  readonly script: string;
}

/** The oracle under `root`, or why it cannot run here (no script, no python3, no numpy). */
export function findFp8Oracle(root: string, python = process.env.MOE_PREFUSE_PYTHON ?? "python3"): Fp8Oracle | string {
  const script = join(root, FP8_ORACLE_SCRIPT);
  if (!existsSync(script)) return `${script} is not there (an installed package does not ship it)`;
  const probe = spawnSync(python, ["-c", "import numpy"], { encoding: "utf8" });
  if (probe.error !== undefined) return `${python} cannot be run (${probe.error.message})`;
  if (probe.status !== 0) return `${python} has no numpy`;
  return { python, script };
}

/**
 * The oracle's dequantization of a case input: the whole output safetensors file. `rules` names
 * one of the oracle's own cases (whose block rules it knows); without it the oracle reads the
 * config's `fp8` method.
 */
export async function oracleDequant(oracle: Fp8Oracle, input: CaseInput, rules?: string): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), "moe-prefuse-oracle-"));
  try {
    await writeFile(join(dir, CONFIG_FILE), input.configText);
    await writeFile(join(dir, SINGLE_FILE), input.model);
    const out = join(dir, "expected.safetensors");
    const r = spawnSync(oracle.python, [oracle.script, "dequant", dir, out, ...(rules === undefined ? [] : [rules])], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${oracle.script} dequant failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split("\n").at(-1)}`);
    return new Uint8Array(await readFile(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
