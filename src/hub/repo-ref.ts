// Naming things on the Hub: repository ids, revisions and `hf://owner/name[@revision]`
// references. Both end up in cache paths (`models--owner--name`, `refs/<revision>`), so they
// are validated strictly, as huggingface_hub does, before anything touches the disk.

import { HubError } from "./errors.js";

const HF_SCHEME = "hf://";

/** A full commit hash: the only revision that never moves. */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

export interface HubRef {
  readonly repo: string;
  /** Branch, tag or commit; undefined means main. */
  readonly revision: string | undefined;
}

const NAME = /^[A-Za-z0-9_.-]{1,96}$/;

/** `owner/name` (or a legacy bare `name`), as huggingface_hub's validate_repo_id accepts. */
export function validateRepoId(repo: string): string {
  const parts = repo.split("/");
  const ok = parts.length <= 2 && parts.every((p) => NAME.test(p) && !/^[-.]|[-.]$/.test(p)) && !repo.includes("--") && !repo.includes("..");
  if (!ok) throw new HubError("INVALID_REPO", `'${repo}' is not a Hub model id (owner/name: letters, digits, '-', '_', '.')`);
  return repo;
}

/** A branch, tag or commit name that is safe as a relative path under `refs/`. */
export function validateRevision(revision: string): string {
  const segments = revision.split("/");
  const ok = revision.length > 0 && revision.length <= 256 && !/[\\\x00-\x1f\x7f]/.test(revision) && segments.every((s) => s !== "" && s !== "." && s !== "..");
  if (!ok) throw new HubError("INVALID_REVISION", `'${revision}' is not a usable revision (a branch, tag or commit hash)`);
  return revision;
}

export function isHubRef(arg: string): boolean {
  return arg.startsWith(HF_SCHEME);
}

/** Parses `hf://owner/name[@revision]`. */
export function parseHubRef(arg: string): HubRef {
  if (!isHubRef(arg)) throw new HubError("INVALID_REPO", `'${arg}' is not an hf:// reference (hf://owner/name[@revision])`);
  const rest = arg.slice(HF_SCHEME.length);
  const at = rest.indexOf("@");
  const repo = validateRepoId(at < 0 ? rest : rest.slice(0, at));
  const revision = at < 0 ? undefined : validateRevision(rest.slice(at + 1));
  return { repo, revision };
}
