#!/usr/bin/env python3
"""Reading count-zero = stop: the first key present decides, so a count of 0 means no experts and nothing is fused."""

from _reading import run

run(count_zero="stop")
