// Downloading a model repository into the Hugging Face cache with @huggingface/hub: the
// revision is resolved to a commit (modelInfo), the files are listed at that commit
// (listFiles), and each missing file is downloaded (downloadFile), checked against its
// listing (size, and the LFS sha256 or the git blob sha1), then moved into blobs/ and linked
// from the snapshot. A pinned commit already complete in the cache, or any cached revision
// under HF_HUB_OFFLINE=1, is served without a single request. Nothing partial survives: a
// download lives under a temporary name until it is verified.

import { downloadFile } from "@huggingface/hub";
import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";
import { CONFIG_FILE } from "../reference/checkpoint.js";
import { blobPath, fileSize, insideDir, installAtomically, linkBlob, snapshotComplete, snapshotDir, writeRef } from "./cache-layout.js";
import { HubError } from "./errors.js";
import { HUB_FETCH_DEFAULTS } from "./fetch.js";
import { type CallLimits, withRetries } from "./http.js";
import { listCommit } from "./list-commit.js";
import { MAX_TIMER_MS } from "../reference/timer-limit.js";
import type { HubSettings } from "./settings.js";
import { knownCommit, repoTarget, resolveCommit } from "./repo-target.js";

export interface FetchRepoOptions {
  /** `owner/name`. */
  readonly repo: string;
  /** Branch, tag or commit; default main. */
  readonly revision?: string;
  readonly settings: HubSettings;
  /** Progress lines (one per downloaded file). */
  readonly log?: (line: string) => void;
  /** The fetch underneath hubFetch (tests count requests through it). */
  readonly fetch?: typeof fetch;
  /** Other bounds for the API answers than HUB_LIMITS (tests make them small). */
  readonly limits?: Partial<HubLimits>;
}

/** Bounds on what the Hub's API answers may cost (file downloads are bounded by their listed size). */
export interface HubLimits {
  /** Largest decoded body of one API answer: the commit, or one page of the listing. */
  readonly apiBodyBytes: number;
  /** Most pages of one listing, redirects included (the Hub pages at 1000 entries). */
  readonly listingPages: number;
  /**
   * Largest listing in all (decoded JSON of every page): the entries are kept until the listing
   * ends, so this bounds the memory of a hostile one (128 MiB: some 400,000 files).
   */
  readonly listingBytes: number;
  /** Longest time for one API call, all of its pages included (default: 30 timeouts, at least a minute). */
  readonly apiDeadlineMs: number | undefined;
}

export const HUB_LIMITS: HubLimits = { apiBodyBytes: HUB_FETCH_DEFAULTS.maxBodyBytes, listingPages: 10_000, listingBytes: 128 << 20, apiDeadlineMs: undefined };

/** What an API call (the commit, a listing) may cost. */
function apiLimits(o: FetchRepoOptions, listing: boolean): CallLimits {
  const l = { ...HUB_LIMITS, ...o.limits };
  return {
    maxBodyBytes: l.apiBodyBytes,
    deadlineMs: l.apiDeadlineMs ?? Math.min(MAX_TIMER_MS, Math.max(60_000, 30 * o.settings.timeoutMs)),
    ...(listing ? { maxRequests: l.listingPages, maxTotalBytes: l.listingBytes, refuseRepeats: true } : {}),
    ...(o.fetch ? { base: o.fetch } : {}),
  };
}

export interface FetchedFile {
  readonly path: string;
  readonly size: number;
  /** Already in the snapshot, linked from an existing blob, or downloaded now. */
  readonly source: "snapshot" | "blob" | "download";
}

export interface FetchRepoResult {
  readonly repo: string;
  readonly revision: string;
  readonly commit: string;
  readonly snapshotDir: string;
  /** Served from the cache without any request. */
  readonly fromCache: boolean;
  /** The files of the repository (empty when served from the cache). */
  readonly files: readonly FetchedFile[];
}

interface RemoteFile {
  readonly path: string;
  readonly size: number;
  /** Name of the blob: the LFS sha256, or the git blob sha1 of a regular file. */
  readonly etag: string;
  readonly hash: "sha256" | "git-sha1";
}

const ETAG = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** git's blob id: sha1 of `blob <size>\0` followed by the content. */
function contentHash(f: RemoteFile): Hash {
  if (f.hash === "sha256") return createHash("sha256");
  return createHash("sha1").update(`blob ${f.size}\0`);
}

function download(o: FetchRepoOptions, commit: string, f: RemoteFile, blob: string, label: string): Promise<void> {
  const s = o.settings;
  // A body longer than the listing says is refused by the loop below as well; capping it in
  // the fetch also bounds what a redirect target may send.
  const limits: CallLimits = { maxBodyBytes: Math.max(f.size, 1), ...(o.fetch ? { base: o.fetch } : {}) };
  return withRetries(s, label, limits, (fetch) =>
    installAtomically(blob, ".incomplete", async (temp) => {
      const remote = await downloadFile({
        repo: o.repo,
        path: f.path,
        revision: commit,
        hubUrl: s.endpoint,
        fetch,
        // Plain HTTP, no xet: the bytes are checked against the listing's sha256 either way, and
        // the xet protocol would read more JSON, from more hosts, named by the server's headers.
        xet: false,
        ...(s.token !== undefined ? { accessToken: s.token } : {}),
      });
      if (remote === null) throw new HubError("NOT_FOUND", "listed in the repository but not found on download", { file: label });
      if (remote.size !== f.size) throw new HubError("SIZE_MISMATCH", `the server offers ${remote.size} bytes, the listing says ${f.size}`, { file: label });
      const hash = contentHash(f);
      const handle = await open(temp, "wx");
      let got = 0;
      try {
        for await (const chunk of remote.stream() as AsyncIterable<Uint8Array>) {
          got += chunk.length;
          if (got > f.size) throw new HubError("SIZE_MISMATCH", `the body is longer than the ${f.size} bytes listed`, { file: label });
          hash.update(chunk);
          await handle.write(chunk);
        }
      } finally {
        await handle.close();
      }
      if (got !== f.size) throw new HubError("SIZE_MISMATCH", `the body ended after ${got} of ${f.size} bytes`, { file: label });
      const digest = hash.digest("hex");
      if (digest !== f.etag) {
        throw new HubError("CHECKSUM_MISMATCH", `${f.hash} of the download is ${digest}, the repository lists ${f.etag}; nothing was kept`, { file: label });
      }
    }),
  );
}

async function listRemote(o: FetchRepoOptions, commit: string, label: string): Promise<RemoteFile[]> {
  const s = o.settings;
  const entries = await listCommit(s, o.repo, commit, label, apiLimits(o, true));
  const files: RemoteFile[] = [];
  for (const e of entries) {
    // Directories too: a name that escapes is refused whatever its type.
    insideDir("/snapshot", e.path, label);
    if (e.type !== "file") continue;
    const etag = e.lfs?.oid ?? e.oid;
    if (etag === undefined || !ETAG.test(etag) || !Number.isSafeInteger(e.size) || e.size < 0) {
      throw new HubError("BAD_RESPONSE", `the listing of '${e.path}' has no usable oid or size`, { file: label });
    }
    files.push({ path: e.path, size: e.size, etag, hash: e.lfs ? "sha256" : "git-sha1" });
  }
  // config.json last: a snapshot with a config is a finished one (see snapshotComplete).
  return files.sort((a, b) => Number(a.path === CONFIG_FILE) - Number(b.path === CONFIG_FILE) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function fetchRepo(o: FetchRepoOptions): Promise<FetchRepoResult> {
  const s = o.settings;
  const target = repoTarget(o.repo, o.revision, s);
  const { repo, revision, label, folder } = target;

  const known = await knownCommit(target, s);
  if (known !== undefined && (await snapshotComplete(snapshotDir(folder, known)))) {
    return { repo, revision, commit: known, snapshotDir: snapshotDir(folder, known), fromCache: true, files: [] };
  }
  if (s.offline) {
    throw new HubError("OFFLINE_NOT_CACHED", `HF_HUB_OFFLINE is set and this revision is not complete in the cache ${s.cacheDir}`, { file: label });
  }

  const commit = await resolveCommit(target, s, apiLimits(o, false));
  const snapshot = snapshotDir(folder, commit);
  const remote = await listRemote(o, commit, label);

  const files: FetchedFile[] = [];
  for (const f of remote) {
    const fileLabel = `hf://${repo}@${commit}/${f.path}`;
    const pointer = insideDir(snapshot, f.path, label);
    const blob = blobPath(folder, f.etag);
    if ((await fileSize(pointer)) === f.size) {
      files.push({ path: f.path, size: f.size, source: "snapshot" });
      continue;
    }
    let source: FetchedFile["source"] = "blob";
    if ((await fileSize(blob)) !== f.size) {
      o.log?.(`downloading ${f.path} (${f.size} bytes)`);
      await download(o, commit, f, blob, fileLabel);
      source = "download";
    }
    await linkBlob(blob, pointer);
    files.push({ path: f.path, size: f.size, source });
  }
  if (revision !== commit) await writeRef(folder, revision, commit);
  return { repo, revision, commit, snapshotDir: snapshot, fromCache: false, files };
}
