#!/usr/bin/env python3
"""Reading n-routed-experts = read: n_routed_experts (top level, then text_config) counts after oQ's four keys."""

from _reading import run

run(count_keys=("num_local_experts", "text_config.num_local_experts", "num_experts", "text_config.num_experts", "n_routed_experts", "text_config.n_routed_experts"))
