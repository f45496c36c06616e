#!/usr/bin/env python3
"""Reading count-zero = skip: a count of 0 is skipped like an absent key, as Python's `a or b or ...` chain does."""

from _reading import run

run(count_zero="skip")
