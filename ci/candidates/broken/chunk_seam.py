#!/usr/bin/env python3
"""Broken candidate: stacks 16 experts per chunk, as oQ does, but every chunk after the first starts
one expert early (slot 16 gets expert 15 again, the last expert is lost). Visible only when E > 16.
The gate must reject it with the diagnosis chunk-seam, first bad expert 16."""

from _adapter import numpy_prefuse as base


def ordered_experts(n):
    order = []
    for start in range(0, n, 16):
        first = start - 1 if start else 0  # the off-by-one
        order.extend(range(first, first + min(16, n - start)))
    return order


base.ordered_experts = ordered_experts
raise SystemExit(base.main())
