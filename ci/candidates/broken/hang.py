#!/usr/bin/env python3
"""Broken candidate: never finishes (and starts a child that would outlive it).
The gate must report a timeout, kill the whole process group, and keep going."""

import subprocess
import sys
import time

subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
time.sleep(3600)
