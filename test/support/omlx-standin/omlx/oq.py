"""Stand-in for omlx.oq: _prefuse_moe_experts_for_vlm is the numpy adapter's prefuse, with its calls
recorded ($OMLX_STANDIN_LOG) and its result returned or written into `weights` ($OMLX_STANDIN_MODE)."""

import json
import os

from numpy_prefuse import prefuse


def _prefuse_moe_experts_for_vlm(weights, config):
    log = os.environ.get("OMLX_STANDIN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"config": config, "names": sorted(weights)}) + "\n")
    result = prefuse(weights, config)
    if os.environ.get("OMLX_STANDIN_MODE", "return") == "inplace":
        weights.clear()
        weights.update(result)
        return None
    return result
