#!/usr/bin/env python3
"""Broken candidate: exits 0 and writes nothing (e.g. it wrote next to {output} instead).
The gate must report that no output was written."""

print("done (but wrote nothing)")
