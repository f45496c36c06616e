#!/usr/bin/env python3
"""Reading extra-experts = fuse-keep: a layer with ids >= E fuses experts 0..E-1 and keeps the extras per expert."""

from _reading import run

run(extra_experts="fuse-keep")
