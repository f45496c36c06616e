import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import { checkRealRepos, compareWithCatalogue } from "../../src/hub/check.js";
import { hubSettings } from "../../src/hub/settings.js";
import { REAL_REPOS, type RealRepo } from "../../src/fixtures-gen/real-repos.js";
import type { FixtureSpec } from "../../src/fixtures-gen/spec.js";
import { FakeHub } from "../support/hub-server.js";
import { tempDir } from "../support/tmp.js";
import { repoFiles } from "../support/hub-served.js";

const entry = (repo: string): RealRepo => REAL_REPOS.find((r) => r.repo === repo)!;

/** Generated stand-ins matching what the catalogue expects of each real repository. */
const STAND_INS: Record<string, FixtureSpec> = {
  "yujiepan/qwen3-moe-tiny-random": { family: "qwen3_moe" },
  "optimum-intel-internal-testing/tiny-random-qwen3moe": { family: "qwen3_moe", experts: 4, hidden: 32, dtype: "F32" },
  "onnx-internal-testing/tiny-random-Qwen3VLMoeForConditionalGeneration": { family: "qwen3_vl_moe", variants: [{ kind: "fused" }] },
  "yujiepan/mixtral-tiny-random": { family: "mixtral" },
  "yujiepan/deepseek-v3-tiny-random": { family: "deepseek_v3", experts: 256 },
  "Adamji/tiny-qwen3-moe-fp8-per-block": { family: "qwen3_moe", experts: 4, fp8: { scaleSuffix: "_scale" } },
  "yujiepan/qwen3.5-moe-tiny-random": { family: "qwen3_5_moe", experts: 8 },
};

describe("catalogue expectations", () => {
  it.each(Object.entries(STAND_INS))("%s: a stand-in built to match has no findings", (repo, spec) => {
    const g = generateCheckpoint(spec);
    expect(compareWithCatalogue(entry(repo), g.config, g.tensors)).toEqual([]);
  });

  it("names every expectation a checkpoint misses", () => {
    const perExpert = generateCheckpoint({ family: "qwen3_vl_moe", experts: 8, hidden: 12 });
    expect(compareWithCatalogue(entry("onnx-internal-testing/tiny-random-Qwen3VLMoeForConditionalGeneration"), perExpert.config, perExpert.tensors)).toEqual([
      "text_config.num_experts is 8, expected 16",
      "text_config.hidden_size is 12, expected 8",
      "model.language_model.layers.0.mlp is per-expert, expected fused-transposed",
      "model.language_model.layers.0.mlp has 8 experts, expected 16",
      "model.language_model.layers.1.mlp is per-expert, expected fused-transposed",
      "model.language_model.layers.1.mlp has 8 experts, expected 16",
    ]);
    const moved = generateCheckpoint({ family: "mixtral", dtype: "BF16", variants: [{ kind: "count-key", keys: [{ key: "num_experts" }] }] });
    expect(compareWithCatalogue(entry("yujiepan/mixtral-tiny-random"), moved.config, moved.tensors)).toEqual([
      "no expert count at num_local_experts (found at: num_experts)",
      "model.layers.0.block_sparse_moe experts are BF16, expected F16",
      "model.layers.1.block_sparse_moe experts are BF16, expected F16",
    ]);
    const inv = generateCheckpoint({ family: "qwen3_moe", experts: 4, fp8: true });
    expect(compareWithCatalogue(entry("Adamji/tiny-qwen3-moe-fp8-per-block"), inv.config, inv.tensors)).toEqual([
      "12 expert weights have no weight_scale (e.g. model.layers.1.mlp.experts.0.down_proj.weight_scale)",
    ]);
    expect(compareWithCatalogue(entry("yujiepan/mixtral-tiny-random"), undefined, new Map())).toEqual(["no config.json"]);
  });
});

describe("hub check", () => {
  let hub: FakeHub;
  beforeAll(async () => {
    hub = await FakeHub.start();
    for (const [repo, spec] of Object.entries(STAND_INS)) if (repo !== "yujiepan/mixtral-tiny-random") hub.publish(repo, await repoFiles(spec));
    // The Hub's mixtral differs from the catalogue: fused by a transformers v5 save.
    hub.publish("yujiepan/mixtral-tiny-random", await repoFiles({ family: "mixtral", variants: [{ kind: "fused" }] }));
  });
  afterAll(() => hub.close());

  const settings = (extra = {}) =>
    hubSettings({}, { endpoint: hub.url, cacheDir: join(tempDir(), "cache"), timeoutMs: 10_000, retries: 0, retryDelayMs: 1, token: undefined, ...extra });

  it("verifies each catalogued repository against what the Hub serves, recording the commit", async () => {
    const report = await checkRealRepos(settings());
    const byRepo = new Map(report.map((r) => [r.repo, r]));
    expect(report.map((r) => r.repo)).toEqual(REAL_REPOS.map((r) => r.repo));
    for (const repo of Object.keys(STAND_INS).filter((r) => r !== "yujiepan/mixtral-tiny-random")) {
      expect(byRepo.get(repo)).toMatchObject({ status: "ok", findings: [] });
      expect(byRepo.get(repo)!.commit).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(byRepo.get("yujiepan/mixtral-tiny-random")).toMatchObject({
      status: "mismatch",
      findings: ["model.layers.0.mlp is fused, expected per-expert", "model.layers.1.mlp is fused, expected per-expert"],
    });
    // Not served at all: an error, not a skip (the Hub answered).
    expect(byRepo.get("tiny-random/qwen3.5-moe")).toMatchObject({ status: "error" });
    expect(byRepo.get("tiny-random/qwen3.5-moe")!.reason).toMatch(/not found on the Hub \(HTTP 404/);
  });

  it("skips everything, saying why, under HF_HUB_OFFLINE", async () => {
    const before = hub.requests.length;
    const report = await checkRealRepos(settings({ offline: true }));
    expect(report.every((r) => r.status === "skipped" && r.reason === "HF_HUB_OFFLINE is set; this check needs the Hub")).toBe(true);
    expect(hub.requests.length).toBe(before);
  });

  it("skips everything, saying why, when the Hub cannot be reached", async () => {
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const report = await checkRealRepos(settings({ endpoint: `http://127.0.0.1:${port}` }));
    expect(report).toHaveLength(REAL_REPOS.length);
    for (const r of report) {
      expect(r.status).toBe("skipped");
      expect(r.reason).toMatch(new RegExp(`^the Hub at http://127.0.0.1:${port} is not reachable: network failure: fetch failed \\(ECONNREFUSED\\)`));
    }
  });
});
