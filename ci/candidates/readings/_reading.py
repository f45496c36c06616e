"""Shared by the reading candidates: the numpy adapter (ci/adapters/numpy_prefuse.py) with one
reading point of oQ's contract read another way. Each is a correct prefuse under the contract's
text; the gate must pass it unpinned (naming its reading) and reject it under readings pinned from
the numpy adapter."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "adapters"))

import numpy_prefuse  # noqa: E402  (the path is set just above)


def run(**reading):
    """Runs the adapter with READING entries replaced (and PREFUSE_COUNT_KEYS, when given)."""
    keys = reading.pop("count_keys", None)
    if keys is not None:
        numpy_prefuse.PREFUSE_COUNT_KEYS = keys
    unknown = set(reading) - set(numpy_prefuse.READING)
    if unknown:
        raise SystemExit(f"unknown reading {sorted(unknown)}")
    numpy_prefuse.READING.update(reading)
    raise SystemExit(numpy_prefuse.main())
