#!/usr/bin/env python3
"""Reading duplicate-ids = last-name: of experts.01 and experts.1, the name sorting last is fused (what a dict keyed by the id keeps), the other kept per expert."""

from _reading import run

run(duplicate_ids="last-name")
