// The fetcher's HTTP policy around @huggingface/hub: every request gets a deadline for its
// response headers and for each piece of its body (a stalled server cannot hang a download),
// failures of the library and of fetch become typed HubErrors, and transient ones are retried
// a bounded number of times with exponential backoff.

import { HubApiError, InvalidApiResponseFormatError } from "@huggingface/hub";
import { HubError } from "./errors.js";
import type { HubSettings } from "./settings.js";

/** The abort reason of a request that ran out of time. */
export class HubTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no response for ${ms} ms`);
  }
}

/**
 * `fetch` with deadlines: the headers must arrive within `timeoutMs`, and then each chunk of
 * the body within `timeoutMs` of the previous one. A timed-out body errors with HubTimeout.
 */
export function fetchWithTimeouts(timeoutMs: number, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const controller = new AbortController();
    const outer = init?.signal;
    if (outer) {
      if (outer.aborted) controller.abort(outer.reason);
      else outer.addEventListener("abort", () => controller.abort(outer.reason), { once: true });
    }
    const timeout = new HubTimeout(timeoutMs);
    const timer = setTimeout(() => controller.abort(timeout), timeoutMs);
    let res: Response;
    try {
      res = await base(input, { ...init, signal: controller.signal });
    } catch (e) {
      throw controller.signal.reason === timeout ? timeout : e;
    } finally {
      clearTimeout(timer);
    }
    if (res.body === null) return res;
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        let timedOut = false;
        const idle = setTimeout(() => {
          timedOut = true;
          controller.abort(timeout);
        }, timeoutMs);
        try {
          const { done, value } = await reader.read();
          if (done) stream.close();
          else stream.enqueue(value);
        } catch (e) {
          stream.error(timedOut ? timeout : e);
        } finally {
          clearTimeout(idle);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    const wrapped = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    // The library compares the final URL's origin with the Hub's to decide where to download from.
    Object.defineProperty(wrapped, "url", { value: res.url });
    return wrapped;
  };
}

function statusError(status: number, detail: string, file: string, cause: unknown): HubError {
  if (status === 404) return new HubError("NOT_FOUND", `not found on the Hub (HTTP 404${detail ? `: ${detail}` : ""})`, { file }, { cause });
  if (status === 401 || status === 403) {
    return new HubError("UNAUTHORIZED", `access denied (HTTP ${status}); a gated or private repository needs HF_TOKEN`, { file }, { cause });
  }
  if (status >= 500 || status === 429) return new HubError("SERVER_ERROR", `the Hub answered HTTP ${status}`, { file }, { cause });
  return new HubError("BAD_RESPONSE", `unexpected HTTP ${status}${detail ? `: ${detail}` : ""}`, { file }, { cause });
}

const NETWORK_CODES = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE|UND_ERR_\w+/;

/** The HubError a failure of a request for `file` means. */
function toHubError(e: unknown, file: string): HubError {
  if (e instanceof HubError) return e;
  if (e instanceof HubTimeout) return new HubError("TIMEOUT", `timed out (${e.message})`, { file }, { cause: e });
  if (e instanceof HubApiError) return statusError(e.statusCode, e.message.split(". URL:")[0] ?? "", file, e);
  if (e instanceof InvalidApiResponseFormatError) return new HubError("BAD_RESPONSE", `malformed response: ${e.message}`, { file }, { cause: e });
  // WebBlob.stream() reports a failed GET by aborting its stream with the error's message.
  if (typeof e === "string") {
    const m = /status (\d{3})/.exec(e);
    if (m !== null) return statusError(Number(m[1]), "", file, e);
    return new HubError("NETWORK", `network failure: ${e}`, { file });
  }
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const detail = `${err.message ?? String(e)}${err.cause?.code ? ` (${err.cause.code})` : err.cause?.message ? ` (${err.cause.message})` : ""}`;
  if (err.message === "terminated") return new HubError("NETWORK", `the connection closed before the whole body arrived${detail.slice("terminated".length)}`, { file }, { cause: e });
  if (err instanceof TypeError || NETWORK_CODES.test(detail)) return new HubError("NETWORK", `network failure: ${detail}`, { file }, { cause: e });
  return new HubError("BAD_RESPONSE", detail, { file }, { cause: e });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `attempt`, retrying transient failures `settings.retries` times with doubling delays. */
export async function withRetries<T>(settings: Pick<HubSettings, "retries" | "retryDelayMs">, file: string, attempt: () => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      const err = toHubError(e, file);
      if (!err.transient || n >= settings.retries) {
        if (n === 0) throw err;
        throw new HubError(err.code, `${err.message.slice(file.length + 2)} (after ${n + 1} attempts)`, { file }, { cause: err });
      }
      await sleep(settings.retryDelayMs * 2 ** n);
    }
  }
}
