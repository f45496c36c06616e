#!/usr/bin/env python3
"""Writes the interop fixtures with the reference Python `safetensors` package (and torch for the
dtypes numpy lacks), plus manifest.json saying what each file holds: per tensor its dtype, shape,
the sha256 of its data bytes and its values as torch reads them. moe-prefuse's tests read these
files with our reader and rewrite them with our writer (test/reference/safetensors/interop-python.test.ts).

Usage: make_python_fixtures.py [OUT_DIR]   (default: corpus/interop)
Values are formulas, not random draws, so the data is the same on every run and torch version.
Python's writer orders `__metadata__` keys as a Rust HashMap iterates them (differently on every
run), so files with several metadata keys differ between regenerations in that order only.
"""

import hashlib
import json
import math
import platform
import shutil
import sys
from pathlib import Path

import numpy as np
import safetensors
import torch
from huggingface_hub import save_torch_state_dict
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch

SAFETENSORS_DTYPE = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float8_e4m3fn: "F8_E4M3",
    torch.float8_e5m2: "F8_E5M2",
    torch.float8_e8m0fnu: "F8_E8M0",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint64: "U64",
    torch.uint32: "U32",
    torch.uint16: "U16",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def json_number(x):
    """JSON has no NaN/Infinity: those become strings; -0.0 stays -0.0."""
    if isinstance(x, bool):
        return x
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return x
    # 64-bit integers do not survive a JSON number: decimal strings.
    return str(x)


def values_of(t):
    if t.dtype.is_floating_point:
        flat = t.to(torch.float64).reshape(-1).tolist()
    else:
        flat = t.reshape(-1).tolist()
    return [json_number(v) for v in flat]


def describe(t):
    data = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
    return {
        "dtype": SAFETENSORS_DTYPE[t.dtype],
        "shape": list(t.shape),
        "sha256": hashlib.sha256(data).hexdigest(),
        "values": values_of(t),
    }


def all_codes(dtype, shape):
    return torch.arange(256, dtype=torch.uint8).view(dtype).reshape(shape)


def mixed():
    f32 = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.375 - 1.5
    specials = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 3.4028234663852886e38, 1e-45, 1.17549435e-38], dtype=torch.float32)
    return {
        "model.embed_tokens.weight": f32,
        "specials.f32": specials,
        "h.f16": (torch.arange(10, dtype=torch.float32) * 1.1 - 5).to(torch.float16).reshape(2, 5),
        "h.bf16": (torch.arange(10, dtype=torch.float32) * 1.1 - 5).to(torch.bfloat16).reshape(5, 2),
        "h.f64": torch.tensor([1 / 3, -2.5, 1e300], dtype=torch.float64),
        "ids.i64": torch.tensor([0, -1, 2**62 + 1, -(2**63), 2**63 - 1], dtype=torch.int64),
        "ids.i32": torch.tensor([[1, -2], [2**31 - 1, -(2**31)]], dtype=torch.int32),
        "ids.i16": torch.tensor([-32768, 32767, 5], dtype=torch.int16),
        "ids.i8": torch.tensor([-128, 127, 0, 1], dtype=torch.int8),
        "bytes.u8": torch.arange(7, dtype=torch.uint8) * 37,
        "u16": torch.tensor([0, 65535, 1234], dtype=torch.uint16),
        "u32": torch.tensor([0, 2**32 - 1], dtype=torch.uint32),
        "u64": torch.tensor([0, 2**64 - 1, 2**53 + 1], dtype=torch.uint64),
        "mask.bool": torch.tensor([[True, False, True], [False, False, True]]),
        "empty.f32": torch.zeros((0, 3), dtype=torch.float32),
        "empty.u8": torch.zeros((4, 0), dtype=torch.uint8),
        "scalar.f32": torch.tensor(2.5, dtype=torch.float32),
        "scalar.i64": torch.tensor(-7, dtype=torch.int64),
        # Non-ASCII names; the last four also order differently by UTF-16 units than by UTF-8
        # bytes (U+FF5E sorts after U+1F600 in UTF-16, before it in UTF-8) and by normalisation.
        "模型.层.0.权重": torch.tensor([1.0, 2.0], dtype=torch.float32),
        "ключ": torch.tensor([3.0], dtype=torch.float32),
        "\uff5e.tilde": torch.tensor([4.0], dtype=torch.float32),
        "\U0001f600.emoji": torch.tensor([5.0], dtype=torch.float32),
        "caf\u00e9": torch.tensor([6.0], dtype=torch.float32),
        "cafe\u0301": torch.tensor([7.0], dtype=torch.float32),
    }


def fp8():
    return {
        "e4m3.all_codes": all_codes(torch.float8_e4m3fn, (16, 16)),
        "e5m2.all_codes": all_codes(torch.float8_e5m2, (256,)),
        "e8m0.all_codes": all_codes(torch.float8_e8m0fnu, (2, 128)),
        "model.layers.0.mlp.experts.0.gate_proj.weight": (torch.arange(32, dtype=torch.float32).reshape(4, 8) * 13.25 - 200).to(torch.float8_e4m3fn),
        "model.layers.0.mlp.experts.0.gate_proj.weight_scale_inv": torch.tensor([[0.5]], dtype=torch.float32),
    }


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus/interop")
    out.mkdir(parents=True, exist_ok=True)
    files = {}

    def record(name, tensors, metadata):
        files[name] = {"metadata": metadata, "tensors": {k: describe(v) for k, v in tensors.items()}}

    t = mixed()
    meta = {"format": "pt", "producer": "safetensors-python", "note": "ünïcødé ✓ \"quoted\" \\ back", "empty": ""}
    save_torch(t, str(out / "mixed.safetensors"), metadata=meta)
    record("mixed.safetensors", t, meta)

    t = fp8()
    meta = {"format": "pt"}
    save_torch(t, str(out / "fp8.safetensors"), metadata=meta)
    record("fp8.safetensors", t, meta)

    # numpy's writer, no metadata at all.
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3) / 8, "b": np.array([1, 2, 3], dtype=np.int64)}
    save_numpy(arrays, str(out / "numpy.safetensors"))
    record("numpy.safetensors", {k: torch.from_numpy(v) for k, v in arrays.items()}, None)

    save_torch({}, str(out / "empty.safetensors"))
    record("empty.safetensors", {}, None)

    # A sharded checkpoint as huggingface_hub writes it (index + shards).
    sharded = out / "sharded"
    shutil.rmtree(sharded, ignore_errors=True)
    sharded.mkdir()
    t = {f"model.layers.{i}.mlp.down_proj.weight": torch.full((4, 4), float(i), dtype=torch.bfloat16) for i in range(3)}
    t["lm_head.weight"] = torch.arange(16, dtype=torch.float32).reshape(4, 4)
    save_torch_state_dict(t, str(sharded), max_shard_size=70)
    shards = {}
    index = json.loads((sharded / "model.safetensors.index.json").read_text())
    for name, shard in index["weight_map"].items():
        shards.setdefault(shard, {})[name] = describe(t[name])
    files["sharded"] = {"metadata": {"format": "pt"}, "tensors": {k: describe(v) for k, v in t.items()}, "shards": shards}

    manifest = {
        "generator": {
            "script": "ci/interop/make_python_fixtures.py",
            "python": platform.python_version(),
            "safetensors": safetensors.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    print(f"wrote {len(files)} fixtures to {out}")


if __name__ == "__main__":
    main()
