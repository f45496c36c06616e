// `moe-prefuse hub fetch <repo>`: downloads a checkpoint into the Hugging Face cache and prints
// the commit it resolved to; `moe-prefuse hub check`: verifies the catalogue of real tiny
// checkpoints against the Hub (skipped, with the reason, where the Hub is not reachable).

import type { Command } from "commander";
import { writeFile } from "node:fs/promises";
import { writeFileAtomically } from "../../reference/atomic.js";
import { checkRealRepos } from "../../hub/check.js";
import { fetchRepo } from "../../hub/fetch-repo.js";
import { isHubRef, parseHubRef } from "../../hub/repo-ref.js";
import { hubSettings } from "../../hub/settings.js";
import { notice, say } from "../output.js";
import { tableLines } from "../table.js";

export function registerHub(program: Command): void {
  const hub = program.command("hub").description("real checkpoints from the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_CACHE)");

  hub
    .command("fetch")
    .description("download a model repository into the Hugging Face cache and print the commit it resolved to")
    .argument("<repo>", "owner/name (or hf://owner/name@revision)")
    .option("--revision <rev>", "branch, tag or commit (default main)")
    .option("--cache-dir <dir>", "cache directory (default: HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub)")
    .option("--json", "print the result as JSON")
    .action(async (arg: string, o: { revision?: string; cacheDir?: string; json?: boolean }) => {
      const ref = isHubRef(arg) ? parseHubRef(arg) : { repo: arg, revision: undefined };
      const settings = hubSettings(process.env, o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {});
      const revision = o.revision ?? ref.revision;
      const result = await fetchRepo({
        repo: ref.repo,
        ...(revision !== undefined ? { revision } : {}),
        settings,
        log: notice,
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const downloaded = result.files.filter((f) => f.source === "download").length;
      say(
        `${result.repo}@${result.revision} -> commit ${result.commit}`,
        `snapshot ${result.snapshotDir}`,
        result.fromCache ? "served from the cache (no request)" : `${result.files.length} file(s), ${downloaded} downloaded`,
      );
    });

  hub
    .command("check")
    .description("verify the catalogue of real tiny MoE checkpoints against the Hub (skips, with the reason, without it)")
    .option("--cache-dir <dir>", "cache directory for the downloads")
    .option("--json", "print the report as JSON")
    .option("--out <file>", "also write the JSON report (with the commits seen) to this file")
    .action(async (o: { cacheDir?: string; json?: boolean; out?: string }) => {
      const settings = hubSettings(process.env, o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {});
      const report = { endpoint: settings.endpoint, checkedAt: new Date().toISOString(), repos: await checkRealRepos(settings) };
      const json = `${JSON.stringify(report, null, 2)}\n`;
      if (o.out !== undefined) await writeFileAtomically(o.out, (temp) => writeFile(temp, json));
      if (o.json) process.stdout.write(json);
      else {
        const rows = report.repos.map((r) => [r.repo, r.status, r.commit ?? "-", r.reason ?? r.findings.join("; ")]);
        say(...tableLines(["REPO", "STATUS", "COMMIT", "DETAIL"], rows));
      }
      if (report.repos.some((r) => r.status === "mismatch" || r.status === "error")) process.exitCode = 1;
    });
}
