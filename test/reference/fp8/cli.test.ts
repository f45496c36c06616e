// `moe-prefuse dequant <in> <out>` run as a user runs it (the built binary in a child process):
// the golden output on success; on every bad input one `moe-prefuse: error:` line naming the
// file and tensor, exit 1, no output (not even a temporary), and the input byte-identical.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serializeSafetensors } from "../../../src/reference/safetensors/memory.js";
import type { Tensor } from "../../../src/reference/tensor.js";
import { ROOT, runCli } from "../../support/cli.js";
import { tempDir } from "../../support/tmp.js";
import { f32, fp8 } from "./tensors.js";

const GOLDEN = join(ROOT, "corpus", "fp8", "fp8-e4m3-blocks");
const FP8_CONFIG = { model_type: "x", quantization_config: { quant_method: "fp8", fmt: "e4m3", weight_block_size: [128, 128] } };

function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir).map((f) => [
      f,
      createHash("sha256")
        .update(readFileSync(join(dir, f)))
        .digest("hex"),
    ]),
  );
}

function checkpoint(tensors: Record<string, Tensor>, config: object | undefined = FP8_CONFIG): string {
  const dir = join(tempDir(), "in");
  mkdirSync(dir);
  writeFileSync(join(dir, "model.safetensors"), serializeSafetensors(Object.entries(tensors)));
  if (config !== undefined) writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

/** Runs a failing dequant and checks the whole failure contract; returns the error line. */
function fails(input: string, out: string, ...extra: string[]): string {
  const parent = join(out, "..");
  const before = existsSync(parent) ? readdirSync(parent) : [];
  const inputBefore = snapshot(input);
  const r = runCli(["dequant", input, out, ...extra]);
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^moe-prefuse: error: [^\n]+\n$/);
  expect(snapshot(input)).toEqual(inputBefore);
  expect(existsSync(parent) ? readdirSync(parent) : []).toEqual(before);
  return r.stderr;
}

describe("moe-prefuse dequant", () => {
  it("writes the golden output, reports the plan, and leaves the input untouched", () => {
    const input = join(tempDir(), "in");
    cpSync(join(GOLDEN, "input"), input, { recursive: true });
    const before = snapshot(input);
    const out = join(tempDir(), "out");
    const r = runCli(["dequant", input, out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("dequantized 3 FP8 weight(s) to BF16 with fp8 (e4m3, 128x128 blocks; scales <weight>_scale_inv)");
    expect(r.stdout).toContain("removed 3 weight scale(s), dropped 1 activation scale(s), copied 1 tensor(s) unchanged");
    expect(readdirSync(out).sort()).toEqual(["config.json", "model.safetensors"]);
    expect(readFileSync(join(out, "model.safetensors")).equals(readFileSync(join(GOLDEN, "expected", "model.safetensors")))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).quantization_config).toBeUndefined();
    expect(snapshot(input)).toEqual(before);
  });

  it("ends quietly, its output whole, when the reader of its JSON goes away (| head)", () => {
    const out = join(tempDir(), "out");
    const r = spawnSync(
      "bash",
      [
        "-c",
        `set -o pipefail; "${process.execPath}" "${join(ROOT, "bin", "moe-prefuse.js")}" dequant --json "${join(GOLDEN, "input")}" "${out}" | head -c 1 > /dev/null`,
      ],
      { encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(join(out, "model.safetensors")).equals(readFileSync(join(GOLDEN, "expected", "model.safetensors")))).toBe(true);
  });

  it("prints the plan as JSON and shards the output on request", () => {
    const out = join(tempDir(), "out");
    const r = runCli(["dequant", join(GOLDEN, "input"), out, "--json", "--max-shard-size", "60KB"]);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.dequantized.map((e: { weight: string; block: number[] }) => [e.weight.split(".").slice(-2).join("."), e.block])).toEqual([
      ["down_proj.weight", [128, 128]],
      ["gate_proj.weight", [128, 128]],
      ["up_proj.weight", [128, 128]],
    ]);
    expect(report.droppedActivationScales).toEqual(["model.layers.0.mlp.experts.0.down_proj.activation_scale"]);
    expect(report.files).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"]);
    expect(readdirSync(out).sort()).toEqual(["config.json", ...report.files].sort());
  });

  it("refuses a scale grid that does not fit, naming the file, both tensors and both shapes", () => {
    const input = checkpoint({ "a.weight": fp8([130, 200]), "a.weight_scale_inv": f32([1, 2]) });
    const err = fails(input, join(tempDir(), "out"));
    expect(err).toContain(
      `${input}: tensor 'a.weight': scale 'a.weight_scale_inv' has shape [1, 2], but weight 'a.weight' [130, 200] with 128x128 blocks needs [2, 2]`,
    );
  });

  it("refuses FP8 weights without scales, scales without weights, and FP8 without quantization_config", () => {
    expect(fails(checkpoint({ "a.weight": fp8([4, 4]) }), join(tempDir(), "out"))).toContain("tensor 'a.weight': is F8_E4M3 [4, 4] but has no scale tensor");
    expect(fails(checkpoint({ "a.weight_scale_inv": f32([1, 1]) }), join(tempDir(), "out"))).toContain(
      "tensor 'a.weight_scale_inv': is a weight scale but its weight 'a.weight' is not in the checkpoint",
    );
    const noConfig = checkpoint({ "a.weight": fp8([4, 4]), "a.weight_scale_inv": f32([1, 1]) }, { model_type: "x" });
    expect(fails(noConfig, join(tempDir(), "out"))).toContain(`${join(noConfig, "config.json")}: tensor 'a.weight'`);
  });

  it("refuses bad output paths and options before writing anything", () => {
    const input = join(GOLDEN, "input");
    const full = join(tempDir(), "full");
    mkdirSync(full);
    writeFileSync(join(full, "keep"), "x");
    expect(fails(input, full)).toContain("output directory exists and is not empty");
    const copy = join(tempDir(), "in");
    cpSync(input, copy, { recursive: true });
    expect(fails(copy, join(copy, "out"))).toMatch(/output is inside the input checkpoint .*; choose a directory outside it/);
    expect(fails(input, join(tempDir(), "out"), "--max-shard-size", "lots")).toContain("'lots' is not a size");
    expect(fails(join(tempDir(), "missing"), join(tempDir(), "out"))).toContain("no such file or directory");
  });
});
