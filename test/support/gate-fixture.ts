// Cases for the gate's tests: a rich checkpoint where every fault of ci/candidates/broken shows
// (E = 20 across the 16-expert seam, a partial layer, an MTP layer, conflicting count keys, and
// Qwen3.5's non-.weight tensors), the reference's answer for it, and a test-side fuse that builds
// wrong outputs straight from the per-expert bytes, independently of the gate's own helpers.

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { generateCheckpoint } from "../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../src/fixtures-gen/spec.js";
import { addToCorpusIndex, writeCaseFolder } from "../../src/golden/case-writer.js";
import type { ModelConfig } from "../../src/reference/checkpoint.js";
import type { FusePlan } from "../../src/reference/prefuse/plan.js";
import { type Stage, planStage, runStage } from "../../src/reference/stages.js";
import type { Tensor, TensorMap } from "../../src/reference/tensor.js";
import { ROOT } from "./cli.js";

export const RICH: FixtureSpec = {
  family: "qwen3_5_moe",
  seed: 3,
  experts: 20,
  layers: 2,
  mtpLayers: 1,
  hidden: 6,
  intermediate: 4,
  vocab: 16,
  variants: [
    { kind: "partial", defect: "drop-expert", layer: 0, expert: 3 },
    {
      kind: "count-key",
      keys: [
        { key: "num_experts", value: 20 },
        { key: "text_config.num_experts", value: 17 },
      ],
    },
  ],
};

/** The layer prefixes of RICH: layer 0 is partial (untouched), layer 1 and the MTP layer fuse. */
export const RICH_FUSED = ["model.language_model.layers.1.mlp", "mtp.layers.0.mlp"];
export const RICH_PARTIAL = "model.language_model.layers.0.mlp";

/** python3 from PATH, resolved once (a version manager's shim costs each of the many runs a shell). */
export const PYTHON = `'${execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim()}'`;
export const NUMPY = `${PYTHON} ci/adapters/numpy_prefuse.py {input} {output}`;
export const broken = (name: string) => `${PYTHON} ci/candidates/broken/${name}.py {input} {output}`;
export const CANDIDATE_CWD = ROOT;
/** The project's own golden corpus. */
export const ROOT_CORPUS = join(ROOT, "corpus", "golden");

export interface Reference {
  readonly input: TensorMap;
  readonly config: ModelConfig;
  readonly expected: TensorMap;
  readonly plan: FusePlan | undefined;
}

export async function reference(spec: FixtureSpec, stage: Stage = "prefuse", config?: ModelConfig): Promise<Reference> {
  const g = generateCheckpoint(spec);
  const c = config ?? g.config;
  return { input: g.tensors, config: c, expected: (await runStage(stage, g.tensors, c)).weights, plan: planStage(stage, g.tensors, c) };
}

/** A corpus in `dir` holding RICH as a prefuse case; returns the case id. */
export async function writeRichCorpus(dir: string): Promise<string> {
  const g = generateCheckpoint(RICH);
  const c = await writeCaseFolder(dir, {
    name: "gate-rich",
    description: "every fault of the broken candidates shows here",
    stage: "prefuse",
    features: ["chunk-seam", "numeric-order", "partial-layer", "mtp", "conflicting-count-keys"],
    family: RICH.family,
    source: { fixtureSpec: RICH },
    weights: g.tensors,
    config: g.config,
    metadata: g.metadata,
  });
  await addToCorpusIndex(dir, [c.meta.id]);
  return c.meta.id;
}

/** A dense checkpoint (no experts): every prefuse leaves it as it is, so an identity candidate is right (an n_ case). */
export const denseSpec = (seed: number): FixtureSpec => ({
  family: "qwen3_moe",
  seed,
  experts: 4,
  layers: 1,
  hidden: 4,
  intermediate: 2,
  vocab: 8,
  variants: [{ kind: "dense" }],
});

/** A corpus in `dir` holding one prefuse case per spec; returns the case ids. */
export async function writeSpecCorpus(dir: string, specs: Readonly<Record<string, FixtureSpec>>): Promise<string[]> {
  const ids: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const g = generateCheckpoint(spec);
    const c = await writeCaseFolder(dir, {
      name,
      description: name,
      stage: "prefuse",
      features: [],
      family: spec.family,
      source: { fixtureSpec: spec },
      weights: g.tensors,
      config: g.config,
      metadata: g.metadata,
    });
    ids.push(c.meta.id);
  }
  await addToCorpusIndex(dir, ids);
  return ids;
}

/** Node stand-in candidates (test/support/candidates), quoted for a template. */
export const hostile = (mode: string) => `'${process.execPath}' test/support/candidates/hostile.mjs ${mode} {input} {output}`;
export const standIn = (mode: string, startMs = 0) => `'${process.execPath}' test/support/candidates/serve-stand-in.mjs ${mode} ${startMs}`;
export const NUMPY_SERVE = `${PYTHON} ci/adapters/numpy_prefuse.py --serve`;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function transpose2d(t: Tensor): Uint8Array {
  const [rows, cols] = t.shape as [number, number];
  const w = t.data.length / (rows * cols);
  const out = new Uint8Array(t.data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out.set(t.data.subarray((i * cols + j) * w, (i * cols + j + 1) * w), (j * rows + i) * w);
  return out;
}

export interface FuseFault {
  /** Expert held by each slot (default 0..E-1). */
  readonly order?: readonly number[];
  readonly swapGateUp?: boolean;
  readonly transposeDown?: boolean;
}

/** The fused pair of one layer built from its per-expert input tensors, with a fault. */
export function fuseWith(input: TensorMap, prefix: string, E: number, fault: FuseFault = {}): { gateUp: Tensor; down: Tensor } {
  const get = (e: number, p: string) => input.get(`${prefix}.experts.${e}.${p}_proj.weight`)!;
  const order = fault.order ?? Array.from({ length: E }, (_, e) => e);
  const g0 = get(0, "gate");
  const d0 = get(0, "down");
  const [I, H] = g0.shape as [number, number];
  const gateUp = concat(order.map((e) => concat(fault.swapGateUp ? [get(e, "up").data, get(e, "gate").data] : [get(e, "gate").data, get(e, "up").data])));
  const down = concat(order.map((e) => (fault.transposeDown ? transpose2d(get(e, "down")) : get(e, "down").data)));
  return {
    gateUp: { dtype: g0.dtype, shape: [order.length, 2 * I, H], data: gateUp },
    down: { dtype: d0.dtype, shape: fault.transposeDown ? [order.length, I, H] : [order.length, H, I], data: down },
  };
}

/** `expected` with the fused layers of `prefixes` replaced by fuseWith(...fault). */
export function withFault(ref: Reference, prefixes: readonly string[], E: number, fault: FuseFault): TensorMap {
  const out = new Map(ref.expected);
  for (const p of prefixes) {
    const { gateUp, down } = fuseWith(ref.input, p, E, fault);
    out.set(`${p}.experts.gate_up_proj`, gateUp);
    out.set(`${p}.experts.down_proj`, down);
  }
  return out;
}
