#!/usr/bin/env python3
"""Broken candidate: raises an exception after reading its input (a traceback on stderr, exit 1).
The gate must report a crash with the candidate's stderr, and keep going."""

import json
import os
import sys

with open(os.path.join(sys.argv[1], "config.json"), encoding="utf-8") as f:
    config = json.load(f)
raise KeyError(f"model.language_model.layers.0.mlp.experts.gate_up_proj (model_type {config.get('model_type')})")
