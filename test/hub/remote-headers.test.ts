import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubError } from "../../src/hub/errors.js";
import { readRemoteHeaders } from "../../src/hub/remote-headers.js";
import { type HubSettings, hubSettings } from "../../src/hub/settings.js";
import { Checkpoint } from "../../src/reference/checkpoint.js";
import { MoePrefuseError } from "../../src/reference/errors.js";
import { FakeHub, type LoggedRequest, type ServedFile } from "../support/hub-server.js";
import { repoFiles } from "../support/hub-served.js";
import { tempDir } from "../support/tmp.js";

let hub: FakeHub;
let sharded: ServedFile[];
let single: ServedFile[];

beforeAll(async () => {
  hub = await FakeHub.start();
  // Big enough experts that headers are a small part of each file, as in real checkpoints.
  sharded = await repoFiles({ family: "qwen3_moe", experts: 8, hidden: 256, intermediate: 128, shards: 3 });
  single = await repoFiles({ family: "olmoe", experts: 6, hidden: 256, intermediate: 128 });
});
afterAll(() => hub.close());

let repoCount = 0;
function publish(files: readonly ServedFile[]): { repo: string; commit: string } {
  const repo = `acme/plan-${repoCount++}`;
  return { repo, commit: hub.publish(repo, [...files]) };
}

function settings(extra: Partial<HubSettings> = {}): HubSettings {
  return hubSettings(
    {},
    { endpoint: hub.url, cacheDir: join(tempDir(), "hf-cache"), timeoutMs: 2000, retries: 1, retryDelayMs: 5, token: undefined, ...extra },
  );
}

const of = (repo: string) => (r: LoggedRequest) => r.path.includes(`/${repo}/`);
const weights = (files: readonly ServedFile[]) => files.filter((f) => f.path.endsWith(".safetensors"));
const checkpointBytes = (files: readonly ServedFile[]) => weights(files).reduce((a, f) => a + f.data.length, 0);

/** The files as a local checkpoint directory. */
function onDisk(files: readonly ServedFile[]): string {
  const dir = join(tempDir(), "local");
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f.path), f.data);
  return dir;
}

async function failure(p: Promise<unknown>): Promise<MoePrefuseError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MoePrefuseError);
    expect((e as Error).message).not.toContain("\n");
    return e as MoePrefuseError;
  }
  throw new Error("expected the read to fail");
}

/** A served .safetensors file whose 8-byte length says `n`, followed by `rest` bytes. */
function lengthOnly(n: bigint, rest: number): Uint8Array {
  const data = new Uint8Array(8 + rest);
  new DataView(data.buffer).setBigUint64(0, n, true);
  data.fill(0x7b, 8);
  return data;
}

describe("reading a Hub checkpoint's headers with range requests", () => {
  it.each([
    ["sharded", () => sharded],
    ["single-file", () => single],
  ])("%s: the local checkpoint's tensors, at most two header-sized requests per file, under a hundredth of its bytes", async (_, files) => {
    const { repo, commit } = publish(files());
    const r = await readRemoteHeaders({ repo, settings: settings() });
    expect(r.commit).toBe(commit);
    expect(r.fromCache).toBe(false);

    const local = await Checkpoint.open(onDisk(files()));
    expect([...r.specs].map(([n, s]) => [n, s.dtype, s.shape])).toEqual([...local.tensors].map(([n, t]) => [n, t.dtype, t.shape]));
    expect(r.config).toEqual(local.config);
    await local.close();

    for (const f of weights(files())) {
      const asked = hub.requests.filter((q) => q.path === `/${repo}/resolve/${commit}/${f.path}`);
      expect(asked.length, f.path).toBeLessThanOrEqual(2);
      // Every request for a weight file asks for a range within its header.
      for (const q of asked) {
        const m = /^bytes=(\d+)-(\d+)$/.exec(q.range ?? "");
        expect(m, `${f.path} ${q.range}`).not.toBeNull();
        const n = Number(new DataView(f.data.buffer, f.data.byteOffset, 8).getBigUint64(0, true));
        expect(Number(m![2])).toBeLessThan(8 + n);
      }
    }
    const served = hub.bytesServed(of(repo));
    expect(served).toBeLessThanOrEqual(0.01 * checkpointBytes(files()));
  });

  it("caches by commit: a pinned commit is read again without a request, a branch with one (the commit lookup)", async () => {
    const { repo, commit } = publish(single);
    const s = settings();
    const first = await readRemoteHeaders({ repo, revision: commit, settings: s });
    const before = hub.count(of(repo));
    expect(before).toBeGreaterThan(0);
    const again = await readRemoteHeaders({ repo, revision: commit, settings: s });
    expect(again.fromCache).toBe(true);
    expect(hub.count(of(repo))).toBe(before);
    expect([...again.specs]).toEqual([...first.specs]);
    await readRemoteHeaders({ repo, settings: s });
    expect(
      hub.requests
        .filter(of(repo))
        .slice(before)
        .map((q) => q.path),
    ).toEqual([expect.stringMatching(new RegExp(`^/api/models/${repo}/revision/main`))]);
    // Offline: the branch's commit comes from refs/, the headers from the cache.
    const offline = await readRemoteHeaders({ repo, settings: { ...s, offline: true } });
    expect(offline.commit).toBe(commit);
    expect(hub.count(of(repo))).toBe(before + 1);
  });

  it("a gated repository needs the token, and gets it", async () => {
    const { repo } = publish(single);
    hub.gate(repo, "hf_secret");
    const denied = await failure(readRemoteHeaders({ repo, settings: settings() }));
    expect(denied).toBeInstanceOf(HubError);
    expect(denied.code).toBe("UNAUTHORIZED");
    const r = await readRemoteHeaders({ repo, settings: settings({ token: "hf_secret" }) });
    expect(r.specs.size).toBeGreaterThan(10);
    expect(hub.requests.filter(of(repo)).at(-1)!.authorization).toBe("Bearer hf_secret");
  });

  it("follows the redirect to another origin (the Hub's CDN) without the token", async () => {
    const cdn = await FakeHub.start();
    try {
      const { repo, commit } = publish(single);
      expect(cdn.publish(repo, [...single])).toBe(commit);
      hub.gate(repo, "hf_secret");
      hub.lfsRedirect = cdn;
      const r = await readRemoteHeaders({ repo, settings: settings({ token: "hf_secret" }) });
      expect(r.specs.size).toBeGreaterThan(10);
      expect(cdn.count()).toBe(2);
      expect(cdn.requests.map((q) => q.authorization)).toEqual([undefined, undefined]);
      expect(hub.requests.filter(of(repo)).every((q) => q.authorization === "Bearer hf_secret")).toBe(true);
    } finally {
      hub.lfsRedirect = undefined;
      await cdn.close();
    }
  });

  it("404s: an unknown repository, an unknown revision", async () => {
    const { repo } = publish(single);
    expect((await failure(readRemoteHeaders({ repo: "acme/nope", settings: settings() }))).code).toBe("NOT_FOUND");
    expect((await failure(readRemoteHeaders({ repo, revision: "no-such-branch", settings: settings() }))).code).toBe("NOT_FOUND");
  });

  it("refuses, in one line and after one request per file at most, a server that ignores Range", async () => {
    const { repo, commit } = publish(sharded);
    hub.ignoreRange = true;
    try {
      const e = await failure(readRemoteHeaders({ repo, settings: settings() }));
      expect(e.code).toBe("RANGE_IGNORED");
      expect(e.message).toMatch(/ignored the byte-range request .* refusing to download it/);
    } finally {
      hub.ignoreRange = false;
    }
    for (const f of weights(sharded)) expect(hub.count((q) => q.path === `/${repo}/resolve/${commit}/${f.path}`)).toBeLessThanOrEqual(1);
  });

  it("refuses a header over the 100 MB limit, and a length past the end of the file, from the first 8 bytes", async () => {
    const config = single.find((f) => f.path === "config.json")!;
    for (const [data, code] of [
      [lengthOnly(100_000_001n, 64), "HEADER_TOO_LARGE"],
      [lengthOnly(4096n, 64), "INVALID_HEADER_LENGTH"],
      [lengthOnly(2n ** 63n, 0), "HEADER_TOO_LARGE"],
    ] as const) {
      const { repo, commit } = publish([config, { path: "model.safetensors", data, lfs: true }]);
      const e = await failure(readRemoteHeaders({ repo, settings: settings() }));
      expect(e.code).toBe(code);
      expect(e.message).toContain(`hf://${repo}@${commit}/model.safetensors`);
      expect(hub.requests.filter((q) => q.path === `/${repo}/resolve/${commit}/model.safetensors`).map((q) => q.range)).toEqual(["bytes=0-7"]);
    }
  });

  it("checks the index against the headers, as for a local checkpoint", async () => {
    const files = sharded.map((f) => {
      if (f.path !== "model.safetensors.index.json") return f;
      const index = JSON.parse(new TextDecoder().decode(f.data));
      index.weight_map["model.layers.0.mlp.experts.0.gate_proj.weight"] = "model-00001-of-00003.safetensors";
      index.weight_map["model.layers.0.mlp.experts.0.up_proj.weight"] = "model-00002-of-00003.safetensors";
      return { ...f, data: new TextEncoder().encode(JSON.stringify(index)) };
    });
    const { repo } = publish(files);
    const e = await failure(readRemoteHeaders({ repo, settings: settings() }));
    expect(e.code).toBe("INDEX_MISMATCH");
  });
});
