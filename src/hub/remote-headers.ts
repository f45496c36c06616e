// A Hub checkpoint's headers without its tensors: config.json, the shard index and each
// safetensors header, read with HTTP range requests. A safetensors file states its layout in
// its first bytes (an 8-byte little-endian length N, then N bytes of JSON), so each file costs
// exactly two requests: bytes 0-7 (whose Content-Range also gives the file's size) and bytes
// 8..8+N-1. Nothing past the header is ever asked for, and a server that answers a range
// request with the whole file is refused before its body is read.
//
// Why not @huggingface/hub's parseSafetensorsMetadata (2.17.5): measured against the loopback
// stand-in (3 shards), it makes three requests per file (a `Range: bytes=0-0` probe from
// downloadFile's WebBlob.create, then the 8-byte length, then the header), where this reader
// makes two; a server that ignores Range gets its 200 body read whole (WebBlob.create falls back
// to `probe.blob()`; measured: the index was read whole, then the call failed with "Expected size
// information"); it refuses headers over 25 MB where the safetensors reference reader accepts
// 100 MB; and it hands back parsed JSON, so the reference's strict checks (duplicate keys,
// offsets, sizes against the file) could not run on the bytes. The requests here go through the
// one Hub fetch (src/hub/fetch.ts: the token to the endpoint's origin only, redirects, deadlines,
// body caps; src/hub/http.ts: typed errors, bounded retries), and the bytes through the parser
// local files use (src/reference/safetensors/header.ts).
//
// Results are cached per commit next to the Hugging Face cache's own folders
// (`<cache>/models--owner--name/moe-prefuse/headers/<commit>.json`), so planning a pinned commit
// a second time makes no request; cached headers are parsed and checked again when read.

import { HubApiError } from "@huggingface/hub";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CONFIG_FILE, type ModelConfig, SINGLE_FILE, checkIndex } from "../reference/checkpoint.js";
import { CheckpointError } from "../reference/errors.js";
import { MAX_HEADER_SIZE, type SafetensorsHeader, parseHeader, readHeaderSize } from "../reference/safetensors/header.js";
import { INDEX_FILE, type ShardIndex, parseShardIndex } from "../reference/safetensors/shard-index.js";
import type { TensorSpec } from "../reference/tensor.js";
import { installAtomically, insideDir, repoFolder, writeRef } from "./cache-layout.js";
import { HubError } from "./errors.js";
import { type CallLimits, withRetries } from "./http.js";
import { listCommit } from "./list-commit.js";
import type { HubSettings } from "./settings.js";
import { knownCommit, repoTarget, resolveCommit } from "./repo-target.js";

/** Largest config.json read (the Hub's own metadata parser stops at 10 MB too). */
export const MAX_CONFIG_BYTES = 10_000_000;
/** Largest shard index read: a 100k-tensor index is about 10 MB. */
export const MAX_INDEX_BYTES = 64_000_000;
/** Files whose headers are read at the same time. */
const PARALLEL = 8;
const CACHE_VERSION = 1;

export interface RemoteHeadersOptions {
  /** `owner/name`. */
  readonly repo: string;
  /** Branch, tag or commit; default main. */
  readonly revision?: string;
  readonly settings: HubSettings;
  /** The fetch underneath (tests count requests through it). */
  readonly fetch?: typeof fetch;
  /**
   * When the server ignores Range, read the header from the start of its whole-file answer and
   * close the connection there (the server may have sent more by then), instead of refusing.
   */
  readonly allowDownload?: boolean;
}

export interface RemoteFile {
  /** Path in the repository. */
  readonly path: string;
  readonly size: number;
  readonly header: SafetensorsHeader;
}

export interface RemoteHeaders {
  readonly repo: string;
  readonly revision: string;
  readonly commit: string;
  /** `hf://owner/name@commit`: how errors and reports name the checkpoint. */
  readonly label: string;
  readonly config: ModelConfig | undefined;
  readonly index: ShardIndex | undefined;
  /** The weight files, in the order Checkpoint.open opens them. */
  readonly files: readonly RemoteFile[];
  readonly specs: ReadonlyMap<string, TensorSpec>;
  /** Served from the header cache without any request for the files. */
  readonly fromCache: boolean;
}

/**
 * The limits of every call of this module: the one Hub fetch (src/hub/fetch.ts: the token to the
 * endpoint's origin only, redirects followed by hand, deadlines, body caps) over `o.fetch`.
 */
function limits(o: RemoteHeadersOptions, extra: CallLimits = {}): CallLimits {
  return { ...extra, ...(o.fetch !== undefined ? { base: o.fetch } : {}) };
}

interface Got {
  readonly bytes: Uint8Array;
  /** The file's whole size, from Content-Range (range requests only). */
  readonly total: number | undefined;
}

/** The first `n` bytes of a body; the rest is not read (the connection is closed there). */
async function prefix(res: Response, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  const reader = res.body?.getReader();
  while (reader !== undefined && got < n) {
    const { done, value } = await reader.read();
    if (done) break;
    const take = Math.min(value.length, n - got);
    out.set(value.subarray(0, take), got);
    got += take;
  }
  await reader?.cancel().catch(() => undefined);
  return out.subarray(0, got);
}

/**
 * GET `path` of the repository at `commit`, optionally bytes [start, end] only, at most `max`
 * bytes (the whole body of a plain GET; exactly the range of a range request).
 */
async function get(o: RemoteHeadersOptions, commit: string, path: string, max: number, what: string, range?: readonly [number, number]): Promise<Got> {
  const s = o.settings;
  const label = `hf://${o.repo}@${commit}/${path}`;
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  const url = `${s.endpoint}/${o.repo}/resolve/${commit}/${encoded}`;
  const want = range === undefined ? max : range[1] - range[0] + 1;
  // A whole-file answer to a range request is read only in part, so it is not capped by size.
  const cap = range !== undefined && o.allowDownload ? Number.MAX_SAFE_INTEGER : want;
  const ignored = (size: string | null) =>
    new HubError(
      "RANGE_IGNORED",
      `the server ignored the byte-range request and offered the whole file${size === null ? "" : ` (${size} bytes)`}; refusing to download it to read its header (--allow-download reads the header from the start of the whole-file answer)`,
      { file: label },
    );
  return withRetries(s, label, limits(o, { maxBodyBytes: cap }), async (f) => {
    const headers: Record<string, string> = {};
    if (range !== undefined) headers.Range = `bytes=${range[0]}-${range[1]}`;
    if (s.token !== undefined) headers.Authorization = `Bearer ${s.token}`;
    let res: Response;
    try {
      res = await f(url, { headers });
    } catch (e) {
      // More than the range asked for: the server answered with (much of) the whole file.
      if (range !== undefined && e instanceof HubError && e.code === "BODY_TOO_LARGE") throw ignored(null);
      throw e;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new HubApiError(url, res.status, res.headers.get("x-request-id") ?? undefined, "");
    }
    if (range === undefined) return { bytes: new Uint8Array(await res.arrayBuffer()), total: undefined };
    if (res.status !== 206) {
      const size = res.headers.get("content-length");
      if (o.allowDownload && res.status === 200 && size !== null && /^\d+$/.test(size)) {
        const bytes = await prefix(res, range[1] + 1);
        if (bytes.length !== Math.min(range[1] + 1, Number(size)))
          throw new HubError("BAD_RESPONSE", `the body ended after ${bytes.length} bytes`, { file: label });
        return { bytes: bytes.subarray(range[0]), total: Number(size) };
      }
      await res.body?.cancel().catch(() => undefined);
      throw ignored(size);
    }
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
    if (m === null || Number(m[1]) !== range[0] || Number(m[2]) !== range[1]) {
      await res.body?.cancel().catch(() => undefined);
      throw new HubError("BAD_RESPONSE", `answered bytes ${range[0]}-${range[1]} with Content-Range '${res.headers.get("content-range")}'`, { file: label });
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length !== want) throw new HubError("BAD_RESPONSE", `asked for ${want} bytes of ${what}, got ${bytes.length}`, { file: label });
    return { bytes, total: Number(m[3]) };
  });
}

/** The first 8 + N bytes of a safetensors file, in two range requests, and the file's size. */
async function fetchHeaderBytes(o: RemoteHeadersOptions, commit: string, path: string, listedSize: number): Promise<{ bytes: Uint8Array; size: number }> {
  const label = `hf://${o.repo}@${commit}/${path}`;
  // A file shorter than 8 bytes has no header; the parser says so in its own words.
  if (listedSize < 8) return { bytes: new Uint8Array(0), size: listedSize };
  const head = await get(o, commit, path, 8, "the header length", [0, 7]);
  const size = head.total!;
  if (size !== listedSize) throw new HubError("SIZE_MISMATCH", `the server says the file is ${size} bytes, the listing says ${listedSize}`, { file: label });
  // Refuses lengths over the 100 MB limit and lengths past the end of the file before asking.
  const n = readHeaderSize(head.bytes, size, label);
  const bytes = new Uint8Array(8 + n);
  bytes.set(head.bytes);
  if (n > 0) bytes.set((await get(o, commit, path, MAX_HEADER_SIZE, "the header", [8, 8 + n - 1])).bytes, 8);
  return { bytes, size };
}

interface Listed {
  readonly path: string;
  readonly size: number;
}

async function listWeightsCommit(o: RemoteHeadersOptions, commit: string, label: string): Promise<Listed[]> {
  const entries = await listCommit(o.settings, o.repo, commit, label, limits(o, { refuseRepeats: true }));
  return entries.flatMap((e) => (e.type === "file" ? [{ path: e.path, size: e.size }] : []));
}

/** Which files hold the weights, by the rule Checkpoint.open applies to a directory. */
function weightFiles(listed: readonly Listed[], index: ShardIndex | undefined, label: string): string[] {
  if (index !== undefined) {
    const shards = [...new Set(index.weightMap.values())].sort();
    for (const shard of shards) insideDir("/snapshot", shard, `${label}/${INDEX_FILE}`);
    return shards;
  }
  const names = listed.map((f) => f.path).filter((p) => !p.includes("/"));
  const candidates = names.includes(SINGLE_FILE) ? [SINGLE_FILE] : names.filter((n) => n.endsWith(".safetensors")).sort();
  if (candidates.length === 0) throw new CheckpointError("NO_WEIGHTS", `no ${SINGLE_FILE}, ${INDEX_FILE} or other .safetensors file`, { file: label });
  if (candidates.length > 1)
    throw new CheckpointError("NO_WEIGHTS", `several .safetensors files (${candidates.join(", ")}) and no ${INDEX_FILE} to say which belong together`, {
      file: label,
    });
  return candidates;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ---- the cache ----------------------------------------------------------------------------

interface CachedHeaders {
  readonly version: number;
  readonly repo: string;
  readonly commit: string;
  readonly config: string | null;
  readonly index: string | null;
  /** Each weight file: its size and its first 8 + N bytes, base64. */
  readonly files: readonly { readonly path: string; readonly size: number; readonly header: string }[];
}

function cacheFile(s: HubSettings, repo: string, commit: string): string {
  return join(repoFolder(s.cacheDir, repo), "moe-prefuse", "headers", `${commit}.json`);
}

async function readCache(s: HubSettings, repo: string, commit: string): Promise<CachedHeaders | undefined> {
  try {
    const c = JSON.parse(await readFile(cacheFile(s, repo, commit), "utf8")) as CachedHeaders;
    return c.version === CACHE_VERSION && c.repo === repo && c.commit === commit && Array.isArray(c.files) ? c : undefined;
  } catch {
    return undefined;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Headers from their raw parts: every check runs here, fresh or cached. */
function assemble(
  repo: string,
  revision: string,
  commit: string,
  configText: string | null,
  indexText: string | null,
  raw: readonly { path: string; size: number; bytes: Uint8Array }[],
  fromCache: boolean,
): RemoteHeaders {
  const label = `hf://${repo}@${commit}`;
  let config: ModelConfig | undefined;
  if (configText !== null) {
    let json: unknown;
    try {
      json = JSON.parse(configText);
    } catch (e) {
      throw new CheckpointError("CONFIG_INVALID_JSON", `not valid JSON (${(e as Error).message})`, { file: `${label}/${CONFIG_FILE}` });
    }
    if (typeof json !== "object" || json === null || Array.isArray(json))
      throw new CheckpointError("CONFIG_INVALID", "not a JSON object", { file: `${label}/${CONFIG_FILE}` });
    config = json as ModelConfig;
  }
  const index = indexText === null ? undefined : parseShardIndex(indexText, `${label}/${INDEX_FILE}`);
  const files = raw.map((f) => ({ path: f.path, size: f.size, header: parseHeader(f.bytes, f.size, `${label}/${f.path}`) }));
  const specs = new Map<string, TensorSpec>();
  for (const f of files) {
    for (const t of f.header.tensors) {
      if (specs.has(t.name)) throw new CheckpointError("DUPLICATE_TENSOR", "in two weight files", { file: `${label}/${f.path}`, tensor: t.name });
      specs.set(t.name, { dtype: t.dtype, shape: t.shape });
    }
  }
  if (index !== undefined) {
    // Paths under a stand-in directory: checkIndex compares where the index places each tensor.
    const root = "/snapshot";
    checkIndex(
      index,
      files.map((f) => ({ path: insideDir(root, f.path, label), tensors: new Map(f.header.tensors.map((t) => [t.name, t])) })),
      `${label}/${INDEX_FILE}`,
      root,
    );
  }
  return { repo, revision, commit, label, config, index, files, specs, fromCache };
}

/**
 * Reads config.json, the index and every weight file's header of `repo` at `revision` with
 * range requests (two per weight file), or from the header cache when that commit was read before.
 */
export async function readRemoteHeaders(o: RemoteHeadersOptions): Promise<RemoteHeaders> {
  const s = o.settings;
  const target = repoTarget(o.repo, o.revision, s);
  const { repo, revision, label, folder } = target;
  const opts = { ...o, repo };

  let commit = await knownCommit(target, s);
  if (commit === undefined && s.offline)
    throw new HubError("OFFLINE_NOT_CACHED", `HF_HUB_OFFLINE is set and this revision is not in the cache ${s.cacheDir}`, { file: label });
  if (commit === undefined) {
    commit = await resolveCommit(target, s, limits(opts));
    await writeRef(folder, revision, commit);
  }

  const cached = await readCache(s, repo, commit);
  if (cached !== undefined) {
    const raw = cached.files.map((f) => ({ path: f.path, size: f.size, bytes: new Uint8Array(Buffer.from(f.header, "base64")) }));
    return assemble(repo, revision, commit, cached.config, cached.index, raw, true);
  }
  if (s.offline)
    throw new HubError("OFFLINE_NOT_CACHED", `HF_HUB_OFFLINE is set and the headers of commit ${commit} are not in the cache ${s.cacheDir}`, { file: label });

  const at = `hf://${repo}@${commit}`;
  const listed = await listWeightsCommit(opts, commit, at);
  const sizes = new Map(listed.map((f) => [f.path, f.size]));
  const text = async (path: string, max: number, what: string): Promise<string | null> => {
    if (!sizes.has(path)) return null;
    const { bytes } = await get(opts, commit, path, max, what);
    try {
      return utf8.decode(bytes);
    } catch {
      throw new CheckpointError("CONFIG_INVALID", `${what} is not valid UTF-8`, { file: `${at}/${path}` });
    }
  };
  const configText = await text(CONFIG_FILE, MAX_CONFIG_BYTES, CONFIG_FILE);
  const indexText = await text(INDEX_FILE, MAX_INDEX_BYTES, INDEX_FILE);
  const index = indexText === null ? undefined : parseShardIndex(indexText, `${at}/${INDEX_FILE}`);
  const paths = weightFiles(listed, index, at);
  const raw = await mapLimited(paths, PARALLEL, async (path) => {
    const size = sizes.get(path);
    if (size === undefined) throw new HubError("NOT_FOUND", `the index names ${path}, which the repository does not hold`, { file: `${at}/${INDEX_FILE}` });
    const got = await fetchHeaderBytes(opts, commit, path, size);
    return { path, size: got.size, bytes: got.bytes };
  });
  const result = assemble(repo, revision, commit, configText, indexText, raw, false);
  const entry: CachedHeaders = {
    version: CACHE_VERSION,
    repo,
    commit,
    config: configText,
    index: indexText,
    files: raw.map((f) => ({ path: f.path, size: f.size, header: Buffer.from(f.bytes).toString("base64") })),
  };
  await installAtomically(cacheFile(s, repo, commit), ".tmp", (temp) => writeFile(temp, JSON.stringify(entry)));
  return result;
}
