"""Stand-in for mlx.core in the oMLX adapter's tests (test/gate/omlx-adapter.test.ts): load and
save_safetensors over the numpy adapter's safetensors reader and writer, so the adapter's own code
(arguments, both protocols, the in-place or returned dict) runs where MLX cannot."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "ci", "adapters"))

import numpy_prefuse  # noqa: E402  (the path is set just above)


def load(path):
    return numpy_prefuse.read_safetensors(path)[0]


def save_safetensors(path, weights):
    numpy_prefuse.write_safetensors(path, weights, {})
