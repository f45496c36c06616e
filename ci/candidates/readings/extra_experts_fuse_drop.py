#!/usr/bin/env python3
"""Reading extra-experts = fuse-drop: a layer with ids >= E fuses experts 0..E-1 and removes the extras."""

from _reading import run

run(extra_experts="fuse-drop")
