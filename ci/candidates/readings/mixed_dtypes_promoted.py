#!/usr/bin/env python3
"""Reading mixed-dtypes = promoted: a layer mixing dtypes is fused in F32, as np.stack promotes it."""

from _reading import run

run(mixed_dtypes="promoted")
