// `hub check`: fetches each catalogued real checkpoint (real-repos.ts) and compares it with
// what the catalogue expects, recording the commit it saw. Without the Hub (HF_HUB_OFFLINE,
// or no connection) every entry is reported as skipped with the reason; a repository that
// answers but differs is a mismatch.

import { Checkpoint, type ModelConfig } from "../reference/checkpoint.js";
import type { TensorSpec } from "../reference/tensor.js";
import { countKeysOf, describeMoeLayers } from "../fixtures-gen/moe-structure.js";
import { REAL_REPOS, type RealRepo } from "../fixtures-gen/real-repos.js";
import { redact } from "../reference/safe-text.js";
import { HubError } from "./errors.js";
import { fetchRepo } from "./fetch-repo.js";
import type { HubSettings } from "./settings.js";

export interface RepoCheck {
  readonly repo: string;
  readonly status: "ok" | "mismatch" | "error" | "skipped";
  /** The commit checked (absent when skipped or unreachable). */
  readonly commit?: string;
  /** Why it was skipped, or the error. */
  readonly reason?: string;
  /** Each expectation the checkpoint does not meet. */
  readonly findings: readonly string[];
}

function at(config: ModelConfig, path: string): unknown {
  let v: unknown = config;
  for (const k of path.split(".")) v = typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

const show = (v: unknown) => (v === undefined ? "absent" : JSON.stringify(v));

/** Every way `specs` + `config` differ from what the catalogue expects of `expected`. */
export function compareWithCatalogue(expected: RealRepo, config: ModelConfig | undefined, specs: ReadonlyMap<string, TensorSpec>): string[] {
  if (config === undefined) return ["no config.json"];
  const findings: string[] = [];
  if (config.model_type !== expected.modelType) findings.push(`model_type is ${show(config.model_type)}, expected ${show(expected.modelType)}`);
  const counts = countKeysOf(config);
  const count = counts.find((c) => c.key === expected.countKey);
  if (count === undefined) findings.push(`no expert count at ${expected.countKey} (found at: ${counts.map((c) => c.key).join(", ") || "nowhere"})`);
  else if (expected.experts !== undefined && count.value !== expected.experts)
    findings.push(`${expected.countKey} is ${show(count.value)}, expected ${expected.experts}`);
  for (const [path, value] of Object.entries(expected.config)) {
    if (JSON.stringify(at(config, path)) !== JSON.stringify(value)) findings.push(`${path} is ${show(at(config, path))}, expected ${show(value)}`);
  }
  const layers = describeMoeLayers(specs);
  if (layers.length === 0) findings.push("no MoE layer (no experts.N.*.weight and no experts.gate_up_proj tensor)");
  for (const l of layers) {
    if (expected.layout !== undefined && l.layout !== expected.layout) findings.push(`${l.prefix} is ${l.layout}, expected ${expected.layout}`);
    if (expected.experts !== undefined && l.experts.length !== expected.experts)
      findings.push(`${l.prefix} has ${l.experts.length} experts, expected ${expected.experts}`);
    if (expected.expertDtype !== undefined && l.dtypes.some((d) => d !== expected.expertDtype))
      findings.push(`${l.prefix} experts are ${l.dtypes.join("+")}, expected ${expected.expertDtype}`);
  }
  if (expected.fp8ScaleSuffix !== undefined) {
    const weights = [...specs.keys()].filter((n) => /\.experts\.\d+\.[^.]+\.weight$/.test(n));
    const unscaled = weights.filter((n) => !specs.has(`${n}${expected.fp8ScaleSuffix}`));
    if (weights.length > 0 && unscaled.length > 0)
      findings.push(`${unscaled.length} expert weights have no weight${expected.fp8ScaleSuffix} (e.g. ${unscaled[0]}${expected.fp8ScaleSuffix})`);
  }
  return findings;
}

async function checkOne(expected: RealRepo, settings: HubSettings, fetchImpl: typeof fetch | undefined): Promise<RepoCheck> {
  const fetched = await fetchRepo({ repo: expected.repo, settings, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  const ckpt = await Checkpoint.open(fetched.snapshotDir);
  try {
    const findings = compareWithCatalogue(expected, ckpt.config, ckpt.specs);
    return { repo: expected.repo, status: findings.length === 0 ? "ok" : "mismatch", commit: fetched.commit, findings };
  } finally {
    await ckpt.close();
  }
}

export async function checkRealRepos(settings: HubSettings, repos: readonly RealRepo[] = REAL_REPOS, fetchImpl?: typeof fetch): Promise<RepoCheck[]> {
  if (settings.offline) return repos.map((r) => ({ repo: r.repo, status: "skipped", reason: "HF_HUB_OFFLINE is set; this check needs the Hub", findings: [] }));
  const out: RepoCheck[] = [];
  let unreachable: string | undefined;
  for (const r of repos) {
    if (unreachable !== undefined) {
      out.push({ repo: r.repo, status: "skipped", reason: unreachable, findings: [] });
      continue;
    }
    try {
      out.push(await checkOne(r, settings, fetchImpl));
    } catch (e) {
      if (e instanceof HubError && (e.code === "NETWORK" || e.code === "TIMEOUT")) {
        const detail = e.file !== undefined && e.message.startsWith(`${e.file}: `) ? e.message.slice(e.file.length + 2) : e.message;
        unreachable = `the Hub at ${settings.endpoint} is not reachable: ${detail}`;
        out.push({ repo: r.repo, status: "skipped", reason: unreachable, findings: [] });
        continue;
      }
      // Typed errors are redacted already; anything else may quote a server too.
      out.push({ repo: r.repo, status: "error", reason: redact((e as Error).message ?? String(e)), findings: [] });
    }
  }
  return out;
}
