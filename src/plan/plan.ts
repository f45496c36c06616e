// `plan`: what prefusing a checkpoint will do and cost, from its headers alone. The checkpoint is
// a directory (its files' headers are read, as Checkpoint.open reads them) or a Hub repository
// (config.json, the index and each header through range requests: src/hub/remote-headers.ts).
// The plan is the fuse's own (planPrefuse, with the FP8 dequantization first when the checkpoint
// has FP8 weights, exactly as `fuse --dequant-fp8` plans it), and the memory figures are the
// benchmark's analytic model applied to it (./memory.ts).

import { join } from "node:path";
import { readRemoteHeaders } from "../hub/remote-headers.js";
import type { HubRef } from "../hub/repo-ref.js";
import type { HubSettings } from "../hub/settings.js";
import { CONFIG_FILE, Checkpoint, type ModelConfig } from "../reference/checkpoint.js";
import { CheckpointError } from "../reference/errors.js";
import { dequantizedConfig } from "../reference/fp8/config.js";
import { defaultThreads } from "../reference/fp8/threads.js";
import { isFp8Weight } from "../reference/fp8/formats.js";
import { type DequantPlan, planDequant } from "../reference/fp8/plan.js";
import { dequantPlanReport } from "../reference/fp8/report.js";
import { DEFAULT_CHUNK, checkChunk } from "../reference/prefuse/chunk.js";
import type { FuseTarget } from "../reference/prefuse/layouts.js";
import { type FusePlan, planPrefuse } from "../reference/prefuse/plan.js";
import { type PlanReport, planReport } from "../reference/prefuse/report.js";
import type { TensorSpec } from "../reference/tensor.js";
import { type MemoryEstimate, memoryEstimates } from "./memory.js";

/** A checkpoint as its headers describe it. */
export interface CheckpointHeaders {
  /** How reports and errors name it: a path, or `hf://owner/name@commit`. */
  readonly checkpoint: string;
  /** The Hub commit, for a Hub repository. */
  readonly commit: string | undefined;
  readonly config: ModelConfig | undefined;
  /** How the plan names config.json (as `fuse` names it for the same files). */
  readonly configFile: string;
  readonly specs: ReadonlyMap<string, TensorSpec>;
  /** The weight files and their sizes. */
  readonly files: readonly { readonly path: string; readonly size: number }[];
  /** A Hub repository's headers came from the header cache, without a request. */
  readonly fromCache: boolean;
}

/** The headers of a checkpoint directory or .safetensors file (no tensor data is read). */
export async function localHeaders(path: string): Promise<CheckpointHeaders> {
  const ckpt = await Checkpoint.open(path);
  try {
    return {
      checkpoint: path,
      commit: undefined,
      config: ckpt.config,
      configFile: join(ckpt.dir, CONFIG_FILE),
      specs: new Map([...ckpt.tensors].map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape }])),
      files: ckpt.files.map((f) => ({ path: f.path, size: f.header.dataStart + (f.header.tensors.at(-1)?.end ?? 0) })),
      fromCache: false,
    };
  } finally {
    await ckpt.close();
  }
}

export interface HubHeadersOptions {
  readonly settings: HubSettings;
  /** The fetch underneath (tests count requests through it). */
  readonly fetch?: typeof fetch;
  /** When the server ignores byte ranges: read each header from the start of the whole-file answer. */
  readonly allowDownload?: boolean;
}

/** The headers of a Hub repository, read with range requests (or cached by commit). */
export async function hubHeaders(ref: HubRef, o: HubHeadersOptions): Promise<CheckpointHeaders> {
  const revision = ref.revision === undefined ? {} : { revision: ref.revision };
  const r = await readRemoteHeaders({
    repo: ref.repo,
    ...revision,
    settings: o.settings,
    allowDownload: o.allowDownload === true,
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  return {
    checkpoint: r.label,
    commit: r.commit,
    config: r.config,
    configFile: `${r.label}/${CONFIG_FILE}`,
    specs: r.specs,
    files: r.files.map((f) => ({ path: f.path, size: f.size })),
    fromCache: r.fromCache,
  };
}

export interface CheckpointPlanOptions {
  readonly target?: FuseTarget;
  /** Chunk sizes to estimate (default [16], oQ's). */
  readonly chunks?: readonly number[];
  /** Memory budget in bytes the estimates are judged against. */
  readonly budget: number;
  /** The FP8 dequantization's threads, as `fuse --dequant-fp8 --threads` (default one per core). */
  readonly threads?: number;
}

export interface CheckpointPlan {
  readonly headers: CheckpointHeaders;
  /** What the plan covers: the prefuse to the target, after FP8 dequantization when the checkpoint has FP8 weights. */
  readonly stage: "prefuse" | "switch_mlp" | "dequant+prefuse" | "dequant+switch_mlp";
  readonly plan: FusePlan;
  readonly dequant: DequantPlan | undefined;
  readonly budget: number;
  /** The FP8 dequantization threads the estimates assume, or undefined without FP8 weights. */
  readonly dequantThreads: number | undefined;
  readonly memory: readonly MemoryEstimate[];
}

/** The fuse's plan for these headers and what each way of prefusing needs in memory. */
export function planCheckpoint(h: CheckpointHeaders, o: CheckpointPlanOptions): CheckpointPlan {
  const target = o.target ?? "fused";
  const chunks = (o.chunks ?? [DEFAULT_CHUNK]).map(checkChunk);
  if (h.config === undefined)
    throw new CheckpointError("CONFIG_MISSING", "missing: the plan needs the config to know the expert count", { file: h.configFile });
  // As `fuse --dequant-fp8` does: plan over the dequantized view's tensors and config.
  const fp8 = [...h.specs.values()].some((s) => isFp8Weight(s.dtype));
  const dequant = fp8 ? planDequant(h.specs, h.config, { checkpoint: h.checkpoint, configFile: h.configFile }) : undefined;
  const specs = dequant?.specs ?? h.specs;
  const config = (dequant === undefined ? undefined : dequantizedConfig(h.config)) ?? h.config;
  const plan = planPrefuse(specs, config, { target, configFile: h.configFile });
  const dequantThreads = dequant === undefined ? undefined : (o.threads ?? defaultThreads());
  const memory = memoryEstimates({ plan, specs, sourceSpecs: h.specs, dequantized: dequant !== undefined, dequantThreads }, chunks, o.budget);
  const base = target === "fused" ? "prefuse" : "switch_mlp";
  return { headers: h, stage: dequant === undefined ? base : `dequant+${base}`, plan, dequant, budget: o.budget, dequantThreads, memory };
}

/** What `plan --json` prints: `plan` and `dequant` are what `fuse --json` prints for the same files. */
export interface CheckpointPlanReport {
  readonly checkpoint: string;
  readonly commit: string | null;
  readonly files: readonly { readonly path: string; readonly size: number }[];
  readonly totalBytes: number;
  readonly stage: CheckpointPlan["stage"];
  readonly plan: PlanReport;
  readonly dequant: ReturnType<typeof dequantPlanReport> | null;
  readonly budget: number;
  /** The FP8 dequantization threads the estimates assume (null without FP8 weights). */
  readonly dequantThreads: number | null;
  readonly memory: readonly MemoryEstimate[];
}

export function checkpointPlanReport(p: CheckpointPlan): CheckpointPlanReport {
  const h = p.headers;
  return {
    checkpoint: h.checkpoint,
    commit: h.commit ?? null,
    files: h.files,
    totalBytes: h.files.reduce((a, f) => a + f.size, 0),
    stage: p.stage,
    plan: planReport(p.plan),
    dequant: p.dequant === undefined ? null : dequantPlanReport(p.dequant),
    budget: p.budget,
    dequantThreads: p.dequantThreads ?? null,
    memory: p.memory,
  };
}
