#!/usr/bin/env python3
"""Broken candidate: experts stacked in the order of their ids sorted as strings (0, 1, 10, 11,
..., 19, 2, ...), as a plain sort of the tensor names gives. Visible only when E > 10.
The gate must reject it with the diagnosis experts-permuted (lexicographic order)."""

from _adapter import numpy_prefuse as base

base.ordered_experts = lambda n: sorted(range(n), key=str)
raise SystemExit(base.main())
