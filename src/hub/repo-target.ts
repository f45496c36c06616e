// Where a Hub reference points, shared by the header reader and the downloader: the repository
// and revision validated, the cache folder they map to, and the commit the revision names, read
// without a request when it can be (a commit hash, or offline, the cached ref) or asked of the
// Hub (model info's `sha`, which must be a full commit hash).

import { modelInfo } from "@huggingface/hub";
import { readRef, repoFolder } from "./cache-layout.js";
import { HubError } from "./errors.js";
import { type CallLimits, withRetries } from "./http.js";
import { COMMIT_HASH, validateRepoId, validateRevision } from "./repo-ref.js";
import type { HubSettings } from "./settings.js";

export interface RepoTarget {
  readonly repo: string;
  readonly revision: string;
  /** `hf://owner/name@revision`, what errors name. */
  readonly label: string;
  /** The repository's folder in the cache. */
  readonly folder: string;
}

export function repoTarget(repo: string, revision: string | undefined, s: HubSettings): RepoTarget {
  const r = validateRepoId(repo);
  const rev = validateRevision(revision ?? "main");
  return { repo: r, revision: rev, label: `hf://${r}@${rev}`, folder: repoFolder(s.cacheDir, r) };
}

/** The commit the revision names without a request: itself when it is one, offline the cached ref. */
export async function knownCommit(t: RepoTarget, s: HubSettings): Promise<string | undefined> {
  return COMMIT_HASH.test(t.revision) ? t.revision : s.offline ? await readRef(t.folder, t.revision) : undefined;
}

/** Asks the Hub which commit the revision names now. */
export async function resolveCommit(t: RepoTarget, s: HubSettings, limits: CallLimits): Promise<string> {
  const info = await withRetries(s, t.label, limits, (fetch) =>
    modelInfo({
      name: t.repo,
      revision: t.revision,
      additionalFields: ["sha"],
      hubUrl: s.endpoint,
      fetch,
      ...(s.token !== undefined ? { accessToken: s.token } : {}),
    }),
  );
  if (typeof info.sha !== "string" || !COMMIT_HASH.test(info.sha))
    throw new HubError("BAD_RESPONSE", `the Hub resolved the revision to '${String(info.sha)}', not a commit hash`, { file: t.label });
  return info.sha;
}
