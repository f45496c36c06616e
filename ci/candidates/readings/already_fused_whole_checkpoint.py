#!/usr/bin/env python3
"""Reading already-fused = whole-checkpoint: one fused layer anywhere returns the checkpoint as it is (the PR's 'early return')."""

from _reading import run

run(already_fused="whole-checkpoint")
