#!/usr/bin/env python3
"""Reading duplicate-ids = first-name: of experts.01 and experts.1, the name sorting first is fused, the other kept per expert."""

from _reading import run

run(duplicate_ids="first-name")
