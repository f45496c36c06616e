import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../../src/reference/checkpoint.js";
import { type FetchRepoResult, fetchRepo } from "../../src/hub/fetch-repo.js";
import { type HubSettings, hubSettings } from "../../src/hub/settings.js";
import { FakeHub, type LoggedRequest, type ServedFile, sha256 } from "../support/hub-server.js";
import { hubFailure } from "../support/hub-failure.js";
import { tempDir } from "../support/tmp.js";
import { repoFiles } from "../support/hub-served.js";

let hub: FakeHub;
let v1: ServedFile[];
let v2: ServedFile[];
let sharded: ServedFile[];

beforeAll(async () => {
  hub = await FakeHub.start();
  v1 = await repoFiles({ family: "qwen3_moe", experts: 4, hidden: 16, intermediate: 8, seed: 1 });
  v2 = await repoFiles({ family: "qwen3_moe", experts: 4, hidden: 16, intermediate: 8, seed: 2 });
  sharded = await repoFiles({ family: "mixtral", experts: 4, shards: 3 });
});
afterAll(() => hub.close());

let repoCount = 0;
/** A fresh repository name per test, so request counts and faults never leak between tests. */
function publish(files: ServedFile[], branch = "main"): { repo: string; commit: string } {
  const repo = `acme/tiny-${repoCount++}`;
  return { repo, commit: hub.publish(repo, files, branch) };
}

/**
 * The loopback Hub answers in milliseconds, but a loaded 2-core machine can hold a request for
 * seconds: the client's no-response timeout is generous (10 s), so only an injected fault ever
 * times out. The tests of the timeout itself use HANG_MS, and check that the request that timed
 * out is the one that hung.
 */
const TIMEOUT_MS = 10_000;
/** Long enough that a request which is answered is never taken for a hang, short enough to wait for twice. */
const HANG_MS = 1_500;

function settings(extra: Partial<HubSettings> = {}): HubSettings {
  return hubSettings(
    {},
    { endpoint: hub.url, cacheDir: join(tempDir(), "hf-cache"), timeoutMs: TIMEOUT_MS, retries: 1, retryDelayMs: 5, token: undefined, ...extra },
  );
}

const of = (repo: string) => (r: LoggedRequest) => r.path.includes(`/${repo}/`);
const downloads = (repo: string) => (r: LoggedRequest) => r.path.startsWith(`/${repo}/resolve/`);

const failure = (p: Promise<unknown>) => hubFailure(p);

/** Every file under `dir`, relative. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

async function expectCheckpoint(result: FetchRepoResult, files: ServedFile[]): Promise<void> {
  for (const f of files) expect(Buffer.from(readFileSync(join(result.snapshotDir, f.path))).equals(Buffer.from(f.data)), f.path).toBe(true);
  const ckpt = await Checkpoint.open(result.snapshotDir);
  expect(ckpt.tensors.size).toBeGreaterThan(10);
  await ckpt.close();
}

describe("hub fetch against a local Hub", () => {
  it("downloads into the Hugging Face cache layout, verified, and the reference reader loads it", async () => {
    const { repo, commit } = publish(v1);
    const s = settings();
    const result = await fetchRepo({ repo, settings: s });
    expect(result).toMatchObject({ repo, revision: "main", commit, fromCache: false });
    expect(result.files.map((f) => [f.path, f.source])).toEqual([
      ["README.md", "download"],
      ["model.safetensors", "download"],
      ["config.json", "download"],
    ]);
    await expectCheckpoint(result, v1);
    const folder = join(s.cacheDir, `models--${repo.replace("/", "--")}`);
    expect(readFileSync(join(folder, "refs", "main"), "utf8")).toBe(commit);
    const weights = v1.find((f) => f.path === "model.safetensors")!;
    expect(readlinkSync(join(folder, "snapshots", commit, "model.safetensors"))).toBe(`../../blobs/${sha256(weights.data)}`);
    expect(lstatSync(join(folder, "blobs", sha256(weights.data))).isFile()).toBe(true);
    // modelInfo, one listing, then a Range probe and a GET per file.
    expect(hub.count(of(repo))).toBe(2 + 2 * v1.length);
    expect(hub.requests.filter(downloads(repo)).filter((r) => r.range === "bytes=0-0")).toHaveLength(v1.length);
  });

  it("fetches sharded checkpoints and follows paginated listings", async () => {
    const { repo } = publish(sharded);
    hub.pageSize = 2;
    try {
      const result = await fetchRepo({ repo, settings: settings() });
      await expectCheckpoint(result, sharded);
      expect(hub.count((r) => r.path.startsWith(`/api/models/${repo}/tree/`))).toBe(Math.ceil(sharded.length / 2));
    } finally {
      hub.pageSize = 1000;
    }
  });

  it("reuses the cache: no request at all for a pinned commit, no download for a branch", async () => {
    const { repo, commit } = publish(v1);
    const s = settings();
    await fetchRepo({ repo, settings: s });
    const before = hub.count(of(repo));
    const pinned = await fetchRepo({ repo, revision: commit, settings: s });
    expect(pinned).toMatchObject({ commit, fromCache: true });
    expect(hub.count(of(repo))).toBe(before);
    const branch = await fetchRepo({ repo, settings: s });
    expect(branch.files.every((f) => f.source === "snapshot")).toBe(true);
    expect(hub.count(of(repo)) - before).toBe(2); // the commit and the listing, nothing downloaded
    await expectCheckpoint(pinned, v1);
  });

  it("pins revisions: a new commit on main leaves pinned fetches unchanged", async () => {
    const { repo, commit: first } = publish(v1);
    const second = hub.publish(repo, v2);
    hub.publish(repo, v1, "v1.0");
    const s = settings();
    await expectCheckpoint(await fetchRepo({ repo, revision: first, settings: s }), v1);
    const latest = await fetchRepo({ repo, settings: s });
    expect(latest.commit).toBe(second);
    await expectCheckpoint(latest, v2);
    const tag = await fetchRepo({ repo, revision: "v1.0", settings: s });
    await expectCheckpoint(tag, v1);
    const folder = join(s.cacheDir, `models--${repo.replace("/", "--")}`);
    expect(readFileSync(join(folder, "refs", "main"), "utf8")).toBe(second);
    expect(readFileSync(join(folder, "refs", "v1.0"), "utf8")).toBe(tag.commit);
    expect(readdirSync(join(folder, "snapshots")).sort()).toEqual([first, second, tag.commit].sort());
    // The tag's commit has the same files as the first: its blobs were linked, not downloaded.
    expect(tag.files.every((f) => f.source === "blob")).toBe(true);
  });

  it("HF_HUB_OFFLINE serves cached revisions through refs without a request, and refuses others", async () => {
    const { repo, commit } = publish(v1);
    const cacheDir = join(tempDir(), "cache");
    await fetchRepo({ repo, settings: settings({ cacheDir }) });
    const before = hub.requests.length;
    const offline = settings({ cacheDir, offline: true });
    expect(await fetchRepo({ repo, settings: offline })).toMatchObject({ commit, fromCache: true });
    expect((await failure(fetchRepo({ repo: "acme/never-fetched", settings: offline }))).code).toBe("OFFLINE_NOT_CACHED");
    expect((await failure(fetchRepo({ repo, revision: "other-branch", settings: offline }))).code).toBe("OFFLINE_NOT_CACHED");
    expect(hub.requests.length).toBe(before);
  });

  it("reads a cache laid out by Python's huggingface_hub (blobs, relative symlinks, refs)", async () => {
    const cacheDir = join(tempDir(), "py-cache");
    const folder = join(cacheDir, "models--py--made");
    const commit = "a".repeat(40);
    mkdirSync(join(folder, "snapshots", commit), { recursive: true });
    mkdirSync(join(folder, "blobs"));
    mkdirSync(join(folder, "refs"));
    for (const f of v1) {
      writeFileSync(join(folder, "blobs", sha256(f.data)), f.data);
      symlinkSync(`../../blobs/${sha256(f.data)}`, join(folder, "snapshots", commit, f.path));
    }
    writeFileSync(join(folder, "refs", "main"), commit);
    const result = await fetchRepo({ repo: "py/made", settings: settings({ cacheDir, offline: true }) });
    expect(result).toMatchObject({ commit, fromCache: true });
    await expectCheckpoint(result, v1);
  });

  it("passes HF_TOKEN as a bearer token on every request", async () => {
    const { repo } = publish(v1);
    await fetchRepo({ repo, settings: settings({ token: "hf_local_test_token" }) });
    const seen = hub.requests.filter(of(repo));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((r) => r.authorization === "Bearer hf_local_test_token")).toBe(true);
  });
});

describe("hub fetch failures", () => {
  it("refuses a body whose sha256 (LFS) or git sha1 differs from the listing, keeping nothing", async () => {
    for (const path of ["model.safetensors", "README.md"]) {
      const { repo, commit } = publish(v1);
      hub.inject((r) => r.path === `/${repo}/resolve/${commit}/${path}` && r.range === undefined, { kind: "corrupt" }, 10);
      const s = settings();
      const e = await failure(fetchRepo({ repo, settings: s }));
      expect(e.code).toBe("CHECKSUM_MISMATCH");
      expect(e.message).toContain(path === "README.md" ? "git-sha1" : "sha256");
      const folder = join(s.cacheDir, `models--${repo.replace("/", "--")}`);
      expect(tree(join(folder, "blobs")).filter((f) => f.includes("incomplete") || f === sha256(v1.find((x) => x.path === path)!.data))).toEqual([]);
      expect(tree(folder).some((f) => f.endsWith(path))).toBe(false);
    }
  });

  it("reports 404s for an unknown repository, revision or file", async () => {
    const { repo, commit } = publish(v1);
    expect((await failure(fetchRepo({ repo: "acme/no-such-repo", settings: settings() }))).message).toMatch(
      /hf:\/\/acme\/no-such-repo@main: not found on the Hub \(HTTP 404/,
    );
    expect((await failure(fetchRepo({ repo, revision: "no-such-branch", settings: settings() }))).code).toBe("NOT_FOUND");
    hub.inject((r) => r.path === `/${repo}/resolve/${commit}/config.json`, { kind: "status", status: 404 });
    const e = await failure(fetchRepo({ repo, settings: settings() }));
    expect(e.code).toBe("NOT_FOUND");
    expect(e.message).toContain("config.json");
  });

  it("retries a body cut short, and gives up after the retries without a partial file", async () => {
    const { repo, commit } = publish(v1);
    const get = (r: LoggedRequest) => r.path === `/${repo}/resolve/${commit}/model.safetensors` && r.range === undefined;
    hub.inject(get, { kind: "truncate" }, 1);
    await expectCheckpoint(await fetchRepo({ repo, settings: settings() }), v1);
    expect(hub.count(get)).toBe(2);

    const again = publish(v1);
    const s = settings();
    hub.inject((r) => r.path === `/${again.repo}/resolve/${again.commit}/model.safetensors` && r.range === undefined, { kind: "truncate" }, 10);
    const e = await failure(fetchRepo({ repo: again.repo, settings: s }));
    expect(e.code).toBe("NETWORK");
    expect(e.message).toMatch(/closed before the whole body arrived.*after 2 attempts/);
    expect(tree(join(s.cacheDir, `models--${again.repo.replace("/", "--")}`, "blobs")).filter((f) => !f.match(/^[0-9a-f]{40}$/))).toEqual([]);
  });

  it("retries server errors a bounded number of times", async () => {
    const { repo } = publish(v1);
    const info = (r: LoggedRequest) => r.path.startsWith(`/api/models/${repo}/revision/`);
    hub.inject(info, { kind: "status", status: 503 }, 2);
    await fetchRepo({ repo, settings: settings({ retries: 2 }) });
    expect(hub.count(info)).toBe(3);

    const down = publish(v1);
    const downInfo = (r: LoggedRequest) => r.path.startsWith(`/api/models/${down.repo}/revision/`);
    hub.inject(downInfo, { kind: "status", status: 500 }, 100);
    const e = await failure(fetchRepo({ repo: down.repo, settings: settings({ retries: 2 }) }));
    expect(e.code).toBe("SERVER_ERROR");
    expect(e.message).toMatch(/HTTP 500 \(after 3 attempts\)/);
    expect(hub.count(downInfo)).toBe(3);
  });

  it("times out a server that never answers, or stalls in the middle of a body", async () => {
    const { repo, commit } = publish(v1);
    const info = (r: LoggedRequest) => r.path.startsWith(`/api/models/${repo}/revision/`);
    hub.inject(info, { kind: "hang" }, 2);
    const e = await failure(fetchRepo({ repo, settings: settings({ timeoutMs: HANG_MS }) }));
    expect(e.code).toBe("TIMEOUT");
    expect(e.message).toMatch(new RegExp(`timed out \\(no response for ${HANG_MS} ms\\) \\(after 2 attempts\\)`));
    expect(hub.count(info)).toBe(2);

    const s = settings({ timeoutMs: HANG_MS });
    const body = (r: LoggedRequest) => r.path === `/${repo}/resolve/${commit}/model.safetensors` && r.range === undefined;
    hub.inject(body, { kind: "stall-body" }, 2);
    expect((await failure(fetchRepo({ repo, settings: s }))).code).toBe("TIMEOUT");
    expect(hub.count(body)).toBe(2);
    expect(tree(join(s.cacheDir, `models--${repo.replace("/", "--")}`, "blobs")).some((f) => f.includes("incomplete"))).toBe(false);
  });

  it.each(["../../escape", "/etc/escape", "a/../../escape", "..\\escape", "C:/escape", "weights/../../../escape"])(
    "refuses the listed name %s before downloading anything",
    async (bad) => {
      const { repo, commit } = publish(v1);
      hub.listExtra(repo, commit, { type: "file", oid: "1".repeat(40), size: 1, path: bad });
      const s = settings();
      const e = await failure(fetchRepo({ repo, settings: s }));
      expect(e.code).toBe("UNSAFE_PATH");
      expect(e.message).toContain(bad);
      expect(hub.count(downloads(repo))).toBe(0);
      expect(tree(s.cacheDir).some((f) => f.includes("escape"))).toBe(false);
      expect(existsSync(join(s.cacheDir, "..", "escape"))).toBe(false);
    },
  );

  it("refuses repository ids and revisions that could leave the cache", async () => {
    for (const repo of ["../x", "a/b/c", "a--b/c", "/abs", "a/.hidden"])
      expect((await failure(fetchRepo({ repo, settings: settings() }))).code).toBe("INVALID_REPO");
    for (const revision of ["../../x", "a//b", "a\\b", ""])
      expect((await failure(fetchRepo({ repo: "acme/x", revision, settings: settings() }))).code).toBe("INVALID_REVISION");
  });
});
