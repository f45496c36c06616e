import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { HubError } from "../../src/hub/errors.js";
import { MAX_TIMER_SECONDS } from "../../src/reference/timer-limit.js";
import { parseHubRef, validateRevision } from "../../src/hub/repo-ref.js";
import { DEFAULT_ENDPOINT, hubCacheDir, hubSettings } from "../../src/hub/settings.js";

describe("hub settings from the environment", () => {
  it("finds the cache dir as huggingface_hub does", () => {
    expect(hubCacheDir({ HF_HUB_CACHE: "/a", HUGGINGFACE_HUB_CACHE: "/b", HF_HOME: "/c" })).toBe("/a");
    expect(hubCacheDir({ HUGGINGFACE_HUB_CACHE: "/b", HF_HOME: "/c" })).toBe("/b");
    expect(hubCacheDir({ HF_HOME: "/c", XDG_CACHE_HOME: "/x" })).toBe("/c/hub");
    expect(hubCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/huggingface/hub");
    expect(hubCacheDir({})).toBe(join(homedir(), ".cache", "huggingface", "hub"));
    expect(hubCacheDir({ HF_HUB_CACHE: "", HF_HOME: "rel" })).toBe(resolve("rel", "hub"));
  });

  it("passes HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE and HF_HUB_DOWNLOAD_TIMEOUT through", () => {
    expect(hubSettings({})).toMatchObject({ endpoint: DEFAULT_ENDPOINT, token: undefined, offline: false, timeoutMs: 10_000 });
    expect(hubSettings({ HF_ENDPOINT: "http://127.0.0.1:8080/", HF_TOKEN: "hf_x", HF_HUB_OFFLINE: "1", HF_HUB_DOWNLOAD_TIMEOUT: "2.5" })).toMatchObject({
      endpoint: "http://127.0.0.1:8080",
      token: "hf_x",
      offline: true,
      timeoutMs: 2500,
    });
    expect(hubSettings({ HUGGING_FACE_HUB_TOKEN: "hf_legacy" }).token).toBe("hf_legacy");
    for (const on of ["1", "ON", "yes", "True"]) expect(hubSettings({ HF_HUB_OFFLINE: on }).offline).toBe(true);
    for (const off of ["0", "", "no", "false"]) expect(hubSettings({ HF_HUB_OFFLINE: off }).offline).toBe(false);
  });

  it.each([
    [{ HF_ENDPOINT: "ftp://x" }, /HF_ENDPOINT 'ftp:\/\/x' is not an http\(s\) URL/],
    [{ HF_TOKEN: "secret" }, /HF_TOKEN must be a Hugging Face access token/],
    [{ HF_HUB_DOWNLOAD_TIMEOUT: "soon" }, /HF_HUB_DOWNLOAD_TIMEOUT 'soon'/],
    // 2^31 ms and beyond: a Node timer would fire at once.
    [{ HF_HUB_DOWNLOAD_TIMEOUT: String(2 ** 31 / 1000) }, /HF_HUB_DOWNLOAD_TIMEOUT '2147483.648' must be a positive number of seconds, at most 2147483 /],
    [{ HF_HUB_DOWNLOAD_TIMEOUT: "1e400" }, /at most 2147483/],
  ])("refuses bad settings %j", (env, message) => {
    expect(() => hubSettings(env)).toThrow(message);
  });

  it("takes the longest timeout a timer holds", () => {
    expect(hubSettings({ HF_HUB_DOWNLOAD_TIMEOUT: String(MAX_TIMER_SECONDS) }).timeoutMs).toBe(MAX_TIMER_SECONDS * 1000);
    expect(MAX_TIMER_SECONDS * 1000).toBeLessThan(2 ** 31);
  });
});

describe("hf:// references", () => {
  it("parses owner/name with an optional revision", () => {
    expect(parseHubRef("hf://yujiepan/qwen3.5-moe-tiny-random")).toEqual({ repo: "yujiepan/qwen3.5-moe-tiny-random", revision: undefined });
    expect(parseHubRef("hf://a/b@0123456789abcdef0123456789abcdef01234567")).toEqual({ repo: "a/b", revision: "0123456789abcdef0123456789abcdef01234567" });
    expect(parseHubRef("hf://a/b@refs/pr/1")).toEqual({ repo: "a/b", revision: "refs/pr/1" });
    expect(parseHubRef("hf://gpt2")).toEqual({ repo: "gpt2", revision: undefined });
  });

  it.each(["hf://", "hf://a/b/c", "hf://a/../b", "hf://a/b@", "hf://a/b@../x", "hf://-a/b", "hf://a/b.", "a/b"])("refuses %s", (ref) => {
    expect(() => parseHubRef(ref)).toThrow(HubError);
  });

  it("keeps revisions inside refs/", () => {
    for (const ok of ["main", "v1.0", "refs/pr/12", "a".repeat(40)]) expect(validateRevision(ok)).toBe(ok);
    for (const bad of ["..", "a/../../b", "/abs", "a\\b", "a\nb", "x".repeat(300)]) expect(() => validateRevision(bad)).toThrow(HubError);
  });
});
