#!/usr/bin/env python3
"""Reading outside-layers = left: only the decoder's layers.N are fused; mtp.layers.N stay per expert."""

from _reading import run

run(outside_layers="left")
