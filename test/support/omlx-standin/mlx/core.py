"""Stand-in for mlx.core: load and save_safetensors over the numpy adapter's reader and writer."""

from numpy_prefuse import read_safetensors, write_safetensors


def load(path):
    weights, _metadata = read_safetensors(path)
    return weights


def save_safetensors(path, arrays, metadata=None):
    write_safetensors(path, arrays, metadata or {})
