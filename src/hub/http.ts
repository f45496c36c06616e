// The fetcher's error policy around @huggingface/hub (its requests go through fetch.ts):
// failures of the library and of fetch become typed HubErrors naming the file, whatever a server
// said is quoted only in part and redacted, and transient failures are retried a bounded number
// of times with exponential backoff.

import { HubApiError, InvalidApiResponseFormatError } from "@huggingface/hub";
import { excerpt } from "../reference/safe-text.js";
import { HubError, type HubErrorCode, isTransient } from "./errors.js";
import { type HubFetch, type HubFetchOptions, hubFetch } from "./fetch.js";
import type { HubSettings } from "./settings.js";

interface Failure {
  readonly code: HubErrorCode;
  readonly detail: string;
  readonly cause?: unknown;
}

function statusFailure(status: number, said: string, cause: unknown): Failure {
  // The server's words (an error body may echo our request, headers included): a redacted excerpt.
  const detail = said === "" ? "" : `: ${excerpt(said)}`;
  if (status === 404) return { code: "NOT_FOUND", detail: `not found on the Hub (HTTP 404${detail})`, cause };
  if (status === 401 || status === 403)
    return { code: "UNAUTHORIZED", detail: `access denied (HTTP ${status}); a gated or private repository needs HF_TOKEN`, cause };
  if (status >= 500 || status === 429) return { code: "SERVER_ERROR", detail: `the Hub answered HTTP ${status}`, cause };
  return { code: "BAD_RESPONSE", detail: `unexpected HTTP ${status}${detail}`, cause };
}

const NETWORK_CODES = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE|UND_ERR_\w+/;

/** What a failed request means. */
function failureOf(e: unknown): Failure {
  if (e instanceof HubError) return { code: e.code, detail: e.message, cause: e };
  if (e instanceof HubApiError) return statusFailure(e.statusCode, e.message.split(". URL:")[0] ?? "", e);
  if (e instanceof InvalidApiResponseFormatError) return { code: "BAD_RESPONSE", detail: `malformed response: ${excerpt(e.message)}`, cause: e };
  // WebBlob.stream() reports a failed GET by aborting its stream with the error's message.
  if (typeof e === "string") {
    const m = /status (\d{3})/.exec(e);
    if (m !== null) return statusFailure(Number(m[1]), "", e);
    return { code: "NETWORK", detail: `network failure: ${excerpt(e)}` };
  }
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const detail = excerpt(`${err.message ?? String(e)}${err.cause?.code ? ` (${err.cause.code})` : err.cause?.message ? ` (${err.cause.message})` : ""}`);
  if (err.message === "terminated")
    return { code: "NETWORK", detail: `the connection closed before the whole body arrived${detail.slice("terminated".length)}`, cause: e };
  if (err instanceof TypeError || NETWORK_CODES.test(detail)) return { code: "NETWORK", detail: `network failure: ${detail}`, cause: e };
  return { code: "BAD_RESPONSE", detail, cause: e };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What one call asks of its fetch, beyond the endpoint and timeout of the settings. */
export type CallLimits = Omit<HubFetchOptions, "endpoint" | "timeoutMs">;

/**
 * Runs `attempt` with a fresh hubFetch (its request count, loop memory and deadline are per
 * attempt), retrying transient failures `settings.retries` times with doubling delays.
 */
export async function withRetries<T>(
  settings: Pick<HubSettings, "endpoint" | "timeoutMs" | "retries" | "retryDelayMs">,
  file: string,
  limits: CallLimits,
  attempt: (fetch: HubFetch) => Promise<T>,
): Promise<T> {
  for (let n = 0; ; n++) {
    const fetch = hubFetch({ ...limits, endpoint: settings.endpoint, timeoutMs: settings.timeoutMs });
    try {
      return await attempt(fetch);
    } catch (e) {
      // The fetch's own typed failure comes first: the library may have reduced it to a string.
      const f = failureOf(fetch.failure() ?? e);
      if (!isTransient(f.code) || n >= settings.retries) {
        if (e instanceof HubError && e.file !== undefined) throw e;
        throw new HubError(f.code, n === 0 ? f.detail : `${f.detail} (after ${n + 1} attempts)`, { file }, { cause: f.cause });
      }
      await sleep(settings.retryDelayMs * 2 ** n);
    }
  }
}
