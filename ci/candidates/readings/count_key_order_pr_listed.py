#!/usr/bin/env python3
"""Reading count-key-order = pr-listed: the keys in the order PR #933 lists them, num_local_experts, num_experts, then the text_config ones."""

from _reading import run

run(count_keys=("num_local_experts", "num_experts", "text_config.num_local_experts", "text_config.num_experts"))
