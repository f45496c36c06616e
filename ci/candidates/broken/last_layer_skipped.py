#!/usr/bin/env python3
"""Broken candidate: walks the decoder layers with range(num_hidden_layers - 1), so the last layer's
experts stay per expert (MTP layers are still fused).
The gate must reject it with the diagnosis layer-left-per-expert."""

from _adapter import numpy_prefuse as base

correct_prefuse = base.prefuse


def prefuse(weights, config):
    text = config.get("text_config") or config
    last = f".layers.{text['num_hidden_layers'] - 1}.mlp.experts."
    held = {k: v for k, v in weights.items() if last in k and not k.startswith("mtp.")}
    out = correct_prefuse({k: v for k, v in weights.items() if k not in held}, config)
    out.update(held)
    return out


base.prefuse = prefuse
raise SystemExit(base.main())
