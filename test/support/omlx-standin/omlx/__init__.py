"""Stand-in for oMLX (see ../README.md)."""
