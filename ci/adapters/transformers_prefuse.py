#!/usr/bin/env python3
"""transformers v5's own MoE fusion, as a release-gate candidate (prefuse stage): a third
implementation that nobody in this project wrote.

Gate protocols (ci/adapters/moe_prefuse_candidate.py, docs/gate-protocols.md):
  transformers_prefuse.py [--stage prefuse] INPUT_DIR OUTPUT_FILE   one case (case/1)
  transformers_prefuse.py --serve                                  many cases (serve/1): torch and
                                                                   transformers imported once

When transformers 5.x loads a checkpoint of the qwen2_moe family (qwen2_moe, qwen3_moe, olmoe,
deepseek_v3, glm4_moe, the text model of qwen3_5_moe, ...), its conversion mapping
`get_checkpoint_conversion_mapping("qwen2_moe")` holds two WeightConverters:
  mlp.experts.*.gate_proj.weight + mlp.experts.*.up_proj.weight -> mlp.experts.gate_up_proj
      [MergeModulelist(dim=0), Concatenate(dim=1)]
  mlp.experts.*.down_proj.weight -> mlp.experts.down_proj   [MergeModulelist(dim=0)]
This adapter applies exactly those objects the way `convert_and_load_state_dict_in_model` does:
checkpoint keys in `dot_natural_key` order, each renamed by `rename_source_key` and collected into
a copy of the converter of its target key, then `WeightConverter.convert` runs the operations
(torch.stack of each list, torch.cat of gate and up). Keys no converter matches pass through.
There is no model here, so nothing is checked against a model's parameters: transformers relies
on the model for that (shape mismatches and missing keys are reported at load time) and reads no
expert count from the config. A target whose operations raise is skipped, as transformers'
loader does (it logs a conversion error and the parameter stays unloaded); the error is printed.

Needs torch, safetensors and transformers (5.x); exit 2 for a stage other than prefuse.
"""

import copy
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers.conversion_mapping import get_checkpoint_conversion_mapping
from transformers.core_model_loading import WeightConverter, dot_natural_key, rename_source_key

from moe_prefuse_candidate import main as candidate_main


def fuse(weights):
    """The weight dict after transformers' qwen2_moe expert conversion, and the conversion errors."""
    converters = [t for t in get_checkpoint_conversion_mapping("qwen2_moe") if isinstance(t, WeightConverter)]
    by_pattern = {p: c for c in converters for p in c.source_patterns}
    targets, out = {}, {}
    for key in sorted(weights, key=dot_natural_key):
        target, pattern = rename_source_key(key, [], converters)
        if pattern is None:
            out[key] = weights[key]
            continue
        targets.setdefault(target, copy.deepcopy(by_pattern[pattern])).add_tensor(target, key, pattern, weights[key])
    errors = []
    for target, converter in targets.items():
        try:
            out.update(converter.convert(target))
        except Exception as e:  # noqa: BLE001  (transformers' loader records any exception and skips the target)
            errors.append(f"{target}: {type(e).__name__}: {e}")
    return out, errors


def load(path):
    with safe_open(path, framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def save(path, weights, metadata):
    save_file({k: v.contiguous() for k, v in weights.items()}, path, metadata=metadata)


def prefuse(weights, config):
    with torch.no_grad():
        out, errors = fuse(weights)
    for e in errors:
        print(f"transformers_prefuse: conversion error, target skipped: {e}", file=sys.stderr)
    return out


def main():
    return candidate_main("transformers_prefuse", {"prefuse": prefuse}, load, save,
                          "transformers 5.x qwen2_moe expert fusion (gate candidate)")


if __name__ == "__main__":
    sys.exit(main())
