#!/usr/bin/env python3
"""Reading family-layouts = registry: Mixtral's w1/w3/w2 fused under mlp.experts, Qwen3-VL-MoE written transposed, as transformers v5 stores them."""

from _reading import run

run(family_layouts="registry")
