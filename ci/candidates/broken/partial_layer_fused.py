#!/usr/bin/env python3
"""Broken candidate: fuses every layer with whatever experts it has, skipping missing ones silently
(as mlx-vlm's qwen3_omni_moe sanitize does) and taking ids >= E along, instead of leaving an
incomplete layer untouched for the loader to refuse.
The gate must reject it with the diagnosis partial-layer-fused."""

from _adapter import numpy_prefuse as base


def prefuse(weights, config):
    if base.expert_count(config, base.PREFUSE_COUNT_KEYS) is None:
        return weights
    out = dict(weights)
    for prefix, (slots, members) in base.prefuse_layers(weights, base.PROJECTIONS).items():
        if f"{prefix}.experts.gate_up_proj" in weights:
            continue
        ids = sorted({key[0] for key in slots if all((key[0], p, "weight") in slots for p in base.PROJECTIONS)})
        if not ids:
            continue
        gates, ups, downs = ([slots[(e, p, "weight")][0] for e in ids] for p in base.PROJECTIONS)
        if base.uniform(gates) is None or base.uniform(ups) is None or base.uniform(downs) is None:
            continue
        for name, _, _ in members:
            del out[name]
        out[f"{prefix}.experts.gate_up_proj"] = base.fuse_gate_up(gates, ups, len(ids))
        out[f"{prefix}.experts.down_proj"] = base.fuse_down(downs, len(ids))
    return out


base.prefuse = prefuse
raise SystemExit(base.main())
