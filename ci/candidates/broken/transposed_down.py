#!/usr/bin/env python3
"""Broken candidate: down_proj stacked transposed, [E, I, H] instead of [E, H, I] (the qwen3_vl_moe
on-disk orientation applied where it does not belong).
The gate must reject it with the diagnosis transposed."""

import numpy as np
from _adapter import numpy_prefuse as base


def fuse_down(downs, n):
    return base.Tensor.of(downs[0].dtype, np.stack([np.ascontiguousarray(downs[e].bits.T) for e in range(n)]))


base.fuse_down = fuse_down
raise SystemExit(base.main())
