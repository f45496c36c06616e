// Turning a checkpoint argument into a local path: a path is a path, and `hf://owner/name[@rev]`
// is fetched into the Hugging Face cache (or found there) and replaced by its snapshot
// directory, so that every command accepts Hub references. The Hub client (and @huggingface/hub
// under it, a fifth of the modules `fuse` loads) is imported only for a Hub reference: a local
// path does not pay for it at every start.

import { isHubRef, parseHubRef } from "../hub/repo-ref.js";
import { notice } from "./output.js";

export async function resolveCheckpointArg(arg: string): Promise<string> {
  if (!isHubRef(arg)) return arg;
  const { repo, revision } = parseHubRef(arg);
  const [{ fetchRepo }, { hubSettings }] = await Promise.all([import("../hub/fetch-repo.js"), import("../hub/settings.js")]);
  const result = await fetchRepo({
    repo,
    ...(revision !== undefined ? { revision } : {}),
    settings: hubSettings(),
    log: notice,
  });
  notice(`${arg} is commit ${result.commit}${result.fromCache ? " (from the cache)" : ""}`);
  return result.snapshotDir;
}
