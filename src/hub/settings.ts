// Where and how the fetcher talks to the Hub, from the environment variables Python's
// huggingface_hub reads (the JS library reads none of them, so they are passed through here):
// HF_ENDPOINT, HF_TOKEN (or the legacy HUGGING_FACE_HUB_TOKEN), HF_HUB_OFFLINE,
// HF_HUB_DOWNLOAD_TIMEOUT, and the cache dir HF_HUB_CACHE -> HUGGINGFACE_HUB_CACHE ->
// $HF_HOME/hub -> $XDG_CACHE_HOME/huggingface/hub -> ~/.cache/huggingface/hub, the layout
// shared with Python.

import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { registerSecret } from "../reference/safe-text.js";
import { MAX_TIMER_SECONDS } from "../reference/timer-limit.js";
import { HubError } from "./errors.js";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

export interface HubSettings {
  /** Base URL of the Hub (no trailing slash). */
  readonly endpoint: string;
  readonly token: string | undefined;
  /** Never use the network: serve from the cache or fail. */
  readonly offline: boolean;
  readonly cacheDir: string;
  /** Longest wait for response headers, and for each piece of a body. */
  readonly timeoutMs: number;
  /** Extra attempts after a transient failure (server error, timeout, dropped connection). */
  readonly retries: number;
  /** Wait before the first retry; doubled before each next one. */
  readonly retryDelayMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const TRUE = new Set(["1", "on", "yes", "true"]);

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}

/** The Hub cache directory, resolved as huggingface_hub resolves it. */
export function hubCacheDir(env: Env = process.env): string {
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  if (explicit !== undefined) return resolve(explicit);
  const home = nonEmpty(env.HF_HOME) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homedir(), ".cache"), "huggingface");
  return resolve(home, "hub");
}

export function hubSettings(env: Env = process.env, overrides: Partial<HubSettings> = {}): HubSettings {
  const endpoint = (overrides.endpoint ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]/.test(endpoint)) throw new HubError("INVALID_SETTING", `HF_ENDPOINT '${endpoint}' is not an http(s) URL`);
  const token = "token" in overrides ? overrides.token : (nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN));
  // @huggingface/hub refuses other tokens with a TypeError; say so in our own words.
  if (token !== undefined && !token.startsWith("hf_"))
    throw new HubError("INVALID_SETTING", "HF_TOKEN must be a Hugging Face access token (it starts with hf_)");
  const timeoutText = nonEmpty(env.HF_HUB_DOWNLOAD_TIMEOUT);
  const timeoutS = timeoutText === undefined ? 10 : Number(timeoutText);
  if (!(timeoutS > 0) || !(timeoutS <= MAX_TIMER_SECONDS)) {
    throw new HubError(
      "INVALID_SETTING",
      `HF_HUB_DOWNLOAD_TIMEOUT '${timeoutText}' must be a positive number of seconds, at most ${MAX_TIMER_SECONDS} (what a timer holds)`,
    );
  }
  // Whatever prints a message from now on leaves this value out (safe-text.ts).
  registerSecret(token);
  return {
    endpoint,
    token,
    offline: overrides.offline ?? TRUE.has((env.HF_HUB_OFFLINE ?? "").toLowerCase()),
    cacheDir: overrides.cacheDir !== undefined ? resolve(overrides.cacheDir) : hubCacheDir(env),
    timeoutMs: overrides.timeoutMs ?? Math.round(timeoutS * 1000),
    retries: overrides.retries ?? 2,
    retryDelayMs: overrides.retryDelayMs ?? 500,
  };
}
