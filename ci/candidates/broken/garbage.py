#!/usr/bin/env python3
"""Broken candidate: writes bytes that are not a safetensors file and exits 0.
The gate must report an invalid output (with the reader's reason)."""

import sys

with open(sys.argv[2], "wb") as f:
    f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}" + bytes(range(256)))
