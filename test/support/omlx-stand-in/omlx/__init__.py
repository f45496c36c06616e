"""Stand-in for oMLX in the oMLX adapter's tests: see oq.py."""
