#!/usr/bin/env python3
"""oMLX's own prefuse as a release-gate candidate (prefuse stage only).

Gate protocol: omlx_prefuse.py INPUT_DIR OUTPUT_FILE   (MOE_PREFUSE_STAGE or --stage must be prefuse)

Reads INPUT_DIR/model.safetensors with MLX and INPUT_DIR/config.json, calls
omlx.oq._prefuse_moe_experts_for_vlm(weights, config) exactly as oQ's _vlm_sanitize does right before
Model.sanitize (oMLX PR #933), and writes the resulting weight dict with mx.save_safetensors. The
function may rebuild `weights` in place or return the new dict: both are handled. Runs only where
MLX and oMLX are installed (Apple silicon). Exit 2 for another stage or a missing MLX/oMLX.
"""

import json
import os
import sys

from gate_protocol import arguments


def main():
    args = arguments("omlx_prefuse", "oMLX oQ prefuse (gate candidate)", ("prefuse",))
    try:
        import mlx.core as mx
        from omlx import oq
    except ImportError as e:
        print(f"omlx_prefuse: needs MLX and oMLX (Apple silicon): {e}", file=sys.stderr)
        return 2
    weights = mx.load(os.path.join(args.input, "model.safetensors"))
    with open(os.path.join(args.input, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    result = oq._prefuse_moe_experts_for_vlm(weights, config)
    mx.save_safetensors(args.output, result if isinstance(result, dict) else weights)
    return 0


if __name__ == "__main__":
    sys.exit(main())
