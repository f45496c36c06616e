#!/usr/bin/env python3
"""Broken candidate: reads the expert count keys in reverse order (text_config.num_experts first), so
a config whose keys disagree gets the wrong count. Visible only with conflicting keys.
The gate must reject it with the diagnosis count-key-precedence."""

from _adapter import numpy_prefuse as base

base.PREFUSE_COUNT_KEYS = tuple(reversed(base.OQ_COUNT_KEYS))
raise SystemExit(base.main())
