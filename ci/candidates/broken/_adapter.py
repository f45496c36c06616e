"""Shared by the broken candidates: the numpy adapter (ci/adapters/numpy_prefuse.py) as a module,
so each candidate is that correct implementation with exactly one fault put in."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "adapters"))

import numpy_prefuse  # noqa: E402  (the path is set just above)
