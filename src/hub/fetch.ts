// The one `fetch` every Hub request goes through: @huggingface/hub receives it as its `fetch`,
// and so does any other client of the Hub in this package. A server (the Hub, a CDN it redirects
// to, or whatever a hostile endpoint names in a `Link` header) is not trusted:
// - credentials go only to the configured endpoint's origin. The library puts
//   `Authorization: Bearer <token>` on every request it makes, including to URLs it read from
//   response headers (xet `Link: <...>; rel="xet-auth"`, pagination `Link: <...>; rel="next"`,
//   huggingface.js packages/hub/src/lib/file-download-info.ts and list-files.ts); this fetch
//   removes it from any request to another origin, and follows redirects itself so that a
//   chain that once leaves the endpoint's origin carries no credential for the rest of the way;
// - bodies are capped after decoding (a gzip bomb stops at the cap, not at the end of memory),
//   up front from Content-Length when it is given; error bodies are kept only in part;
// - time is capped: response headers and each piece of a body must come within `timeoutMs`, and
//   everything asked through one instance within `deadlineMs`;
// - requests are counted (pages and redirect hops), and a redirect or a pagination that comes
//   back to a URL already requested is refused as a loop.
// Failures are HubErrors without a file: the caller (http.ts withRetries) says which file.

import { MAX_TIMER_MS } from "../reference/timer-limit.js";
import { HubError } from "./errors.js";

export interface HubFetchOptions {
  /** The configured endpoint (HF_ENDPOINT): its origin is the only one sent credentials. */
  readonly endpoint: string;
  /** Longest wait for a response's headers, and then for each piece of its body. */
  readonly timeoutMs: number;
  /** Longest time for everything requested through this instance, bodies included (default: no limit beyond timeoutMs). */
  readonly deadlineMs?: number;
  /** Largest decoded body of a successful response (default 16 MiB); a longer one fails with BODY_TOO_LARGE. */
  readonly maxBodyBytes?: number;
  /** Largest sum of the decoded successful bodies through this instance (default: no limit but maxRequests x maxBodyBytes). */
  readonly maxTotalBytes?: number;
  /** Largest part of an error response's body kept for its message (default 64 KiB); the rest is dropped. */
  readonly maxErrorBodyBytes?: number;
  /** Most requests through this instance, redirect hops included (default 1000). */
  readonly maxRequests?: number;
  /** Most redirects one request follows (default 10). */
  readonly maxRedirects?: number;
  /**
   * Refuse a request (same method, URL and Range) already made through this instance: for
   * paginated listings, where it can only be a loop. Redirect loops are refused regardless.
   */
  readonly refuseRepeats?: boolean;
  /** The fetch underneath (default: the global one; tests count requests through it). */
  readonly base?: typeof fetch;
}

export const HUB_FETCH_DEFAULTS = {
  maxBodyBytes: 16 << 20,
  maxErrorBodyBytes: 64 << 10,
  maxRequests: 1000,
  maxRedirects: 10,
} as const;

/** A fetch that also tells which typed failure it raised first (WebBlob.stream() reduces errors to their messages). */
export type HubFetch = typeof fetch & { readonly failure: () => HubError | undefined };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CREDENTIALS = ["authorization", "proxy-authorization", "cookie"];

function requestParts(input: Parameters<typeof fetch>[0], init: RequestInit | undefined): { url: URL; method: string; headers: Headers } {
  const request = input instanceof Request ? input : undefined;
  const headers = new Headers(request?.headers);
  for (const [k, v] of new Headers(init?.headers)) headers.set(k, v);
  const url = new URL(request?.url ?? String(input));
  return { url, method: (init?.method ?? request?.method ?? "GET").toUpperCase(), headers };
}

export function hubFetch(options: HubFetchOptions): HubFetch {
  const o = { ...HUB_FETCH_DEFAULTS, ...options };
  const trusted = new URL(o.endpoint).origin;
  const base = o.base ?? fetch;
  const expires = o.deadlineMs === undefined ? Infinity : Date.now() + o.deadlineMs;
  const seen = new Set<string>();
  let requests = 0;
  let total = 0;
  let first: HubError | undefined;
  const fail = (e: HubError): HubError => (first ??= e);

  /** The wait allowed now: timeoutMs, or less when the deadline is nearer (never more than a timer holds). */
  const wait = (): { ms: number; error: HubError } => {
    const left = expires - Date.now();
    if (left < o.timeoutMs)
      return { ms: Math.max(0, Math.min(left, MAX_TIMER_MS)), error: new HubError("TIMEOUT", `timed out (everything must arrive within ${o.deadlineMs} ms)`) };
    return { ms: Math.min(o.timeoutMs, MAX_TIMER_MS), error: new HubError("TIMEOUT", `timed out (no response for ${o.timeoutMs} ms)`) };
  };

  const guarded = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    let { url, method, headers } = requestParts(input, init);
    let body = init?.body ?? null;
    const controller = new AbortController();
    const outer = init?.signal;
    if (outer) {
      if (outer.aborted) controller.abort(outer.reason);
      else outer.addEventListener("abort", () => controller.abort(outer.reason), { once: true });
    }
    const chain = new Set<string>();
    let credentials = true;
    for (let hop = 0; ; hop++) {
      if (url.protocol !== "https:" && url.protocol !== "http:") throw fail(new HubError("BAD_RESPONSE", `refusing to fetch a ${url.protocol} URL`));
      if (++requests > o.maxRequests) throw fail(new HubError("TOO_MANY_REQUESTS", `more than ${o.maxRequests} requests (pages and redirects) for one call`));
      const key = `${method} ${url.href} ${headers.get("range") ?? ""}`;
      if (chain.has(key) || (o.refuseRepeats && seen.has(key)))
        throw fail(new HubError("LOOP", `${chain.has(key) ? "a redirect" : "the listing"} leads back to ${url.origin}${url.pathname}, already requested`));
      chain.add(key);
      seen.add(key);
      // Once a chain has left the endpoint's origin it carries no credential, even back to it:
      // a foreign server must not be able to pick which endpoint URL we call with the token.
      credentials &&= url.origin === trusted;
      const sent = new Headers(headers);
      if (!credentials) for (const h of CREDENTIALS) sent.delete(h);
      const { ms, error } = wait();
      const timer = setTimeout(() => controller.abort(error), ms);
      let res: Response;
      try {
        res = await base(url, { ...init, method, headers: sent, body, redirect: "manual", signal: controller.signal });
      } catch (e) {
        throw controller.signal.reason instanceof HubError ? fail(controller.signal.reason) : e;
      } finally {
        clearTimeout(timer);
      }
      const location = res.headers.get("location");
      if (!REDIRECTS.has(res.status) || location === null) return guardBody(res, url, controller);
      await res.body?.cancel().catch(() => undefined);
      if (hop >= o.maxRedirects) throw fail(new HubError("TOO_MANY_REQUESTS", `more than ${o.maxRedirects} redirects`));
      url = new URL(location, url);
      // As fetch does (WHATWG fetch, HTTP-redirect fetch step 12): a 303, or a 301/302 of a POST, becomes a GET.
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET";
        body = null;
        headers.delete("content-type");
      }
    }
  };

  /** `res` with its body read under the time and size caps (an error body: the first part only). */
  async function guardBody(res: Response, url: URL, controller: AbortController): Promise<Response> {
    const ok = res.status >= 200 && res.status < 300;
    const cap = ok ? o.maxBodyBytes : o.maxErrorBodyBytes;
    const declared = Number(res.headers.get("content-length") ?? NaN);
    if (ok && declared > cap) {
      await res.body?.cancel().catch(() => undefined);
      throw fail(new HubError("BODY_TOO_LARGE", `the response declares ${declared} bytes, more than the ${cap} allowed`));
    }
    let got = 0;
    const reader = res.body?.getReader();
    const guardedBody =
      reader &&
      new ReadableStream<Uint8Array>({
        async pull(stream) {
          const { ms, error } = wait();
          const idle = setTimeout(() => controller.abort(error), ms);
          try {
            const { done, value } = await reader.read();
            if (done) return stream.close();
            got += value.length;
            if (ok) total += value.length;
            if (ok && o.maxTotalBytes !== undefined && total > o.maxTotalBytes) {
              controller.abort();
              return stream.error(
                fail(new HubError("BODY_TOO_LARGE", `the responses of this call are longer than the ${o.maxTotalBytes} bytes allowed in all (decoded)`)),
              );
            }
            if (got <= cap) return stream.enqueue(value);
            controller.abort();
            if (!ok) {
              // Enough of an error body for its message; the rest is not worth reading.
              stream.enqueue(value.subarray(0, value.length - (got - cap)));
              return stream.close();
            }
            stream.error(fail(new HubError("BODY_TOO_LARGE", `the response body is longer than the ${cap} bytes allowed (decoded)`)));
          } catch (e) {
            stream.error(controller.signal.reason instanceof HubError ? fail(controller.signal.reason) : e);
          } finally {
            clearTimeout(idle);
          }
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      });
    let wrapped: Response;
    if (ok || guardedBody === undefined) {
      wrapped = new Response(guardedBody ?? null, { status: res.status, statusText: res.statusText, headers: res.headers });
    } else {
      // An error body is read now (it is small) so that a cut one is handed on as plain text,
      // not as JSON that no longer parses.
      const text = await new Response(guardedBody).text();
      const headers = new Headers(res.headers);
      if (got > cap) headers.set("content-type", "text/plain; charset=utf-8");
      headers.delete("content-length");
      headers.delete("content-encoding");
      wrapped = new Response(text, { status: res.status, statusText: res.statusText, headers });
    }
    // The library compares the final URL's origin with the endpoint's to decide where to download from.
    Object.defineProperty(wrapped, "url", { value: url.href });
    return wrapped;
  }

  return Object.assign(guarded as typeof fetch, { failure: () => first });
}
