#!/usr/bin/env python3
"""Benchmark stand-in (bench/gate-serve.ts): the numpy adapter with a start cost, as a candidate
that imports MLX, mlx-lm and oMLX pays before it can answer anything.

    slow_start.py SECONDS [numpy_prefuse.py arguments...]

Sleeps SECONDS, then runs the numpy adapter (either protocol) with the remaining arguments."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "adapters"))

import numpy_prefuse  # noqa: E402  (the path is set just above)

delay = float(sys.argv.pop(1))
time.sleep(delay)
sys.exit(numpy_prefuse.main())
