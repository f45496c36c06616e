#!/usr/bin/env python3
"""Loads the files moe-prefuse wrote (test/oracles/write-ours.ts) with the reference Python
`safetensors` package and torch, and checks them against the manifest written beside them: the
same tensor names, dtypes, shapes, data bytes (sha256), element values (NaN-aware, sign of zero
included), metadata, and for checkpoints the index (weight_map and total_size).

Usage: check_python_reads.py DIR    Exit status 0 when every check passes.
"""

import hashlib
import json
import math
import sys
from pathlib import Path

import safetensors
import torch
from safetensors import safe_open

NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2", torch.float8_e8m0fnu: "F8_E8M0",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint64: "U64", torch.uint32: "U32", torch.uint16: "U16", torch.uint8: "U8", torch.bool: "BOOL",
}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def same_value(ours, theirs):
    """`ours` is moe-prefuse's canonical string; `theirs` a Python number or bool."""
    if isinstance(theirs, bool):
        return ours == ("true" if theirs else "false")
    if isinstance(theirs, int):
        return int(ours) == theirs
    x = float(ours)
    if math.isnan(x) or math.isnan(theirs):
        return math.isnan(x) and math.isnan(theirs)
    return x == theirs and math.copysign(1, x) == math.copysign(1, theirs)


def load(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def check_tensors(label, tensors, want):
    check(sorted(tensors) == sorted(want), f"{label}: names {sorted(tensors)} != {sorted(want)}")
    for name, spec in want.items():
        t = tensors.get(name)
        if t is None:
            continue
        where = f"{label}: tensor {name!r}"
        check(NAMES[t.dtype] == spec["dtype"], f"{where}: dtype {NAMES[t.dtype]} != {spec['dtype']}")
        check(list(t.shape) == spec["shape"], f"{where}: shape {list(t.shape)} != {spec['shape']}")
        data = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        check(hashlib.sha256(data).hexdigest() == spec["sha256"], f"{where}: data differs")
        flat = (t.to(torch.float64) if t.dtype.is_floating_point else t).reshape(-1).tolist()
        bad = [i for i, (o, p) in enumerate(zip(spec["values"], flat)) if not same_value(o, p)]
        check(len(flat) == len(spec["values"]) and not bad, f"{where}: values differ at {bad[:5]} (ours {[spec['values'][i] for i in bad[:5]]}, torch {[flat[i] for i in bad[:5]]})")


def main():
    root = Path(sys.argv[1])
    manifest = json.loads((root / "manifest.json").read_text())
    for name, want in manifest["files"].items():
        path = root / name
        if path.is_file():
            tensors, metadata = load(path)
            check(metadata == want["metadata"], f"{name}: metadata {metadata} != {want['metadata']}")
            check_tensors(name, tensors, want["tensors"])
            continue
        index_path = path / "model.safetensors.index.json"
        if index_path.exists():
            index = json.loads(index_path.read_text())
            tensors = {}
            for shard in sorted(set(index["weight_map"].values())):
                part, metadata = load(path / shard)
                check(metadata == want["metadata"], f"{name}/{shard}: metadata {metadata} != {want['metadata']}")
                for k in part:
                    check(index["weight_map"].get(k) == shard, f"{name}: index places {k!r} in {index['weight_map'].get(k)}, found in {shard}")
                tensors.update(part)
            total = sum(t.numel() * t.element_size() for t in tensors.values())
            check(index["metadata"]["total_size"] == total, f"{name}: index total_size {index['metadata']['total_size']} != {total}")
        else:
            tensors, metadata = load(path / "model.safetensors")
            check(metadata == want["metadata"], f"{name}: metadata {metadata} != {want['metadata']}")
        check(json.loads((path / "config.json").read_text()).get("model_type") == "interop", f"{name}: config.json")
        check_tensors(name, tensors, want["tensors"])

    count = sum(len(f["tensors"]) for f in manifest["files"].values())
    print(f"Python safetensors {safetensors.__version__} / torch {torch.__version__} loaded {len(manifest['files'])} outputs ({count} tensors) written by moe-prefuse")
    if failures:
        print(f"{len(failures)} mismatches:")
        for f in failures:
            print(f"  {f}")
        sys.exit(1)
    print("all equal: names, dtypes, shapes, bytes, values, metadata, index")


if __name__ == "__main__":
    main()
