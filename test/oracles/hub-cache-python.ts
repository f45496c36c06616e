// Side oracle: Python's huggingface_hub reads the cache `hub fetch` writes. Not part of `npm
// test` (huggingface_hub is not on every machine). Fetches a generated checkpoint from the local
// test Hub into a fresh cache, then asks huggingface_hub (scan_cache_dir, hf_hub_download and
// snapshot_download with local_files_only) to find every file at the same paths.
//   node --import tsx test/oracles/hub-cache-python.ts [python]    (default: the package's .venv, else python3)

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeGeneratedCheckpoint } from "../../src/fixtures-gen/generate.js";
import { fetchRepo } from "../../src/hub/fetch-repo.js";
import { hubSettings } from "../../src/hub/settings.js";
import { FakeHub } from "../support/hub-server.js";

const venvPython = join(resolve(import.meta.dirname, "..", ".."), ".venv", "bin", "python");
const python = process.argv[2] ?? (existsSync(venvPython) ? venvPython : "python3");
const work = mkdtempSync(join(tmpdir(), "moe-prefuse-hub-oracle-"));
const hub = await FakeHub.start();
try {
  await writeGeneratedCheckpoint(join(work, "repo"), { family: "qwen3_moe", experts: 4, shards: 2 });
  const files = readdirSync(join(work, "repo")).map((n) => ({ path: n, data: readFileSync(join(work, "repo", n)), lfs: n.endsWith(".safetensors") }));
  const commit = hub.publish("oracle/tiny", files);
  const cacheDir = join(work, "cache");
  const result = await fetchRepo({ repo: "oracle/tiny", settings: hubSettings({}, { endpoint: hub.url, cacheDir }) });
  const script = `
import json, sys, huggingface_hub as h
cache, commit, names = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
info = h.scan_cache_dir(cache)
assert not info.warnings, info.warnings
(repo,) = info.repos
(rev,) = repo.revisions
assert repo.repo_id == "oracle/tiny" and rev.commit_hash == commit and "main" in rev.refs, (repo.repo_id, rev.commit_hash, rev.refs)
assert sorted(f.file_name for f in rev.files) == sorted(names), sorted(f.file_name for f in rev.files)
for n in names:
    p = h.hf_hub_download("oracle/tiny", n, cache_dir=cache, local_files_only=True)
    assert p.endswith(f"snapshots/{commit}/{n}"), p
print("huggingface_hub", h.__version__, "reads the cache:", h.snapshot_download("oracle/tiny", cache_dir=cache, local_files_only=True))
`;
  process.stdout.write(execFileSync(python, ["-c", script, cacheDir, commit, JSON.stringify(files.map((f) => f.path))], { encoding: "utf8" }));
  if (result.commit !== commit) throw new Error("fetched another commit");
} finally {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
}
