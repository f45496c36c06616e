// A local stand-in for the Hugging Face Hub on 127.0.0.1, answering the requests
// @huggingface/hub makes for a download (read from the library's sources, 2.17):
//   GET  /api/models/{repo}/revision/{rev}?expand=...      (modelInfo: resolves the commit)
//   GET  /api/models/{repo}/tree/{rev}?recursive=true...   (listFiles, paginated by Link header)
//   GET  /{repo}/resolve/{rev}/{path}                       (downloadFile: a `Range: bytes=0-0`
//        probe answered 206 with Content-Range and ETag/X-Linked-ETag, then a plain GET; any
//        `Range: bytes=a-b` is answered 206, as the Hub and its CDN answer header reads)
// It serves files given in memory, logs every request with the body bytes it sent, and injects
// faults on demand: HTTP errors, a stalled response, a body cut short or stalled half way, bytes
// that do not match the listing, listing entries whose names escape the snapshot, a server that
// ignores Range (answers 200 with the whole file), gated repositories that need a token, LFS
// files redirected to another origin; and what a hostile server does: redirects anywhere, `Link`
// headers naming other hosts (pagination, xet), error bodies that echo the request's headers,
// endless, trickling and gzip-bomb bodies.

import { createHash } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface ServedFile {
  readonly path: string;
  readonly data: Uint8Array;
  /** Stored with git LFS (listed with an lfs.oid sha256, as .safetensors files are). */
  readonly lfs: boolean;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
  /** Body bytes the server sent in answer (what a client paid for the request). */
  bytes: number;
}

export type Fault =
  | { readonly kind: "status"; readonly status: number }
  | { readonly kind: "hang" }
  | { readonly kind: "truncate" }
  | { readonly kind: "stall-body" }
  | { readonly kind: "corrupt" }
  /** Answers 302 to `location`. */
  | { readonly kind: "redirect"; readonly location: string }
  /** An error whose JSON body echoes the request's headers (Authorization included). */
  | { readonly kind: "echo"; readonly status: number }
  /** A 200 JSON body that never ends (counted in `endlessBytes`). */
  | { readonly kind: "endless" }
  /** A 200 JSON body sent one byte every `everyMs`, forever. */
  | { readonly kind: "trickle"; readonly everyMs: number }
  /** A 200 JSON body sent gzip-encoded as it is given (`body`, already compressed). */
  | { readonly kind: "gzip"; readonly body: Uint8Array }
  /** The listing page, with `Link: <href>; rel="next"`. */
  | { readonly kind: "next"; readonly href: string }
  /** The download probe answered as a xet file whose xet links name `base`. */
  | { readonly kind: "xet"; readonly base: string };

interface FaultRule {
  readonly match: (r: LoggedRequest) => boolean;
  readonly fault: Fault;
  remaining: number;
}

interface Commit {
  readonly files: ReadonlyMap<string, ServedFile>;
  readonly extraEntries: object[];
}

export function gitBlobSha1(data: Uint8Array): string {
  return createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function etagOf(f: ServedFile): string {
  return f.lfs ? sha256(f.data) : gitBlobSha1(f.data);
}

/** The environment a CLI child needs to use `hub` as its Hub with a fresh cache and no token of the machine's. */
export function hubEnv(hub: { readonly url: string }, cache: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: "", HF_HUB_OFFLINE: "", ...extra };
}

export class FakeHub {
  readonly requests: LoggedRequest[] = [];
  /** Bytes written by `endless` bodies so far. */
  endlessBytes = 0;
  /** Entries per page of tree listings (the real Hub pages at 1000). */
  pageSize = 1000;
  /** Answer every range request with the whole file (200), as some mirrors and proxies do. */
  ignoreRange = false;
  /** Send requests for LFS files to this other server (another origin), as the Hub sends them to its CDN. */
  lfsRedirect: FakeHub | undefined;
  private readonly gated = new Map<string, string>();
  private readonly repos = new Map<string, { refs: Map<string, string>; commits: Map<string, Commit> }>();
  private readonly faults: FaultRule[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  static async start(): Promise<FakeHub> {
    let hub: FakeHub | undefined;
    const server = createServer((req, res) => hub!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    hub = new FakeHub(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return hub;
  }

  /** Publishes `files` as a new commit of `repo` and points `branch` at it; returns the commit. */
  publish(repo: string, files: readonly ServedFile[], branch = "main"): string {
    const r = this.repos.get(repo) ?? { refs: new Map(), commits: new Map() };
    this.repos.set(repo, r);
    const h = createHash("sha1").update(repo).update(String(r.commits.size));
    for (const f of files) h.update(f.path).update(f.data);
    const commit = h.digest("hex");
    r.commits.set(commit, { files: new Map(files.map((f) => [f.path, f])), extraEntries: [] });
    r.refs.set(branch, commit);
    return commit;
  }

  /** Adds raw entries to the tree listing of a commit (e.g. names that escape the snapshot). */
  listExtra(repo: string, commit: string, entry: object): void {
    this.repos.get(repo)!.commits.get(commit)!.extraEntries.push(entry);
  }

  /** Injects `fault` into the next `times` requests that `match`. */
  inject(match: (r: LoggedRequest) => boolean, fault: Fault, times = 1): void {
    this.faults.push({ match, fault, remaining: times });
  }

  count(match: (r: LoggedRequest) => boolean = () => true): number {
    return this.requests.filter(match).length;
  }

  /** Body bytes sent in answer to the requests that `match`. */
  bytesServed(match: (r: LoggedRequest) => boolean = () => true): number {
    return this.requests.filter(match).reduce((a, r) => a + r.bytes, 0);
  }

  /** Makes `repo` gated: every request about it needs `Authorization: Bearer <token>` (401 otherwise). */
  gate(repo: string, token: string): void {
    this.gated.set(repo, token);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(r: LoggedRequest): Fault | undefined {
    const rule = this.faults.find((f) => f.remaining > 0 && f.match(r));
    if (rule === undefined) return undefined;
    rule.remaining--;
    return rule.fault;
  }

  private handle(req: IncomingMessage, res: ServerResponse): undefined {
    const url = new URL(req.url ?? "/", this.url);
    const logged: LoggedRequest = {
      method: req.method ?? "GET",
      path: url.pathname + url.search,
      range: req.headers.range,
      authorization: req.headers.authorization,
      bytes: 0,
    };
    // Count the body as it is handed to the socket (a client that cancels early was still sent it).
    const count = (chunk: unknown) => {
      if (typeof chunk === "string" || chunk instanceof Uint8Array) logged.bytes += Buffer.byteLength(chunk);
    };
    const write = res.write.bind(res);
    const end = res.end.bind(res);
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      count(chunk);
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      count(chunk);
      return (end as (...a: unknown[]) => ServerResponse)(chunk, ...rest);
    }) as typeof res.end;
    this.requests.push(logged);
    const fault = this.takeFault(logged);
    if (fault?.kind === "hang") return;
    if (fault?.kind === "status") {
      json(res, fault.status, { error: `injected ${fault.status}` });
      return;
    }
    req.resume();
    const repoOf = /^\/(?:api\/models\/)?([^/]+\/[^/]+)\//.exec(url.pathname)?.[1];
    const token = repoOf === undefined ? undefined : this.gated.get(repoOf);
    if (token !== undefined && logged.authorization !== `Bearer ${token}`) {
      json(
        res,
        401,
        { error: "Access to this model is restricted. You must have access to it and be authenticated to access it." },
        { "X-Error-Code": "GatedRepo" },
      );
      return;
    }
    if (fault !== undefined && this.hostile(req, res, fault)) return;
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)$/.exec(url.pathname);
    if (api !== null) {
      this.api(res, api[1]!, api[2]!, decodeURIComponent(api[3]!), url, fault);
      return;
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve !== null) {
      this.resolve(req, res, resolve[1]!, decodeURIComponent(resolve[2]!), decodeURIComponent(resolve[3]!), fault);
      return;
    }
    json(res, 404, { error: "no such endpoint" });
  }

  private commitOf(repo: string, rev: string): { commit: string; files: Commit } | undefined {
    const r = this.repos.get(repo);
    const commit = r?.refs.get(rev) ?? (r?.commits.has(rev) ? rev : undefined);
    return commit === undefined ? undefined : { commit, files: r!.commits.get(commit)! };
  }

  /** Answers with a hostile fault; false when the fault is for the regular handler. */
  private hostile(req: IncomingMessage, res: ServerResponse, fault: Fault): boolean {
    switch (fault.kind) {
      case "redirect":
        res.writeHead(302, { Location: fault.location, "Content-Length": "0" });
        res.end();
        return true;
      case "echo":
        json(res, fault.status, { error: `bad request, you sent ${JSON.stringify(req.headers)}` });
        return true;
      case "endless": {
        res.writeHead(200, { "Content-Type": "application/json" });
        const entry = Buffer.from(`{"type":"file","oid":"${"1".repeat(40)}","size":1,"path":"${"x".repeat(200)}"},`);
        const pump = () => {
          while (!res.destroyed) {
            this.endlessBytes += entry.length;
            if (!res.write(entry)) return void res.once("drain", pump);
          }
        };
        res.write("[");
        pump();
        return true;
      }
      case "trickle": {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.write("[");
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(" ")), fault.everyMs);
        res.on("close", () => clearInterval(timer));
        return true;
      }
      case "gzip":
        res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": String(fault.body.length) });
        res.end(fault.body);
        return true;
      case "xet":
        res.writeHead(200, {
          "Content-Type": "application/vnd.xet-fileinfo+json",
          "X-Linked-Size": "1000",
          "X-Xet-Hash": "a".repeat(64),
          ETag: `"${"b".repeat(64)}"`,
          Link: `<${fault.base}/xet-read-token>; rel="xet-auth", <${fault.base}/reconstructions/x>; rel="xet-reconstruction-info"`,
        });
        res.end("{}");
        return true;
      default:
        return false;
    }
  }

  private api(res: ServerResponse, repo: string, what: string, rev: string, url: URL, fault: Fault | undefined): undefined {
    if (!this.repos.has(repo)) {
      json(res, 404, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
      return;
    }
    const c = this.commitOf(repo, rev);
    if (c === undefined) {
      json(res, 404, { error: "Invalid rev id" }, { "X-Error-Code": "RevisionNotFound" });
      return;
    }
    if (what === "revision") {
      json(res, 200, {
        _id: `id-${repo}`,
        id: repo,
        sha: c.commit,
        private: false,
        gated: false,
        downloads: 0,
        likes: 0,
        lastModified: "2025-01-01T00:00:00.000Z",
      });
      return;
    }
    const entries: object[] = [];
    const dirs = new Set<string>();
    for (const f of c.files.files.values()) {
      const parts = f.path.split("/");
      for (let k = 1; k < parts.length; k++) dirs.add(parts.slice(0, k).join("/"));
      entries.push({
        type: "file",
        oid: gitBlobSha1(f.data),
        size: f.data.length,
        path: f.path,
        ...(f.lfs ? { lfs: { oid: sha256(f.data), size: f.data.length, pointerSize: 134 } } : {}),
      });
    }
    for (const d of dirs) entries.push({ type: "directory", oid: "0".repeat(40), size: 0, path: d });
    entries.push(...c.files.extraEntries);
    const cursor = Number(url.searchParams.get("cursor") ?? 0);
    const page = entries.slice(cursor, cursor + this.pageSize);
    const headers: Record<string, string> = {};
    if (fault?.kind === "next") headers.Link = `<${fault.href}>; rel="next"`;
    else if (cursor + this.pageSize < entries.length) {
      const next = new URL(url);
      next.searchParams.set("cursor", String(cursor + this.pageSize));
      headers.Link = `<${next.href}>; rel="next"`;
    }
    json(res, 200, page, headers);
  }

  private resolve(req: IncomingMessage, res: ServerResponse, repo: string, rev: string, path: string, fault: Fault | undefined): undefined {
    const c = this.commitOf(repo, rev);
    const f = c?.files.files.get(path);
    if (c === undefined || f === undefined) {
      json(res, 404, { error: "Entry not found" }, { "X-Error-Code": "EntryNotFound" });
      return;
    }
    let data = f.data;
    if (fault?.kind === "corrupt") {
      data = Uint8Array.from(data);
      if (data.length > 0) data[data.length - 1]! ^= 0xff;
    }
    if (f.lfs && this.lfsRedirect !== undefined) {
      res.writeHead(302, { Location: `${this.lfsRedirect.url}/${repo}/resolve/${c.commit}/${path}`, "Content-Length": "0" });
      res.end();
      return;
    }
    const etag = etagOf(f);
    const headers: Record<string, string> = {
      ETag: `"${etag}"`,
      "X-Repo-Commit": c.commit,
      "Accept-Ranges": "bytes",
      "Content-Type": "application/octet-stream",
    };
    if (f.lfs) headers["X-Linked-ETag"] = `"${etag}"`;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range !== null && !this.ignoreRange) {
      const start = Number(range[1]);
      const end = Math.min(range[2] === "" ? data.length - 1 : Number(range[2]), data.length - 1);
      if (start >= data.length || end < start) {
        res.writeHead(416, { ...headers, "Content-Range": `bytes */${data.length}`, "Content-Length": "0" });
        res.end();
        return;
      }
      res.writeHead(206, { ...headers, "Content-Range": `bytes ${start}-${end}/${data.length}`, "Content-Length": String(end - start + 1) });
      res.end(Buffer.from(data.subarray(start, end + 1)));
      return;
    }
    res.writeHead(200, { ...headers, "Content-Length": String(data.length) });
    if (fault?.kind === "truncate" || fault?.kind === "stall-body") {
      // Cut the connection once half the body has really left (the headers promised all of it).
      res.write(Buffer.from(data.subarray(0, data.length >> 1)), () => {
        if (fault.kind === "truncate") res.socket?.destroy();
      });
      return;
    }
    res.end(Buffer.from(data));
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}
