"""Stand-in for omlx.oq: _prefuse_moe_experts_for_vlm as the numpy adapter's prefuse, rebuilding
`weights` in place and returning None (the variant the adapter must handle besides a returned dict;
OMLX_STAND_IN_RETURNS=1 selects the other)."""

import os

from mlx.core import numpy_prefuse


def _prefuse_moe_experts_for_vlm(weights, config):
    out = numpy_prefuse.prefuse(dict(weights), config)
    if os.environ.get("OMLX_STAND_IN_RETURNS") == "1":
        return out
    weights.clear()
    weights.update(out)
    return None
