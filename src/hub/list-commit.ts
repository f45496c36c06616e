// Every entry of a repository at one commit, through the guarded fetch with retries: what
// `hub fetch` downloads and what `plan` reads headers of come from the same listing.

import { type ListFileEntry, listFiles } from "@huggingface/hub";
import { type CallLimits, withRetries } from "./http.js";
import type { HubSettings } from "./settings.js";

export async function listCommit(settings: HubSettings, repo: string, commit: string, label: string, limits: CallLimits): Promise<ListFileEntry[]> {
  return withRetries(settings, label, limits, async (fetch) => {
    const out: ListFileEntry[] = [];
    const entries = listFiles({
      repo,
      revision: commit,
      recursive: true,
      hubUrl: settings.endpoint,
      fetch,
      ...(settings.token !== undefined ? { accessToken: settings.token } : {}),
    });
    for await (const e of entries) out.push(e);
    return out;
  });
}
