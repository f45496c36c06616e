// The torch side of the comparison: the project's anchor script `torch_prefuse.py` (what a
// Python user does today) run for the same shapes, with its peak RSS read by `/usr/bin/time -v`
// (or, where that is missing, by python's own getrusage around the script).
//
// Finding a python with torch: --python, then $MOE_PREFUSE_PYTHON, then `.venv/bin/python` in
// the package root and in the working directory, then `python3`; the first that imports torch
// wins. Finding the anchor: --torch-anchor, then $MOE_PREFUSE_TORCH_ANCHOR, then
// `shared/anchors/torch_prefuse.py` beside any ancestor of the package root or working directory.
//
// The anchor prints only the fuse's time; its peak RSS covers python, torch and the inputs too.
// To isolate the fuse, the same script is also run with a strategy name it does not know
// ("none"): it generates the very same inputs, fuses nothing and stops at its final assert, so
// that run's peak RSS is the baseline to subtract.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { FuseProblem, LayerShape } from "./problem.js";
import type { TorchRun, TorchSection, TorchStrategy } from "./results.js";

export const TORCH_STRATEGIES: readonly TorchStrategy[] = ["baseline", "stackcat", "chunked16", "prealloc"];
const BASELINE_ARG = "none";
const TIME_TOOL = "/usr/bin/time";
const RUN_TIMEOUT_MS = 15 * 60_000;

export interface TorchSetup {
  readonly python: string;
  readonly version: string;
  readonly anchor: string;
  readonly rssTool: "/usr/bin/time -v" | "getrusage";
}

export interface TorchOptions {
  readonly python?: string;
  readonly anchor?: string;
  /** Directories to search for `.venv/bin/python` and `shared/anchors/` (package root, cwd). */
  readonly searchRoots: readonly string[];
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop()?.trim() ?? "";
}

function moduleVersion(python: string, module: string): { version: string } | { reason: string } {
  const r = spawnSync(python, ["-c", `import ${module}; print(${module}.__version__)`], { encoding: "utf8", timeout: 120_000 });
  if (r.error) return { reason: `${python}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}` };
  if (r.status !== 0) return { reason: `${python}: ${lastLine(r.stderr) || `exit ${r.status}`}` };
  return { version: lastLine(r.stdout) };
}

function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    out.push(d);
    if (dirname(d) === d) return out;
  }
}

/** An anchor script: `explicit` if given, else `shared/anchors/<file>` beside any ancestor of a search root. */
export function findAnchorScript(file: string, explicit: string | undefined, searchRoots: readonly string[]): string | undefined {
  if (explicit !== undefined && explicit !== "") return existsSync(explicit) ? resolve(explicit) : undefined;
  for (const root of searchRoots) {
    for (const d of ancestors(root)) {
      const candidate = join(d, "shared", "anchors", file);
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * The first python that imports `module`: `explicit`, then $MOE_PREFUSE_PYTHON, then
 * `.venv/bin/python` in each search root, then `python3`; or why each was refused.
 */
export function findPython(
  module: string,
  explicit: string | undefined,
  searchRoots: readonly string[],
): { python: string; version: string } | { reason: string } {
  const candidates: string[] = [];
  const chosen = explicit ?? process.env.MOE_PREFUSE_PYTHON;
  if (chosen !== undefined && chosen !== "") candidates.push(chosen);
  for (const root of searchRoots) candidates.push(join(root, ".venv", "bin", "python"));
  candidates.push("python3");
  const reasons: string[] = [];
  for (const python of [...new Set(candidates)]) {
    if (python.includes("/") && !existsSync(python)) {
      reasons.push(`${python}: not found`);
      continue;
    }
    const v = moduleVersion(python, module);
    if ("version" in v) return { python, version: v.version };
    reasons.push(v.reason);
  }
  return { reason: `no python with ${module} (${reasons.join("; ")})` };
}

export type TorchDiscovery = { readonly setup: TorchSetup } | { readonly unavailable: TorchSection };

/** A python with torch and the anchor script, or the section saying why torch cannot run. */
export function discoverTorch(options: TorchOptions): TorchDiscovery {
  const anchor = findAnchorScript("torch_prefuse.py", options.anchor ?? process.env.MOE_PREFUSE_TORCH_ANCHOR, options.searchRoots);
  if (anchor === undefined) {
    return { unavailable: { status: "no anchor", reason: "torch_prefuse.py not found (give --torch-anchor or set MOE_PREFUSE_TORCH_ANCHOR)", runs: [] } };
  }
  const found = findPython("torch", options.python, options.searchRoots);
  if ("reason" in found) return { unavailable: { status: "not installed", reason: found.reason, runs: [] } };
  return { setup: { python: found.python, version: found.version, anchor, rssTool: existsSync(TIME_TOOL) ? "/usr/bin/time -v" : "getrusage" } };
}

// Runs a script and reports its own peak RSS on stderr, for machines without /usr/bin/time.
const RUSAGE_WRAPPER = [
  "import resource, runpy, sys",
  "sys.argv = sys.argv[1:]",
  "try:",
  "    runpy.run_path(sys.argv[0], run_name='__main__')",
  "finally:",
  "    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss",
  `    print('Maximum resident set size (kbytes): %d' % (r // 1024 if sys.platform == 'darwin' else r), file=sys.stderr)`,
].join("\n");

/** Runs the anchor for one strategy (or the baseline) on one problem's shape. */
export function runTorch(setup: TorchSetup, strategy: TorchStrategy, problem: Pick<FuseProblem, "shape" | "experts">): TorchRun {
  const { shape, experts } = problem;
  const args = [strategy === "baseline" ? BASELINE_ARG : strategy, String(experts), String(shape.intermediate), String(shape.hidden)];
  const r =
    setup.rssTool === "/usr/bin/time -v"
      ? spawnSync(TIME_TOOL, ["-v", setup.python, setup.anchor, ...args], { encoding: "utf8", timeout: RUN_TIMEOUT_MS })
      : spawnSync(setup.python, ["-c", RUSAGE_WRAPPER, setup.anchor, ...args], { encoding: "utf8", timeout: RUN_TIMEOUT_MS });
  return parseTorchRun(shape, experts, strategy, r.status, r.stdout ?? "", r.stderr ?? "", r.error);
}

/** Reads the anchor's output: `fuse_s=` on stdout, the RSS line on stderr. */
export function parseTorchRun(
  shape: LayerShape,
  experts: number,
  strategy: TorchStrategy,
  status: number | null,
  stdout: string,
  stderr: string,
  error?: Error,
): TorchRun {
  const base = { shape, experts, strategy };
  if (error) return { ...base, error: error.message };
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const maxRss = kb ? Number(kb[1]) * 1024 : undefined;
  if (strategy === "baseline") {
    // Expected to stop at the assert on the fused tensor it never made.
    if (!/NameError/.test(stderr) || maxRss === undefined)
      return { ...base, error: `baseline run did not stop at the anchor's final assert: ${lastLine(stderr)}` };
    return { ...base, maxRss };
  }
  const fuse = /fuse_s=([0-9.]+)/.exec(stdout);
  if (status !== 0 || fuse === null || maxRss === undefined) {
    const why = stderr.split("\n").find((l) => /Error|error/.test(l)) ?? lastLine(stderr);
    return { ...base, error: `exit ${status}: ${why.trim()}` };
  }
  return { ...base, fuseSeconds: Number(fuse[1]), maxRss };
}
