import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, type CliResult, runCli } from "../support/cli.js";
import { expertName, hashTree, tinyMoe, writeTinyCheckpoint } from "../support/moe.js";
import { tempDir } from "../support/tmp.js";

const PREFIXES = ["model.language_model.layers.0.mlp", "model.language_model.layers.1.mlp", "mtp.layers.0.mlp"];
const CONFIG = { model_type: "qwen3_5_moe", text_config: { model_type: "qwen3_5_moe_text", num_experts: 4 } };

async function checkpoint(config: Readonly<Record<string, unknown>> = CONFIG, drop: string[] = []): Promise<string> {
  const dir = join(tempDir(), "in");
  const w = tinyMoe({ prefixes: PREFIXES, E: 4, I: 2, H: 3 });
  for (const d of drop) w.delete(d);
  await writeTinyCheckpoint(dir, w, config);
  return dir;
}

/** One-line error, exit 1, no output directory, input unchanged. */
function expectRefusal(r: CliResult, out: string, input: string, before: Record<string, string>, message: RegExp): void {
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^moe-prefuse: error: [^\n]+\n$/);
  expect(r.stderr).toMatch(message);
  expect(existsSync(out)).toBe(false);
  expect(hashTree(input)).toEqual(before);
}

describe("moe-prefuse fuse", () => {
  it("fuses a checkpoint and prints the plan; no progress bar off a terminal", async () => {
    const input = await checkpoint();
    const out = join(input, "..", "out");
    const r = runCli(["fuse", input, out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("plan: target fused, layout qwen3_5_moe (model_type qwen3_5_moe), 4 experts from text_config.num_experts");
    expect(r.stdout).toMatch(
      /model\.language_model\.layers\.0\.mlp\s+fused\s+PER_EXPERT_COMPLETE\s+4\s+12 tensors -> experts\.gate_up_proj \[4, 4, 3\], experts\.down_proj \[4, 3, 2\] BF16/,
    );
    expect(r.stdout).toContain("layers: 3 fused, 0 untouched, 0 already fused, 0 dense");
    expect(readdirSync(out).sort()).toEqual(["config.json", "model.safetensors"]);
  });

  it("--json prints the plan and the result; --chunk never changes the bytes; --target switch_mlp", async () => {
    const input = await checkpoint();
    const root = join(input, "..");
    const r = runCli(["fuse", input, join(root, "a"), "--json", "--chunk", "3"]);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.plan.expertCount).toEqual({ count: 4, key: "text_config.num_experts" });
    expect(j.plan.layers.map((l: { prefix: string; state: string }) => [l.prefix, l.state])).toEqual(PREFIXES.map((p) => [p, "fused"]));
    expect(j.plan.outputs).toHaveLength(6);
    expect(j.result).toMatchObject({ outDir: join(root, "a"), files: ["model.safetensors"], tensors: 2 + 3 + 6, chunk: 3, engine: "typed" });
    expect(runCli(["fuse", input, join(root, "b"), "--chunk", "1", "--engine", "onnx"]).status).toBe(0);
    expect(hashTree(join(root, "a"))).toEqual(hashTree(join(root, "b")));
    const s = runCli(["fuse", input, join(root, "c"), "--json", "--target", "switch_mlp", "--max-shard-size", "300B"]);
    expect(s.status).toBe(0);
    const sj = JSON.parse(s.stdout);
    expect(sj.plan.outputs.map((o: { name: string }) => o.name)).toContain("mtp.layers.0.mlp.switch_mlp.gate_proj.weight");
    expect(sj.result.files).toContain("model.safetensors.index.json");
  });

  it("leaves a partial layer untouched, fuses the others, and warns", async () => {
    const input = await checkpoint(CONFIG, [expertName(PREFIXES[1]!, 2, "up_proj")]);
    const r = runCli(["fuse", input, join(input, "..", "out"), "--json"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`moe-prefuse: warning: layer ${PREFIXES[1]} left untouched: expert 2 has no up_proj.weight\n`);
    const layers = JSON.parse(r.stdout).plan.layers;
    expect(layers[1]).toMatchObject({ state: "untouched", reasons: [{ code: "MISSING_TENSOR", expert: 2, projection: "up" }] });
    expect(layers[0].state).toBe("fused");
  });

  it("--strict refuses a layer that cannot be fused, naming it and the tensor, and writes nothing", async () => {
    const input = await checkpoint(CONFIG, [expertName(PREFIXES[1]!, 2, "up_proj")]);
    const out = join(input, "..", "out");
    expectRefusal(
      runCli(["fuse", input, out, "--strict"]),
      out,
      input,
      hashTree(input),
      new RegExp(`layer ${PREFIXES[1]!.replace(/\./g, "\\.")} cannot be fused: expert 2 has no up_proj\\.weight`),
    );
    const complete = await checkpoint();
    expect(runCli(["fuse", complete, join(complete, "..", "ok"), "--strict"]).status).toBe(0);
  });

  it("refuses output paths that exist, equal the input or lie inside it", async () => {
    const input = await checkpoint();
    const before = hashTree(input);
    const full = join(input, "..", "full");
    mkdirSync(full);
    writeFileSync(join(full, "keep"), "x");
    const r = runCli(["fuse", input, full]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^moe-prefuse: error: .*full: output directory exists and is not empty\n$/);
    expect(readdirSync(full)).toEqual(["keep"]);
    const same = runCli(["fuse", input, input]);
    expect(same.status).toBe(1);
    expect(same.stderr).toMatch(/output is the input checkpoint/);
    expectRefusal(runCli(["fuse", input, join(input, "out")]), join(input, "out"), input, { ...before }, /is inside the input checkpoint/);
    expect(hashTree(input)).toEqual(before);
  });

  it.each([
    ["missing config.json", (dir: string) => rmSync(join(dir, "config.json")), /config\.json: missing/],
    ["invalid JSON", (dir: string) => writeFileSync(join(dir, "config.json"), "{ num_experts: 4 "), /config\.json: not valid JSON/],
    [
      "a negative expert count",
      (dir: string) => writeFileSync(join(dir, "config.json"), '{"num_experts": -4}'),
      /config\.json: 'num_experts' must be a positive integer expert count, got -4/,
    ],
    [
      "a non-integer expert count",
      (dir: string) => writeFileSync(join(dir, "config.json"), '{"text_config": {"num_local_experts": 2.5}}'),
      /'text_config\.num_local_experts' must be a positive integer expert count, got 2\.5/,
    ],
    [
      "a tensor whose shape does not match its bytes",
      (dir: string) => {
        const json = '{"model.layers.0.mlp.experts.0.gate_proj.weight":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,10]}}';
        const header = Buffer.from(json.padEnd(Math.ceil(json.length / 8) * 8, " "));
        const size = Buffer.alloc(8);
        size.writeBigUInt64LE(BigInt(header.length));
        writeFileSync(join(dir, "model.safetensors"), Buffer.concat([size, header, Buffer.alloc(10)]));
      },
      /model\.safetensors: tensor 'model\.layers\.0\.mlp\.experts\.0\.gate_proj\.weight': data_offsets \[0, 10\] hold 10 bytes but BF16 \[2, 3\] needs 12/,
    ],
    [
      "an unreadable shard (a directory)",
      (dir: string) => {
        rmSync(join(dir, "model.safetensors"));
        mkdirSync(join(dir, "model-00001-of-00001.safetensors"));
        writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: { x: "model-00001-of-00001.safetensors" } }));
      },
      /model-00001-of-00001\.safetensors: is a directory, not a regular file; inputs must be regular files/,
    ],
    [
      "a missing shard (dangling link)",
      (dir: string) => {
        rmSync(join(dir, "model.safetensors"));
        symlinkSync(join(dir, "gone"), join(dir, "model-00001-of-00001.safetensors"));
        writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: { x: "model-00001-of-00001.safetensors" } }));
      },
      /model-00001-of-00001\.safetensors: cannot open \(ENOENT\)/,
    ],
  ])("refuses %s with one line, exit 1, no output, input untouched", async (_what, breakIt, message) => {
    const input = await checkpoint();
    breakIt(input);
    const before = hashTree(input);
    const out = join(input, "..", "out");
    expectRefusal(runCli(["fuse", input, out]), out, input, before, message);
  });

  it.each([
    [["--chunk", "0"], /--chunk must be a whole number, at least 1, not '0'/],
    [["--chunk", "2.5"], /--chunk must be a whole number/],
    [["--target", "mlx"], /--target must be one of fused, switch_mlp, not 'mlx'/],
    [["--engine", "gpu"], /--engine must be one of typed, onnx/],
    [["--max-shard-size", "big"], /'big' is not a size/],
  ])("rejects the option %j", async (flags, message) => {
    const input = await checkpoint();
    const before = hashTree(input);
    const out = join(input, "..", "out");
    expectRefusal(runCli(["fuse", input, out, ...flags]), out, input, before, message);
  });
});

// Disk full: a 1 MiB tmpfs when this process may mount one (root in a container), else a file
// size limit (`ulimit -f`, SIGXFSZ ignored so the write fails with EFBIG instead of killing node).
// MOE_NO_MOUNT=1 forces the fallback.
const mountPoint = mkdtempSync(join(tmpdir(), "moe-prefuse-full-"));
const mounted = process.env.MOE_NO_MOUNT === undefined && spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]).status === 0;
afterAll(() => {
  if (mounted) spawnSync("umount", [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe(`moe-prefuse fuse on a full disk (simulated with ${mounted ? "a 1 MiB tmpfs mount" : "ulimit -f 512"})`, () => {
  it("fails with one line, leaves no partial output and the input untouched", async () => {
    const input = join(tempDir(), "in");
    await writeTinyCheckpoint(input, tinyMoe({ prefixes: PREFIXES.slice(0, 2), E: 8, I: 64, H: 256 }), CONFIG);
    const before = hashTree(input);
    const out = join(mountPoint, "out");
    const r = mounted
      ? runCli(["fuse", input, out])
      : (() => {
          const p = spawnSync("bash", ["-c", `ulimit -f 512; trap "" XFSZ; exec "${process.execPath}" "${BIN}" fuse "$0" "$1"`, input, out], {
            encoding: "utf8",
          });
          return { status: p.status ?? -1, stdout: p.stdout, stderr: p.stderr };
        })();
    expectRefusal(r, out, input, before, mounted ? /out: write failed: no space left on device; nothing was written/ : /out: write failed: file too large/);
    expect(readdirSync(mountPoint)).toEqual([]);
  });
});
