// The committed golden FP8 cases (corpus/fp8/<case>/{input,expected}): the expected
// checkpoints were computed by ci/oracles/fp8_dequant_oracle.py, a numpy implementation sharing
// no code with this one (cross-checked against torch and ml_dtypes: see the README). Our output
// must equal them byte for byte, whole safetensors file included; and the oracle, rerun on the
// committed inputs, must still produce the committed outputs.

import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dequantCheckpoint } from "../../../src/reference/fp8/checkpoint.js";
import { parseSafetensors } from "../../../src/reference/safetensors/memory.js";
import { ROOT } from "../../support/cli.js";
import { tempDir } from "../../support/tmp.js";

const FIXTURES = join(ROOT, "corpus", "fp8");
const CASES = readdirSync(FIXTURES).sort();

describe("golden FP8 cases", () => {
  it("has the cases the oracle writes", () => {
    expect(CASES).toEqual(["compressed-tensors-channel", "fp8-e4m3-blocks", "fp8-e5m2-e8m0", "quark-per-block"]);
  });

  it.each(CASES)("%s: our output equals the oracle's, byte for byte", async (name) => {
    const out = join(tempDir(), "out");
    await dequantCheckpoint(join(FIXTURES, name, "input"), out);
    const expected = readFileSync(join(FIXTURES, name, "expected", "model.safetensors"));
    const ours = readFileSync(join(out, "model.safetensors"));
    // Tensor by tensor first, so a failure names the tensor.
    const want = parseSafetensors(expected).tensors;
    const got = parseSafetensors(ours).tensors;
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [tensor, t] of want) {
      const g = got.get(tensor)!;
      expect([g.dtype, g.shape], tensor).toEqual([t.dtype, t.shape]);
      expect(Buffer.from(g.data).equals(Buffer.from(t.data)), `${tensor} bytes`).toBe(true);
    }
    expect(ours.equals(expected)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8"))).toEqual(
      JSON.parse(readFileSync(join(FIXTURES, name, "expected", "config.json"), "utf8")),
    );
  });

  it("the numpy oracle reproduces the committed expected outputs from the committed inputs", () => {
    const report = execFileSync("python3", [join(ROOT, "ci", "oracles", "fp8_dequant_oracle.py"), "check", FIXTURES], { encoding: "utf8" });
    expect(report.trim().split("\n")).toEqual(CASES.map(() => expect.stringMatching(/: ok$/)));
  });
});
