#!/usr/bin/env python3
"""oMLX's own prefuse as a release-gate candidate (prefuse stage only).

Gate protocols (ci/adapters/moe_prefuse_candidate.py, docs/gate-protocols.md):
  omlx_prefuse.py INPUT_DIR OUTPUT_FILE   one case (case/1; MOE_PREFUSE_STAGE or --stage must be prefuse)
  omlx_prefuse.py --serve                 many cases, JSON lines (serve/1): MLX and oMLX imported once

Reads INPUT_DIR/model.safetensors with MLX and INPUT_DIR/config.json, calls
omlx.oq._prefuse_moe_experts_for_vlm(weights, config) exactly as oQ's _vlm_sanitize does right before
Model.sanitize (oMLX PR #933), and writes the resulting weight dict with mx.save_safetensors. The
function may rebuild `weights` in place or return the new dict: both are handled. Runs only where
MLX and oMLX are installed (Apple silicon). Exit 2 for another stage or a missing MLX/oMLX.
"""

import sys

from moe_prefuse_candidate import arguments, main as candidate_main

PROG = "omlx_prefuse"
DESCRIPTION = "oMLX oQ prefuse (gate candidate)"
STAGES = ("prefuse",)


def main():
    arguments(PROG, DESCRIPTION, STAGES)  # usage and stage errors exit 2 before MLX is imported
    try:
        import mlx.core as mx
        from omlx import oq
    except ImportError as e:
        print(f"omlx_prefuse: needs MLX and oMLX (Apple silicon): {e}", file=sys.stderr)
        return 2

    def prefuse(weights, config):
        result = oq._prefuse_moe_experts_for_vlm(weights, config)
        return result if isinstance(result, dict) else weights

    return candidate_main(PROG, {"prefuse": prefuse}, lambda path: (mx.load(path), None),
                          lambda path, weights, _: mx.save_safetensors(path, weights), DESCRIPTION)


if __name__ == "__main__":
    sys.exit(main())
