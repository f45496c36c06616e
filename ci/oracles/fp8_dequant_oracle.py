#!/usr/bin/env python3
"""Independent oracle for moe-prefuse's FP8 block dequantization (golden cases under corpus/fp8).

numpy only, so it runs on any machine the test suite runs on. It shares no code with the
TypeScript implementation: its own FP8/E8M0 decoders, its own safetensors reader and writer
(the reference layout: tensors by descending dtype rank then name, compact JSON header padded
with spaces to a multiple of 8), and the MLX computation written the numpy way: expand the
scale grid by repetition, crop the padding, multiply in float32, round to bf16 to nearest even
(every NaN -> 0x7FC0, MLX's canonical bf16 NaN).

Usage:
  fp8_dequant_oracle.py write DIR          generate every case's input (seeded) and expected output
  fp8_dequant_oracle.py check DIR          recompute expected outputs from the committed inputs and
                                           compare them byte for byte with the committed ones
  fp8_dequant_oracle.py cross-check DIR    also compare with torch and ml_dtypes (needs both; e.g.
                                           the project's .venv), reporting their NaN conventions
  fp8_dequant_oracle.py dequant IN OUT [CASE]
                                           dequantize the checkpoint directory IN (config.json + one
                                           model.safetensors) into the safetensors file OUT: with CASE,
                                           by that case's rules; without, by the config's "fp8" method
                                           (weight_block_size, default [128, 128]; null: per tensor).
                                           The golden corpus (moe-prefuse golden update) uses it.
"""

import json
import os
import sys
import tempfile

import numpy as np

# ---- safetensors (reference layout) -------------------------------------------------------------

DTYPE_RANK = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
              "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
ITEMSIZE = {"U8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "F16": 2, "BF16": 2, "F32": 4}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", None)
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        tensors[name] = (e["dtype"], tuple(e["shape"]), data[8 + n + b:8 + n + end])
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype, shape, bytes)."""
    order = sorted(tensors, key=lambda k: (-DTYPE_RANK.index(tensors[k][0]), k.encode()))
    parts, offset, entries = [], 0, []
    if metadata is not None:
        entries.append('"__metadata__":' + json.dumps(dict(sorted(metadata.items())), separators=(",", ":")))
    for name in order:
        dtype, shape, raw = tensors[name]
        entries.append(json.dumps(name) + ":" + json.dumps({"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}, separators=(",", ":")))
        parts.append(raw)
        offset += len(raw)
    header = ("{" + ",".join(entries) + "}").encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header + b"".join(parts))


# ---- decoding and the dequantization --------------------------------------------------------------

def e4m3fn_table():
    c = np.arange(256, dtype=np.int64)
    sign = np.where(c & 0x80, -1.0, 1.0)
    e, m = (c >> 3) & 0xF, c & 0x7
    mag = np.where(e == 0, m * 2.0 ** -9, (8 + m) * 2.0 ** (e - 10))
    return np.where((c & 0x7F) == 0x7F, np.nan, sign * mag).astype(np.float32)


def e5m2_table():
    # E5M2 is the high byte of an IEEE half.
    return (np.arange(256, dtype=np.uint16) << 8).view(np.float16).astype(np.float32)


TABLES = {"F8_E4M3": e4m3fn_table(), "F8_E5M2": e5m2_table()}


def decode_scale(dtype, shape, raw):
    if dtype == "F32":
        v = np.frombuffer(raw, dtype="<f4")
    elif dtype == "BF16":
        v = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    elif dtype == "F16":
        v = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    elif dtype in ("F8_E8M0", "U8"):
        s = np.frombuffer(raw, dtype=np.uint8).astype(np.int64)
        v = np.where(s == 255, np.nan, np.ldexp(1.0, s - 127)).astype(np.float32)
    else:
        raise ValueError(f"scale dtype {dtype}")
    return v.reshape(shape if shape else (1,))


def bf16_bits(x):
    u = x.view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(x), np.uint16(0x7FC0), r)


def expand(grid, bm, bn, m, n):
    """MLX pads the weight to whole blocks and crops afterwards: the same as repeating and cropping."""
    return np.repeat(np.repeat(grid.reshape(grid.shape[0], -1), bm, 0), bn, 1)[:m, :n]


def dequant(dtype, m, n, raw, scale_grid, bm, bn):
    w = np.frombuffer(raw, dtype=np.uint8).reshape(m, n)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN products are part of the cases
        return TABLES[dtype][w] * expand(scale_grid, bm, bn, m, n)  # float32 product


# ---- the cases --------------------------------------------------------------------------------------

def fp8_bytes(rng, m, n, all_codes=False):
    w = rng.integers(0, 256, size=(m, n), dtype=np.uint8)
    if all_codes:  # every code once, NaNs and subnormals included
        w.reshape(-1)[:256] = np.arange(256, dtype=np.uint8)
    return w.tobytes()


def f32_bytes(values):
    return np.asarray(values, dtype="<f4").tobytes()


def bf16_bytes(values):
    return bf16_bits(np.asarray(values, dtype=np.float32)).astype("<u2").tobytes()


def cases():
    """name -> (config, tensors {name: (dtype, shape, bytes)}, rules {weight: (scale, (bm, bn) or 'channel'/'tensor')})."""
    rng = np.random.default_rng(20240604)
    out = {}

    p = "model.layers.0.mlp.experts.0."
    out["fp8-e4m3-blocks"] = (
        {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "num_experts": 1, "torch_dtype": "bfloat16",
         "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128]}},
        {
            p + "gate_proj.weight": ("F8_E4M3", (130, 200), fp8_bytes(rng, 130, 200, all_codes=True)),
            p + "gate_proj.weight_scale_inv": ("F32", (2, 2), f32_bytes(rng.random(4) * 0.02)),
            p + "up_proj.weight": ("F8_E4M3", (64, 48), fp8_bytes(rng, 64, 48)),
            p + "up_proj.weight_scale_inv": ("BF16", (1, 1), bf16_bytes([0.0078125 * 1.5])),
            # Tiny (subnormal products), huge (overflow to inf) and negative scales.
            p + "down_proj.weight": ("F8_E4M3", (256, 16), fp8_bytes(rng, 256, 16, all_codes=True)),
            p + "down_proj.weight_scale_inv": ("F32", (2, 1), f32_bytes([1e-39, -3e36])),
            p + "down_proj.activation_scale": ("F32", (), f32_bytes([0.5])),
            "model.norm.weight": ("BF16", (16,), bf16_bytes(rng.random(16))),
        },
        {p + "gate_proj.weight": (128, 128), p + "up_proj.weight": (128, 128), p + "down_proj.weight": (128, 128)},
    )

    out["fp8-e5m2-e8m0"] = (
        {"model_type": "deepseek_v3", "quantization_config": {"quant_method": "fp8", "fmt": "e5m2", "scale_fmt": "ue8m0", "weight_block_size": [32, 64]}},
        {
            "layers.0.w.weight": ("F8_E5M2", (70, 100), fp8_bytes(rng, 70, 100, all_codes=True)),
            "layers.0.w.weight_scale_inv": ("F8_E8M0", (3, 2), bytes([127, 0, 255, 254, 120, 131])),
            "layers.0.v.weight": ("F8_E5M2", (33, 64), fp8_bytes(rng, 33, 64)),
            "layers.0.v.weight_scale_inv": ("U8", (2, 1), bytes([125, 140])),
        },
        {"layers.0.w.weight": (32, 64), "layers.0.v.weight": (32, 64)},
    )

    out["compressed-tensors-channel"] = (
        {"model_type": "llama", "quantization_config": {
            "quant_method": "compressed-tensors", "format": "float-quantized", "quantization_status": "compressed", "ignore": ["lm_head"],
            "config_groups": {"group_0": {"targets": ["Linear"],
                                          "weights": {"num_bits": 8, "type": "float", "strategy": "channel", "symmetric": True, "dynamic": False},
                                          "input_activations": {"num_bits": 8, "type": "float", "strategy": "tensor", "symmetric": True, "dynamic": False}}}}},
        {
            "model.layers.0.mlp.down_proj.weight": ("F8_E4M3", (40, 24), fp8_bytes(rng, 40, 24)),
            "model.layers.0.mlp.down_proj.weight_scale": ("BF16", (40, 1), bf16_bytes(rng.random(40) * 0.01)),
            "model.layers.0.mlp.down_proj.input_scale": ("F32", (1,), f32_bytes([0.03])),
            "lm_head.weight": ("BF16", (8, 24), bf16_bytes(rng.random(192))),
        },
        {"model.layers.0.mlp.down_proj.weight": "channel"},
    )

    out["quark-per-block"] = (
        {"model_type": "qwen3_moe", "quantization_config": {
            "quant_method": "quark", "exclude": ["lm_head"], "layer_quant_config": {}, "layer_type_quant_config": {},
            "global_quant_config": {"weight": {"dtype": "fp8_e4m3", "qscheme": "per_block", "block_size": [128, 128], "is_dynamic": False, "symmetric": True},
                                    "input_tensors": {"dtype": "fp8_e4m3", "qscheme": "per_group", "group_size": 128, "is_dynamic": True}}}},
        {
            "model.layers.0.mlp.experts.1.down_proj.weight": ("F8_E4M3", (200, 130), fp8_bytes(rng, 200, 130)),
            "model.layers.0.mlp.experts.1.down_proj.weight_scale": ("F32", (2, 2), f32_bytes(rng.random(4) * 0.02)),
        },
        {"model.layers.0.mlp.experts.1.down_proj.weight": (128, 128)},
    )
    return out


def scale_name(tensors, weight):
    return next(weight + s for s in ("_scale_inv", "_scale") if weight + s in tensors)


def block_of(rule, m, n):
    return (1, n) if rule == "channel" else (m, n) if rule == "tensor" else rule


def expected(config, tensors, rules):
    """The dequantized checkpoint: FP8 weights -> BF16, scales and activation scales dropped."""
    out, drop = {}, set()
    for weight, rule in rules.items():
        dtype, (m, n), raw = tensors[weight]
        scale = scale_name(tensors, weight)
        sdtype, sshape, sraw = tensors[scale]
        bm, bn = block_of(rule, m, n)
        y = dequant(dtype, m, n, raw, decode_scale(sdtype, sshape, sraw), bm, bn)
        out[weight] = ("BF16", (m, n), bf16_bits(y).astype("<u2").tobytes())
        drop.add(scale)
    for name, t in tensors.items():
        if name in out or name in drop or name.endswith((".input_scale", ".activation_scale")):
            continue
        out[name] = t
    cfg = {k: v for k, v in config.items() if k != "quantization_config"}
    return cfg, out


def write_json(path, obj):
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2) + "\n")


def case_dirs(root, name):
    return os.path.join(root, name, "input"), os.path.join(root, name, "expected")


def write(root):
    for name, (config, tensors, rules) in cases().items():
        inp, exp = case_dirs(root, name)
        os.makedirs(inp, exist_ok=True)
        os.makedirs(exp, exist_ok=True)
        write_json(os.path.join(inp, "config.json"), config)
        write_safetensors(os.path.join(inp, "model.safetensors"), tensors, {"format": "pt"})
        cfg, out = expected(config, tensors, rules)
        write_json(os.path.join(exp, "config.json"), cfg)
        write_safetensors(os.path.join(exp, "model.safetensors"), out, {"format": "pt"})
        print(f"wrote {name}")


def check(root):
    """Recomputes each expected output from the committed input; returns the number of differences."""
    bad = 0
    for name, (_, _, rules) in cases().items():
        inp, exp = case_dirs(root, name)
        with open(os.path.join(inp, "config.json")) as f:
            config = json.load(f)
        tensors, meta = read_safetensors(os.path.join(inp, "model.safetensors"))
        cfg, out = expected(config, tensors, rules)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.safetensors")
            write_safetensors(path, out, meta)
            with open(path, "rb") as f:
                mine = f.read()
        with open(os.path.join(exp, "model.safetensors"), "rb") as f:
            committed = f.read()
        with open(os.path.join(exp, "config.json")) as f:
            committed_cfg = json.load(f)
        ok = mine == committed and cfg == committed_cfg
        bad += not ok
        print(f"{name}: {'ok' if ok else 'DIFFERS from the committed expected output'}")
    return bad


def cross_check(root):
    """Compares the oracle's products and roundings with torch and ml_dtypes, element by element."""
    import ml_dtypes
    import torch

    torch_fp8 = {"F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2}
    mld_fp8 = {"F8_E4M3": ml_dtypes.float8_e4m3fn, "F8_E5M2": ml_dtypes.float8_e5m2}
    for name, (_, _, rules) in cases().items():
        inp, _ = case_dirs(root, name)
        tensors, _ = read_safetensors(os.path.join(inp, "model.safetensors"))
        for weight, rule in rules.items():
            dtype, (m, n), raw = tensors[weight]
            sdtype, sshape, sraw = tensors[scale_name(tensors, weight)]
            bm, bn = block_of(rule, m, n)
            s = expand(decode_scale(sdtype, sshape, sraw), bm, bn, m, n)
            ours = bf16_bits(dequant(dtype, m, n, raw, decode_scale(sdtype, sshape, sraw), bm, bn))
            w8 = np.frombuffer(raw, dtype=np.uint8).reshape(m, n)
            t = (torch.from_numpy(w8.copy()).view(torch_fp8[dtype]).to(torch.float32) * torch.from_numpy(np.ascontiguousarray(s))).to(torch.bfloat16)
            tb = t.view(torch.int16).numpy().view(np.uint16)
            mb = (w8.view(mld_fp8[dtype]).astype(np.float32) * s).astype(ml_dtypes.bfloat16).view(np.uint16)
            nan = np.isnan(dequant(dtype, m, n, raw, decode_scale(sdtype, sshape, sraw), bm, bn))
            for label, other in (("torch", tb), ("ml_dtypes", mb)):
                diff = int(np.count_nonzero((other != ours) & ~nan))
                nan_bits = sorted({hex(v) for v in other[nan].tolist()})
                print(f"{name} {weight}: {label}: {diff} non-NaN differences of {m * n}; NaN results {int(nan.sum())} as {nan_bits or '-'} (oracle 0x7fc0)")


def fp8_rules(config, tensors):
    """The block of every FP8 weight under a "fp8" quantization_config (top level or text_config)."""
    qc = config.get("quantization_config") or (config.get("text_config") or {}).get("quantization_config")
    if not qc or qc.get("quant_method") != "fp8":
        raise SystemExit(f"only quant_method 'fp8' is read without a CASE, not {qc and qc.get('quant_method')!r}")
    block = qc.get("weight_block_size", [128, 128])
    rules = {}
    for name, (dtype, shape, _) in tensors.items():
        if dtype in TABLES:
            m, n = shape
            rules[name] = (m, n) if block is None else tuple(block)
            if not any(name + s in tensors for s in ("_scale_inv", "_scale")):
                raise SystemExit(f"{name}: FP8 weight without a scale")
    return rules


def dequant_dir(inp, out_file, case=None):
    with open(os.path.join(inp, "config.json")) as f:
        config = json.load(f)
    tensors, meta = read_safetensors(os.path.join(inp, "model.safetensors"))
    rules = cases()[case][2] if case is not None else fp8_rules(config, tensors)
    _, out = expected(config, tensors, rules)
    write_safetensors(out_file, out, meta)


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "dequant":
        dequant_dir(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) == 5 else None)
        return
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check", "cross-check"):
        sys.exit(__doc__)
    root = sys.argv[2]
    if sys.argv[1] == "write":
        write(root)
    elif sys.argv[1] == "check":
        sys.exit(1 if check(root) else 0)
    else:
        cross_check(root)


if __name__ == "__main__":
    main()
