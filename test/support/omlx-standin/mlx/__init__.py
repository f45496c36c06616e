"""Stand-in for MLX (see ../README.md): only what ci/adapters/omlx_prefuse.py calls."""
