import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { runCliAsync } from "../support/cli-async.js";
import { FakeHub, hubEnv } from "../support/hub-server.js";
import { tempDir } from "../support/tmp.js";
import { repoFiles } from "../support/hub-served.js";

let hub: FakeHub;
let commit: string;
beforeAll(async () => {
  hub = await FakeHub.start();
  commit = hub.publish("acme/cli-tiny", await repoFiles({ family: "olmoe", experts: 3 }));
});
afterAll(() => hub.close());

const env = (cache: string, extra: Record<string, string> = {}) => hubEnv(hub, cache, extra);

describe("hub commands and hf:// inputs", () => {
  it("hub fetch resolves the revision, prints the commit, then serves the pinned commit without a request", async () => {
    const cache = join(tempDir(), "cache");
    const r = await runCliAsync(["hub", "fetch", "acme/cli-tiny"], { env: env(cache) });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`acme/cli-tiny@main -> commit ${commit}`);
    expect(r.stdout).toContain(join(cache, "models--acme--cli-tiny", "snapshots", commit));
    const before = hub.requests.length;
    const again = await runCliAsync(["hub", "fetch", "acme/cli-tiny", "--revision", commit, "--json"], { env: env(cache) });
    expect(JSON.parse(again.stdout)).toMatchObject({ commit, fromCache: true });
    expect(hub.requests.length).toBe(before);
  });

  it("inspect accepts hf://owner/name[@rev], online and then offline from the cache", async () => {
    const cache = join(tempDir(), "cache");
    const online = await runCliAsync(["inspect", "hf://acme/cli-tiny"], { env: env(cache) });
    expect(online.status, online.stderr).toBe(0);
    expect(online.stderr).toContain(`hf://acme/cli-tiny is commit ${commit}`);
    expect(online.stdout).toContain("model.layers.1.mlp.experts.2.down_proj.weight");
    const before = hub.requests.length;
    for (const ref of ["hf://acme/cli-tiny", `hf://acme/cli-tiny@${commit}`]) {
      const offline = await runCliAsync(["inspect", ref, "--json"], { env: env(cache, { HF_HUB_OFFLINE: "1" }) });
      expect(offline.status, offline.stderr).toBe(0);
      expect(offline.stderr).toContain("(from the cache)");
      expect(JSON.parse(offline.stdout).modelType).toBe("olmoe");
    }
    expect(hub.requests.length).toBe(before);
  });

  it("fails in one line when offline and not cached, or for a bad reference", async () => {
    const cache = join(tempDir(), "cache");
    const r = await runCliAsync(["inspect", "hf://acme/cli-tiny"], { env: env(cache, { HF_HUB_OFFLINE: "1" }) });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^moe-prefuse: error: hf:\/\/acme\/cli-tiny@main: HF_HUB_OFFLINE is set and this revision is not complete in the cache/);
    const bad = await runCliAsync(["hub", "fetch", "../../etc"], { env: env(cache) });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^moe-prefuse: error: '..\/..\/etc' is not a Hub model id/);
  });

  it("hub check reports every catalogued repository as skipped, with the reason, offline", async () => {
    const out = join(tempDir(), "report.json");
    const r = await runCliAsync(["hub", "check", "--out", out], { env: env(join(tempDir(), "cache"), { HF_HUB_OFFLINE: "1" }) });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n").slice(1);
    expect(lines.length).toBe(8);
    for (const l of lines) expect(l).toMatch(/ skipped +- +HF_HUB_OFFLINE is set; this check needs the Hub$/);
    const { readFileSync } = await import("node:fs");
    expect(JSON.parse(readFileSync(out, "utf8")).repos).toHaveLength(8);
  });
});
