// What a hostile Hub (or a host it names) can try against `hub fetch`, reproduced against local
// stand-ins on 127.0.0.1: the token must reach no other origin, no message may carry it, and no
// body, page count, redirect chain or trickle may cost more than its cap.

import { downloadFile } from "@huggingface/hub";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchRepo, type HubLimits } from "../../src/hub/fetch-repo.js";
import { HUB_FETCH_DEFAULTS, hubFetch } from "../../src/hub/fetch.js";
import { type HubSettings, hubSettings } from "../../src/hub/settings.js";
import { BIN, ROOT } from "../support/cli.js";
import { runCliAsync } from "../support/cli-async.js";
import { FakeHub, type LoggedRequest, type ServedFile, sha256 } from "../support/hub-server.js";
import { repoFiles } from "../support/hub-served.js";
import { hubFailure } from "../support/hub-failure.js";
import { tempDir } from "../support/tmp.js";

const TOKEN = "hf_SecretSecretSecretSecretSecret1234";

let hub: FakeHub;
let foreign: FakeHub;
let small: ServedFile[];
/** 64 MiB of JSON whitespace, gzipped to about 64 KiB (made once: compressing takes a moment). */
let bomb: Uint8Array;
let sharded: ServedFile[];

beforeAll(async () => {
  hub = await FakeHub.start();
  foreign = await FakeHub.start();
  small = await repoFiles({ family: "qwen3_moe", experts: 4, hidden: 16, intermediate: 8, seed: 1 });
  sharded = await repoFiles({ family: "mixtral", experts: 4, shards: 3 });
  bomb = gzipSync(Buffer.alloc(64 << 20, " "));
});
afterAll(async () => {
  await hub.close();
  await foreign.close();
});

let repoCount = 0;
/** A fresh repository, published on the Hub and (same name, files and so commit) on the foreign host. */
function publish(files: ServedFile[]): { repo: string; commit: string } {
  const repo = `acme/hostile-${repoCount++}`;
  const commit = hub.publish(repo, files);
  expect(foreign.publish(repo, files)).toBe(commit);
  return { repo, commit };
}

function settings(extra: Partial<HubSettings> = {}): HubSettings {
  return hubSettings({}, { endpoint: hub.url, cacheDir: join(tempDir(), "hf-cache"), timeoutMs: 2000, retries: 1, retryDelayMs: 5, token: TOKEN, ...extra });
}

const failure = (p: Promise<unknown>) => hubFailure(p, [TOKEN]);

const of = (repo: string) => (r: LoggedRequest) => r.path.includes(`/${repo}/`);
const tree = (repo: string) => (r: LoggedRequest) => r.path.startsWith(`/api/models/${repo}/tree/`);
const getOf = (repo: string, commit: string, path: string) => (r: LoggedRequest) => r.path === `/${repo}/resolve/${commit}/${path}` && r.range === undefined;

describe("the token goes to the configured endpoint only", () => {
  it("not to the target of a redirect, and not back to the endpoint once a chain has left it", async () => {
    const { repo, commit } = publish(small);
    hub.inject(getOf(repo, commit, "model.safetensors"), { kind: "redirect", location: `${foreign.url}/${repo}/resolve/${commit}/model.safetensors` });
    // config.json: endpoint -> foreign -> endpoint (a path the foreign host picked).
    foreign.inject(getOf(repo, commit, "config.json"), { kind: "redirect", location: `${hub.url}/${repo}/resolve/${commit}/config.json?via=foreign` });
    hub.inject(getOf(repo, commit, "config.json"), { kind: "redirect", location: `${foreign.url}/${repo}/resolve/${commit}/config.json` });
    await fetchRepo({ repo, settings: settings() });
    const abroad = foreign.requests.filter(of(repo));
    expect(abroad.map((r) => r.path).sort()).toEqual([`/${repo}/resolve/${commit}/config.json`, `/${repo}/resolve/${commit}/model.safetensors`]);
    expect(abroad.every((r) => r.authorization === undefined)).toBe(true);
    const back = hub.requests.filter((r) => r.path.startsWith(`/${repo}/resolve/${commit}/config.json`) && r.range === undefined);
    expect(back.map((r) => r.authorization)).toEqual([`Bearer ${TOKEN}`, undefined]);
    expect(
      hub.requests
        .filter(of(repo))
        .filter((r) => !r.path.includes("?via="))
        .every((r) => r.authorization === `Bearer ${TOKEN}`),
    ).toBe(true);
  });

  it("not to a pagination Link naming another host", async () => {
    const { repo, commit } = publish(sharded);
    hub.pageSize = 2;
    foreign.pageSize = 2;
    try {
      hub.inject(tree(repo), { kind: "next", href: `${foreign.url}/api/models/${repo}/tree/${commit}?recursive=true&expand=false&cursor=2` });
      const result = await fetchRepo({ repo, settings: settings() });
      expect(result.files.length).toBe(sharded.length);
      const abroad = foreign.requests.filter(tree(repo));
      expect(abroad.length).toBeGreaterThan(0);
      expect(abroad.every((r) => r.authorization === undefined)).toBe(true);
    } finally {
      hub.pageSize = 1000;
      foreign.pageSize = 1000;
    }
  });

  it("not to the xet Link URLs of a download probe (the library follows them with the token)", async () => {
    const { repo, commit } = publish(small);
    hub.inject((r) => r.path === `/${repo}/resolve/${commit}/model.safetensors` && r.range === "bytes=0-0", { kind: "xet", base: foreign.url });
    const fetch = hubFetch({ endpoint: hub.url, timeoutMs: 2000 });
    // The library with xet on, as it is by default: it asks the foreign host for a xet token.
    const blob = await downloadFile({ repo, path: "model.safetensors", revision: commit, hubUrl: hub.url, fetch, accessToken: TOKEN });
    expect(blob).not.toBeNull();
    // The blob is lazy: reading it makes the requests (which the foreign host then fails).
    await expect(blob!.slice(0, 10).arrayBuffer()).rejects.toThrow();
    const abroad = foreign.requests.filter((r) => r.path.startsWith("/xet-read-token"));
    expect(abroad.length).toBeGreaterThan(0);
    expect(abroad.every((r) => r.authorization === undefined)).toBe(true);
  });
});

describe("the token is never printed", () => {
  it("an error body echoing the request's headers is quoted redacted, cut, in one line", async () => {
    const { repo } = publish(small);
    hub.inject((r) => r.path.startsWith(`/api/models/${repo}/revision/`), { kind: "echo", status: 400 });
    const e = await failure(fetchRepo({ repo, settings: settings() }));
    expect(e.code).toBe("BAD_RESPONSE");
    expect(e.message).toContain("Bearer <redacted>");
    expect(e.message.length).toBeLessThan(400);
  });

  it("nor by the CLI, whose error line, --debug stack and progress lines go through the same redaction", async () => {
    const { repo } = publish(small);
    hub.inject((r) => r.path.startsWith(`/api/models/${repo}/revision/`), { kind: "echo", status: 418 }, 2);
    const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(tempDir(), "cache"), HF_TOKEN: TOKEN, HF_HUB_OFFLINE: "" };
    for (const args of [
      ["hub", "fetch", repo],
      ["--debug", "hub", "fetch", repo],
    ]) {
      const r = await runCliAsync(args, { env });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^moe-prefuse: error: .*unexpected HTTP 418: .*Bearer <redacted>/);
      expect(r.stderr + r.stdout).not.toContain(TOKEN);
      expect(r.stderr).not.toContain("SecretSecret");
    }
  });
});

describe("bounded bodies, pages, redirects and time", () => {
  const limited = (l: Partial<HubLimits>) => ({ limits: l });
  // One attempt, and time to spare: the outcome is the cap's, whatever the machine's load.
  const once = () => settings({ retries: 0, timeoutMs: 30_000 });

  it("an endless listing body stops at the cap (the server could write little more than the cap plus socket buffers)", async () => {
    const { repo } = publish(small);
    hub.inject(tree(repo), { kind: "endless" }, 1);
    const before = hub.endlessBytes;
    const e = await failure(fetchRepo({ repo, settings: once() }));
    expect(e.code).toBe("BODY_TOO_LARGE");
    // Let the server notice the closed connection.
    await new Promise((r) => setTimeout(r, 50));
    const sent = hub.endlessBytes - before;
    expect(sent).toBeGreaterThan(HUB_FETCH_DEFAULTS.maxBodyBytes);
    expect(sent).toBeLessThan(HUB_FETCH_DEFAULTS.maxBodyBytes + (32 << 20));
  });

  it("a gzip bomb is refused by its decoded size, not its size on the wire", async () => {
    const { repo } = publish(small);
    hub.inject(tree(repo), { kind: "gzip", body: bomb });
    const e = await failure(fetchRepo({ repo, settings: once(), ...limited({ apiBodyBytes: 1 << 20 }) }));
    expect(e.code).toBe("BODY_TOO_LARGE");
    expect(e.message).toContain("decoded");
  });

  it("a body declared larger than the cap is refused before it is read", async () => {
    const { repo } = publish(small);
    hub.inject(tree(repo), { kind: "gzip", body: bomb });
    const e = await failure(fetchRepo({ repo, settings: once(), ...limited({ apiBodyBytes: 1000 }) }));
    expect(e.code).toBe("BODY_TOO_LARGE");
    expect(e.message).toMatch(/declares \d+ bytes/);
  });

  it('a rel="next" back to the same page is a loop, refused after one request', async () => {
    const { repo, commit } = publish(small);
    hub.inject(tree(repo), { kind: "next", href: `${hub.url}/api/models/${repo}/tree/${commit}?recursive=true&expand=false` });
    const e = await failure(fetchRepo({ repo, settings: settings() }));
    expect(e.code).toBe("LOOP");
    expect(hub.count(tree(repo))).toBe(1);
  });

  it("pages are counted: a listing that never ends stops at the page limit", async () => {
    const { repo, commit } = publish(small);
    for (let k = 0; k < 10; k++) hub.inject(tree(repo), { kind: "next", href: `${hub.url}/api/models/${repo}/tree/${commit}?recursive=true&cursor=${k}` });
    const e = await failure(fetchRepo({ repo, settings: settings(), ...limited({ listingPages: 4 }) }));
    expect(e.code).toBe("TOO_MANY_REQUESTS");
    expect(hub.count(tree(repo))).toBe(4);
  });

  it("pages are summed: a listing larger in all than its limit stops there, whatever each page's size", async () => {
    const { repo, commit } = publish(small);
    const pageBytes = (await (await fetch(`${hub.url}/api/models/${repo}/tree/${commit}?recursive=true`)).text()).length;
    const before = hub.count(tree(repo));
    // Whole pages again and again (a new URL each time, so no loop is seen).
    for (let k = 0; k < 10; k++) hub.inject(tree(repo), { kind: "next", href: `${hub.url}/api/models/${repo}/tree/${commit}?recursive=true&again=${k}` });
    const e = await failure(fetchRepo({ repo, settings: settings(), ...limited({ listingBytes: 3 * pageBytes + 1 }) }));
    expect(e.code).toBe("BODY_TOO_LARGE");
    expect(e.message).toContain(`longer than the ${3 * pageBytes + 1} bytes allowed in all`);
    expect(hub.count(tree(repo)) - before).toBe(4);
  });

  it("a redirect loop and an endless redirect chain are refused", async () => {
    const { repo, commit } = publish(small);
    const self = `${hub.url}/${repo}/resolve/${commit}/config.json`;
    hub.inject(getOf(repo, commit, "config.json"), { kind: "redirect", location: self }, 5);
    expect((await failure(fetchRepo({ repo, settings: settings() }))).code).toBe("LOOP");

    const chain = publish(small);
    for (let k = 0; k < 20; k++)
      hub.inject((r) => r.path.startsWith(`/${chain.repo}/resolve/${chain.commit}/config.json`) && r.range === undefined, {
        kind: "redirect",
        location: `${hub.url}/${chain.repo}/resolve/${chain.commit}/config.json?hop=${k}`,
      });
    expect((await failure(fetchRepo({ repo: chain.repo, settings: settings() }))).message).toMatch(/more than 10 redirects/);
  });

  it("a body that trickles in forever ends at the call's deadline", async () => {
    const { repo } = publish(small);
    hub.inject(tree(repo), { kind: "trickle", everyMs: 20 }, 2);
    const e = await failure(fetchRepo({ repo, settings: settings({ timeoutMs: 5000 }), ...limited({ apiDeadlineMs: 300 }) }));
    expect(e.code).toBe("TIMEOUT");
    expect(e.message).toMatch(/everything must arrive within 300 ms.*after 2 attempts/);
  });
});

describe("leftovers of interrupted downloads", () => {
  const blobsOf = (cacheDir: string, repo: string) => join(cacheDir, `models--${repo.replace("/", "--")}`, "blobs");

  it("SIGHUP in the middle of a download removes the .incomplete file and exits 129", async () => {
    const { repo, commit } = publish(small);
    hub.inject(getOf(repo, commit, "model.safetensors"), { kind: "stall-body" });
    const cacheDir = join(tempDir(), "cache");
    const env = { ...process.env, HF_ENDPOINT: hub.url, HF_HUB_CACHE: cacheDir, HF_TOKEN: "", HF_HUB_OFFLINE: "", HF_HUB_DOWNLOAD_TIMEOUT: "600" };
    const child = spawn(process.execPath, [BIN, "hub", "fetch", repo], { cwd: ROOT, env, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const incomplete = () => readdirSync(blobsOf(cacheDir, repo)).filter((n) => n.endsWith(".incomplete"));
    // The server stalls half way through the body: wait (without a deadline of our own) for the temporary.
    while (!existsSync(blobsOf(cacheDir, repo)) || incomplete().length === 0) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGHUP");
    expect(await exited).toBe(129);
    expect(incomplete()).toEqual([]);
  });

  it("the next fetch removes the .incomplete files a killed run left, and only those", async () => {
    const { repo } = publish(small);
    const cacheDir = join(tempDir(), "cache");
    const blobs = blobsOf(cacheDir, repo);
    mkdirSync(blobs, { recursive: true });
    const weights = sha256(small.find((f) => f.path === "model.safetensors")!.data);
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    const stale = `${weights}.${dead}-0badf00d.incomplete`;
    const python = `${weights}.incomplete`; // huggingface_hub's own, not ours to touch
    for (const n of [stale, python]) writeFileSync(join(blobs, n), "partial");
    await fetchRepo({ repo, settings: settings({ cacheDir }) });
    const left = readdirSync(blobs);
    expect(left).toContain(python);
    expect(left).not.toContain(stale);
    expect(left).toContain(weights);

    // A ref that is rewritten keeps the mode it had.
    const ref = join(cacheDir, `models--${repo.replace("/", "--")}`, "refs", "main");
    chmodSync(ref, 0o600);
    const next = hub.publish(repo, sharded);
    await fetchRepo({ repo, settings: settings({ cacheDir }) });
    expect(readFileSync(ref, "utf8")).toBe(next);
    expect(statSync(ref).mode & 0o7777).toBe(0o600);
  });
});
