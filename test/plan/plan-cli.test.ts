// `moe-prefuse plan`: the plan `fuse --json` prints for the same files (locally and from the Hub
// stand-in), from headers alone, with a memory estimate per strategy and chunk size.

import { DEQUANT_WORKER_BYTES } from "../../src/plan/memory.js";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeGeneratedCheckpoint } from "../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../src/fixtures-gen/spec.js";
import { runCliAsync } from "../support/cli-async.js";
import { FakeHub, type LoggedRequest, type ServedFile, hubEnv } from "../support/hub-server.js";
import { tempDir } from "../support/tmp.js";

interface PlanJson {
  checkpoint: string;
  commit: string | null;
  stage: string;
  plan: Record<string, unknown> & { summary: Record<string, number>; layers: { state: string }[] };
  dequant: Record<string, unknown> | null;
  budget: number;
  dequantThreads: number | null;
  memory: { strategy: string; chunk: number; peakBytes: number; fits: boolean }[];
}

let hub: FakeHub;
beforeAll(async () => {
  hub = await FakeHub.start();
});
afterAll(() => hub.close());

const env = (cache: string, extra: Record<string, string> = {}) => hubEnv(hub, cache, extra);

async function generated(spec: FixtureSpec): Promise<{ dir: string; files: ServedFile[] }> {
  const dir = join(tempDir(), "ckpt");
  await writeGeneratedCheckpoint(dir, spec);
  const files = readdirSync(dir).map((name) => ({ path: name, data: readFileSync(join(dir, name)), lfs: name.endsWith(".safetensors") }));
  return { dir, files };
}

async function fuseJson(dir: string, extra: string[] = []): Promise<{ plan: unknown; dequant: unknown }> {
  const r = await runCliAsync(["fuse", dir, join(tempDir(), "out"), "--json", ...extra]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function planJson(arg: string, extra: string[] = [], cache = join(tempDir(), "cache")): Promise<PlanJson> {
  const r = await runCliAsync(["plan", arg, "--json", ...extra], { env: env(cache) });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** The plan with config.json named alike, wherever it was read from. */
const sameConfigName = (plan: unknown, configFile: string) => JSON.parse(JSON.stringify(plan).replaceAll(configFile, "config.json"));

let repoCount = 0;
const weightRequests = (repo: string) => (r: LoggedRequest) => r.path.startsWith(`/${repo}/resolve/`) && r.path.endsWith(".safetensors");

const PARTIAL_AND_FUSED: FixtureSpec = {
  family: "mixtral",
  experts: 6,
  layers: 3,
  shards: 2,
  variants: [
    { kind: "partial", defect: "drop-projection", layer: 1, expert: 2, projection: "gate" },
    { kind: "fused", layer: 2 },
  ],
};

describe("moe-prefuse plan", () => {
  it.each([["fused"], ["switch_mlp"]])("a local checkpoint: the plan fuse --json prints (target %s), with every state", async (target) => {
    const { dir } = await generated(PARTIAL_AND_FUSED);
    const planned = await planJson(dir, ["--target", target]);
    const fused = await fuseJson(dir, ["--target", target]);
    expect(planned.plan).toEqual(fused.plan);
    expect(planned.dequant).toBeNull();
    expect(planned.stage).toBe(target === "fused" ? "prefuse" : "switch_mlp");
    expect(new Set(planned.plan.layers.map((l) => l.state))).toEqual(
      new Set(target === "fused" ? ["fused", "untouched", "already-fused"] : ["fused", "untouched"]),
    );
  });

  it("an FP8 checkpoint is planned as fuse --dequant-fp8 plans it, its memory with BF16 experts", async () => {
    const { dir } = await generated({ family: "qwen3_moe", experts: 4, hidden: 32, intermediate: 32, fp8: { blockSize: [16, 16] } });
    const planned = await planJson(dir);
    const fused = await fuseJson(dir, ["--dequant-fp8"]);
    expect(planned.stage).toBe("dequant+prefuse");
    expect(planned.plan).toEqual(fused.plan);
    expect(planned.dequant).toEqual(fused.dequant);
    expect(planned.plan.summary.fused).toBeGreaterThan(0);
    // The stream's estimate counts the dequantization's worker threads: --threads N is the main thread and N - 1 workers.
    const one = await planJson(dir, ["--threads", "1"]);
    const four = await planJson(dir, ["--threads", "4"]);
    expect([one.dequantThreads, four.dequantThreads]).toEqual([1, 4]);
    const stream = (p: PlanJson) => p.memory.find((m) => m.strategy === "stream")!.peakBytes;
    expect(stream(four) - stream(one)).toBe(3 * DEQUANT_WORKER_BYTES);
  });

  it("a Hub repository: the same plan as fuse on the files, header-sized requests only, then none for the pinned commit", async () => {
    const { dir, files } = await generated(PARTIAL_AND_FUSED);
    const repo = `acme/plan-cli-${repoCount++}`;
    const commit = hub.publish(repo, files);
    const cache = join(tempDir(), "cache");
    const planned = await planJson(`hf://${repo}`, [], cache);
    expect(planned.checkpoint).toBe(`hf://${repo}@${commit}`);
    expect(planned.commit).toBe(commit);
    const fused = await fuseJson(dir);
    expect(sameConfigName(planned.plan, `hf://${repo}@${commit}/config.json`)).toEqual(sameConfigName(fused.plan, join(dir, "config.json")));

    const asked = hub.requests.filter(weightRequests(repo));
    expect(asked.length).toBeLessThanOrEqual(2 * files.filter((f) => f.lfs).length);
    for (const q of asked) expect(q.range).toMatch(/^bytes=\d+-\d+$/);

    const before = hub.requests.length;
    const again = await planJson(`hf://${repo}@${commit}`, [], cache);
    expect(hub.requests.length).toBe(before);
    expect(again.plan).toEqual(planned.plan);
    expect(again.memory).toEqual(planned.memory);
  });

  it("one memory entry per strategy and chunk size, judged against --memory-budget", async () => {
    const { dir } = await generated({ family: "qwen3_moe", experts: 8, hidden: 64, intermediate: 32 });
    const planned = await planJson(dir, ["--chunk", "1,16", "--memory-budget", "1MB"]);
    expect(planned.budget).toBe(1_000_000);
    expect(planned.memory.map((m) => [m.strategy, m.chunk])).toEqual([
      ["oq-eager", 1],
      ["oq-eager", 16],
      ["prealloc", 1],
      ["prealloc", 16],
      ["stream", 1],
      ["stream", 16],
    ]);
    for (const m of planned.memory) expect(m.fits).toBe(m.peakBytes <= 1_000_000);
    const peak = (s: string, c = 16) => planned.memory.find((m) => m.strategy === s && m.chunk === c)!.peakBytes;
    // The eager ways hold the checkpoint plus a layer's transient (4eE against 3eE); the stream
    // holds its step buffers, larger with the chunk.
    expect(peak("oq-eager")).toBeGreaterThan(peak("prealloc"));
    expect(peak("oq-eager", 1)).toBe(peak("oq-eager", 16));
    expect(peak("stream", 1)).toBeLessThan(peak("stream", 16));

    const budget = Math.floor((peak("stream") + peak("oq-eager")) / 2);
    const text = await runCliAsync(["plan", dir, "--memory-budget", String(budget)]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^checkpoint .*: \d+ tensors/);
    expect(text.stdout).toContain("(--memory-budget)");
    const small = peak("stream") < peak("oq-eager") ? "stream" : "oq-eager";
    const large = small === "stream" ? "oq-eager" : "stream";
    expect(text.stdout).toMatch(new RegExp(`\\b${small} +16 +[\\d.]+ (B|KiB|MiB) +yes`));
    expect(text.stdout).toMatch(new RegExp(`\\b${large} +16 +[\\d.]+ (B|KiB|MiB) +no \\(needs `));
  });

  it("a server that ignores Range: one line and exit 1, or with --allow-download the plan from the start of its whole-file answers", async () => {
    const { files } = await generated({ family: "olmoe", experts: 4 });
    const repo = `acme/plan-cli-${repoCount++}`;
    hub.publish(repo, files);
    hub.ignoreRange = true;
    try {
      const cache = join(tempDir(), "cache");
      const refused = await runCliAsync(["plan", `hf://${repo}`], { env: env(cache) });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(
        /^moe-prefuse: error: hf:\/\/acme\/plan-cli-\d+@[0-9a-f]{40}\/model\.safetensors: the server ignored the byte-range request .*--allow-download.*\n$/,
      );
      const allowed = await runCliAsync(["plan", `hf://${repo}`, "--allow-download", "--json"], { env: env(cache) });
      expect(allowed.status, allowed.stderr).toBe(0);
      expect(JSON.parse(allowed.stdout).plan.summary.fused).toBeGreaterThan(0);
    } finally {
      hub.ignoreRange = false;
    }
  });

  it("bad options and missing repositories fail in one line", async () => {
    const cache = join(tempDir(), "cache");
    for (const [args, message] of [
      [["plan", "hf://acme/none"], /^moe-prefuse: error: hf:\/\/acme\/none@main: not found on the Hub/],
      [["plan", "x", "--chunk", "0"], /--chunk must list whole numbers of at least 1/],
      [["plan", "x", "--target", "mlx"], /--target must be one of fused, switch_mlp/],
      [["plan", "x", "--memory-budget", "lots"], /'lots' is not a size/],
      [["plan", "x", "--threads", "0"], /--threads must be a whole number from 1 to 256, not '0'/],
    ] as const) {
      const r = await runCliAsync(args, { env: env(cache) });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd()).not.toContain("\n");
    }
  });
});
