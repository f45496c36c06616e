#!/usr/bin/env python3
"""Broken candidate: fused tensors written in a wider float type than their experts (BF16 and F16
as F32, F32 as F64): the values survive, the dtype and the bytes do not.
The gate must reject it with the diagnosis dtype-changed."""

import numpy as np
from _adapter import numpy_prefuse as base

correct_gate_up, correct_down = base.fuse_gate_up, base.fuse_down


def widen(t):
    if t.dtype == "BF16":
        return base.Tensor.of("F32", t.bits.astype(np.uint32) << 16)
    if t.dtype == "F16":
        return base.Tensor.of("F32", t.bits.view(np.float16).astype(np.float32).view(np.uint32))
    return base.Tensor.of("F64", t.bits.view(np.float32).astype(np.float64).view(np.uint64))


base.fuse_gate_up = lambda gates, ups, n: widen(correct_gate_up(gates, ups, n))
base.fuse_down = lambda downs, n: widen(correct_down(downs, n))
raise SystemExit(base.main())
