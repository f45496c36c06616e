#!/usr/bin/env python3
"""Broken candidate: each expert's up rows before its gate rows in gate_up_proj.
The gate must reject it with the diagnosis gate-up-swapped."""

import numpy as np
from _adapter import numpy_prefuse as base


def fuse_gate_up(gates, ups, n):
    return base.Tensor.of(gates[0].dtype, np.stack([np.concatenate([ups[e].bits, gates[e].bits], axis=0) for e in range(n)]))


base.fuse_gate_up = fuse_gate_up
raise SystemExit(base.main())
