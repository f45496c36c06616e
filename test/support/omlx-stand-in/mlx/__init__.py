"""Stand-in for MLX (Apple silicon only) in the oMLX adapter's tests: see core.py."""
