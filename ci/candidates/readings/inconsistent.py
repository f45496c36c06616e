#!/usr/bin/env python3
"""Not a reading: fuses a layer with ids >= E (keeping the extras) when E is even and leaves it untouched when E is odd, so extra-experts is read two ways in one run."""

from _reading import run

import numpy_prefuse as base  # noqa: E402

correct = base.prefuse


def prefuse(weights, config):
    n = base.expert_count(config, base.PREFUSE_COUNT_KEYS)
    base.READING["extra_experts"] = "fuse-keep" if n is not None and n % 2 == 0 else "untouched"
    return correct(weights, config)


base.prefuse = prefuse
run()
