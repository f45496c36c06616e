// The scan: one regular expression over every tensor name, grouping the MoE tensors by layer
// prefix. It finds per-expert tensors (`<prefix>.experts.<e>.<proj>.<kind>`), fused ones
// (`<prefix>.experts.gate_up_proj` / `.down_proj`) and MLX stacks (`<prefix>.switch_mlp.<proj>.<kind>`)
// under any prefix: language-model layers, `mtp.` layers, text-only models alike.

import { type ExpertLayout, type Projection, PROJECTIONS } from "./layouts.js";
import { naturalCompare } from "./natural-order.js";

export interface ExpertTensor {
  readonly name: string;
  /** Numeric expert id (as written: `07` is 7). */
  readonly expert: number;
  readonly projection: Projection;
  /** `weight`, or a companion: `scales`, `biases`, `weight_scale_inv`... */
  readonly kind: string;
}

export interface SwitchTensor {
  readonly name: string;
  readonly projection: Projection;
  readonly kind: string;
}

export interface ExpertGroup {
  readonly prefix: string;
  readonly perExpert: readonly ExpertTensor[];
  readonly fused: { readonly gateUp?: string; readonly down?: string };
  readonly switched: readonly SwitchTensor[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const SWITCH_PROJECTIONS: Readonly<Record<string, Projection>> = { gate_proj: "gate", up_proj: "up", down_proj: "down" };

/** The one expression of a layout; its named groups say which kind of MoE tensor matched. */
export function expertPattern(layout: ExpertLayout): RegExp {
  const proj = PROJECTIONS.map((p) => escape(layout.perExpert[p])).join("|");
  return new RegExp(
    `^(?<prefix>.+)\\.(?:experts\\.(?:(?<id>\\d+)\\.(?<proj>${proj})\\.(?<kind>[^.]+)|(?<fused>gate_up_proj|down_proj))` +
      `|${escape(layout.switchModule)}\\.(?<sw>gate_proj|up_proj|down_proj)\\.(?<swkind>[^.]+))$`,
  );
}

interface MutableGroup {
  prefix: string;
  perExpert: ExpertTensor[];
  fused: { gateUp?: string; down?: string };
  switched: SwitchTensor[];
}

/** Groups the MoE tensors among `names` by prefix, prefixes in natural order. */
export function scanExperts(names: Iterable<string>, layout: ExpertLayout): ExpertGroup[] {
  const re = expertPattern(layout);
  const byPrefix = new Map<string, MutableGroup>();
  const projectionOf = new Map(PROJECTIONS.map((p) => [layout.perExpert[p], p] as const));
  for (const name of names) {
    const g = re.exec(name)?.groups;
    if (g === undefined) continue;
    const prefix = g.prefix!;
    let group = byPrefix.get(prefix);
    if (group === undefined) {
      group = { prefix, perExpert: [], fused: {}, switched: [] };
      byPrefix.set(prefix, group);
    }
    if (g.id !== undefined) {
      group.perExpert.push({ name, expert: Number(g.id), projection: projectionOf.get(g.proj!)!, kind: g.kind! });
    } else if (g.fused !== undefined) {
      if (g.fused === "gate_up_proj") group.fused.gateUp = name;
      else group.fused.down = name;
    } else {
      group.switched.push({ name, projection: SWITCH_PROJECTIONS[g.sw!]!, kind: g.swkind! });
    }
  }
  return [...byPrefix.values()].sort((a, b) => naturalCompare(a.prefix, b.prefix));
}
