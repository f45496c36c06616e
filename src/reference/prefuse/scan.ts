// The one scanner: every MoE tensor of a checkpoint, grouped by the module that holds it, from
// names (and ranks, when specs are given) alone, whatever the config's model_type says. It finds
//   per expert   `<prefix>.experts.<e>.<proj>.<kind>`, proj any known naming
//                (gate_proj/up_proj/down_proj, or w1/w3/w2 = gate/up/down);
//   fused        `<prefix>.experts.{gate_up_proj,down_proj}` and their `_bias`, `_blocks`,
//                `_scales` companions (gpt-oss);
//   MLX stacks   `<prefix>.{switch_mlp,experts.switch_glu,experts}.<proj>.<kind>` (proj also fc1/fc2);
//   other stacks `input_linear`/`output_linear` [E, ...] (granitemoe, jetmoe),
//                `experts.mlp.{w1,v1,w2}` (dbrx), `moe.{gate,up,down}_proj` [E, ...] (step3p5);
// and, so that nothing with experts in its name goes unseen, any other `.experts.` tensor, kept
// as unrecognized in the group of the module before `.experts.`.

import type { TensorSpec } from "../tensor.js";
import type { Projection } from "./layouts.js";
import { naturalCompare } from "./natural-order.js";

export interface ExpertTensor {
  readonly name: string;
  /** Numeric expert id (as written: `07` is 7). */
  readonly expert: number;
  readonly projection: Projection;
  /** The projection's name on disk (`gate_proj`, `w1`...). */
  readonly leaf: string;
  /** `weight`, or a companion: `scales`, `biases`, `weight_scale_inv`, `weight_packed`... */
  readonly kind: string;
}

export interface SwitchTensor {
  readonly name: string;
  /** `gate_proj`, `up_proj`, `down_proj`, `fc1`, `fc2`. */
  readonly leaf: string;
  readonly kind: string;
}

export interface ExpertGroup {
  readonly prefix: string;
  readonly perExpert: readonly ExpertTensor[];
  readonly fused: { readonly gateUp?: string; readonly down?: string };
  /** Companions of fused tensors: `gate_up_proj_bias`, `gate_up_proj_blocks`, `down_proj_scales`... */
  readonly fusedCompanions: readonly string[];
  readonly switched: readonly SwitchTensor[];
  /** Experts stacked under a family's own names (granitemoe, jetmoe, dbrx, step3p5). */
  readonly stacked: readonly string[];
  /** `.experts.` tensors of no known form. */
  readonly unrecognized: readonly string[];
}

/** Per-expert projection names and what they are (Mixtral's w1/w3/w2 included). */
export const PROJECTION_NAMES: Readonly<Record<string, Projection>> = {
  gate_proj: "gate",
  up_proj: "up",
  down_proj: "down",
  w1: "gate",
  w3: "up",
  w2: "down",
};

const PER_EXPERT = /^(?<prefix>.+)\.experts\.(?<id>\d+)\.(?<leaf>[^.]+)\.(?<kind>[^.]+)$/;
const FUSED = /^(?<prefix>.+)\.experts\.(?<fused>gate_up_proj|down_proj)(?<suffix>_bias|_blocks|_scales)?$/;
const SWITCH = /^(?<prefix>.+?)\.(?:switch_mlp|experts\.switch_glu|experts)\.(?<leaf>gate_proj|up_proj|down_proj|fc1|fc2)\.(?<kind>[^.]+)$/;
/** Stacks of a family's own, with the least rank that tells them from dense weights of the same name. */
const OTHER_STACKS: readonly { readonly re: RegExp; readonly minRank: number }[] = [
  // JetMoE's attention experts sit one level down (`self_attention.experts.input_linear`): grouped with their module.
  { re: /^(?<prefix>.+?)(?:\.experts)?\.(?:input_linear|output_linear)\.weight$/, minRank: 3 },
  { re: /^(?<prefix>.+)\.experts\.mlp\.(?:w1|v1|w2)$/, minRank: 2 },
  { re: /^(?<prefix>.+\.moe)\.(?:gate_proj|up_proj|down_proj)\.weight$/, minRank: 3 },
];
const ANY_EXPERTS = /^(?<prefix>.+?)\.experts\./;

interface MutableGroup {
  prefix: string;
  perExpert: ExpertTensor[];
  fused: { gateUp?: string; down?: string };
  fusedCompanions: string[];
  switched: SwitchTensor[];
  stacked: string[];
  unrecognized: string[];
}

/**
 * Groups the MoE tensors of a checkpoint by prefix, prefixes in natural order. Given specs, the
 * other-name stacks must have their rank (names alone cannot tell granite's dense
 * `shared_mlp.input_linear` from its experts); given names only, the name decides.
 */
export function scanExperts(tensors: Iterable<string> | ReadonlyMap<string, TensorSpec>): ExpertGroup[] {
  const specs = tensors instanceof Map ? (tensors as ReadonlyMap<string, TensorSpec>) : undefined;
  const names = specs === undefined ? (tensors as Iterable<string>) : specs.keys();
  const byPrefix = new Map<string, MutableGroup>();
  const group = (prefix: string): MutableGroup => {
    let g = byPrefix.get(prefix);
    if (g === undefined) {
      g = { prefix, perExpert: [], fused: {}, fusedCompanions: [], switched: [], stacked: [], unrecognized: [] };
      byPrefix.set(prefix, g);
    }
    return g;
  };
  for (const name of names) {
    let m = PER_EXPERT.exec(name)?.groups;
    if (m !== undefined && PROJECTION_NAMES[m.leaf!] !== undefined) {
      group(m.prefix!).perExpert.push({ name, expert: Number(m.id), projection: PROJECTION_NAMES[m.leaf!]!, leaf: m.leaf!, kind: m.kind! });
      continue;
    }
    m = FUSED.exec(name)?.groups;
    if (m !== undefined) {
      const g = group(m.prefix!);
      if (m.suffix !== undefined) g.fusedCompanions.push(name);
      else if (m.fused === "gate_up_proj") g.fused.gateUp = name;
      else g.fused.down = name;
      continue;
    }
    m = SWITCH.exec(name)?.groups;
    if (m !== undefined) {
      group(m.prefix!).switched.push({ name, leaf: m.leaf!, kind: m.kind! });
      continue;
    }
    const stack = OTHER_STACKS.find((s) => s.re.test(name) && (specs === undefined || specs.get(name)!.shape.length >= s.minRank));
    if (stack !== undefined) {
      group(stack.re.exec(name)!.groups!.prefix!).stacked.push(name);
      continue;
    }
    m = ANY_EXPERTS.exec(name)?.groups;
    if (m !== undefined) group(m.prefix!).unrecognized.push(name);
  }
  return [...byPrefix.values()].sort((a, b) => naturalCompare(a.prefix, b.prefix));
}
