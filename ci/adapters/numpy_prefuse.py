#!/usr/bin/env python3
"""An independent numpy implementation of the release gate's stage contracts (moe-prefuse).

Gate protocols (ci/adapters/moe_prefuse_candidate.py, docs/gate-protocols.md):
  numpy_prefuse.py [--stage STAGE] INPUT_DIR OUTPUT_FILE     one case (case/1)
  numpy_prefuse.py --serve [--stage STAGE]                   many cases, JSON lines (serve/1)
  INPUT_DIR holds config.json and one model.safetensors; OUTPUT_FILE is the .safetensors file to
  write with the whole resulting weight dict. The stage comes from the request (serve/1), else
  --stage, else the environment variable MOE_PREFUSE_STAGE, else "prefuse".

Stages (the contracts as the README states them; nothing here is derived from moe-prefuse's code):
  prefuse          oQ's _prefuse_moe_experts_for_vlm(weights, config): the expert count from
                   num_local_experts, text_config.num_local_experts, num_experts,
                   text_config.num_experts (first present wins; none: nothing changes); per layer
                   prefix, `<p>.experts.<e>.{gate,up,down}_proj.weight` for exactly e = 0..E-1
                   become `<p>.experts.gate_up_proj` [E, 2I, H] (each expert's gate rows, then its
                   up rows) and `<p>.experts.down_proj` [E, H, I]; a layer already fused, or
                   incomplete, or inconsistent (ids, shapes, dtypes) is left as it is. Where oQ's
                   text is open (the gate's reading points), READING below says how it is read.
  dequant          FP8 block dequantization as MLX does it: bf16(f32(e4m3(W)) * f32(scale)), the
                   `<W>_scale_inv` tensors and activation scales removed.
  dequant+prefuse  dequant, then prefuse.
  switch_mlp       the final MLX layout each family's loader ends with, `<p>.<switch>.<proj>.weight`
                   [E,I,H],[E,I,H],[E,H,I]: switch_mlp by default, `experts` (dots1, afmoe, llama4,
                   gpt_oss), `experts.switch_glu` (gemma4), moved to mlp (kimi_linear), fc1/fc2 from
                   up/down (nemotron_h, no gate); mixtral-style w1/w3/w2, the transposed fused
                   families; the expert count also from n_routed_experts, moe_num_experts and the
                   family's own paths (one per qwen3_omni_moe sub-model); MLX `.scales` and
                   `.biases` stacked with their weights; already fused layers split (not gpt-oss's
                   interleaved ones).

Tensors are carried as raw bits (bf16 as uint16): only the FP8 dequant interprets values.
Exit status: 0 written, 1 the input is refused (one line on stderr), 2 bad usage or stage.
"""

import json
import os
import re
import struct
import sys
from collections import defaultdict

import numpy as np
from moe_prefuse_candidate import Refused, main as candidate_main

# ---- safetensors ---------------------------------------------------------------------------

BITS = {"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8,
        "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32,
        "F32": 32, "F64": 64, "I64": 64, "U64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}
CARRIER = {8: np.dtype("u1"), 16: np.dtype("<u2"), 32: np.dtype("<u4"), 64: np.dtype("<u8")}


class Tensor:
    """A dtype name, a shape and the elements as unsigned integers of the element's width."""

    __slots__ = ("dtype", "shape", "bits")

    def __init__(self, dtype, shape, bits):
        self.dtype, self.shape, self.bits = dtype, tuple(shape), bits

    @staticmethod
    def of(dtype, array):
        return Tensor(dtype, array.shape, array)

    def raw(self):
        return np.ascontiguousarray(self.bits).tobytes()


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise Refused(f"{path}: not a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, entry in header.items():
        dtype, shape = entry["dtype"], entry["shape"]
        begin, end = entry["data_offsets"]
        chunk = data[base + begin:base + end]
        width = BITS[dtype]
        if width % 8:  # sub-byte elements: carried as bytes, passed through whole
            tensors[name] = Tensor(dtype, shape, np.frombuffer(chunk, dtype=np.uint8))
        else:
            tensors[name] = Tensor(dtype, shape, np.frombuffer(chunk, dtype=CARRIER[width]).reshape(shape))
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    names = sorted(tensors)
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name in names:
        blob = tensors[name].raw()
        header[name] = {"dtype": tensors[name].dtype, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(temp, path)


# ---- the expert count ------------------------------------------------------------------------

OQ_COUNT_KEYS = ("num_local_experts", "text_config.num_local_experts", "num_experts", "text_config.num_experts")
ALL_COUNT_KEYS = OQ_COUNT_KEYS + ("n_routed_experts", "text_config.n_routed_experts", "moe_num_experts", "text_config.moe_num_experts")

# Where oQ's contract is open (the gate's reading points), this adapter's reading, for the prefuse
# stage; ci/candidates/readings/ are this adapter with one of them read the other way.
READING = {
    "count_zero": "refuse",  # a count of 0: refuse | skip (like `a or b`) | stop (0 experts)
    "already_fused": "per-layer",  # per-layer | whole-checkpoint (any fused layer: no-op)
    "extra_experts": "untouched",  # ids >= E: untouched | fuse-keep | fuse-drop
    "outside_layers": "fused",  # mtp.layers.N...: fused | left
    "mixed_dtypes": "untouched",  # untouched | promoted (to F32, as np.stack does)
    "family_layouts": "oq-pattern",  # oq-pattern (oQ's names, [E, 2I, H]) | registry (FAMILIES below)
    "duplicate_ids": "untouched",  # experts.1 and experts.01: untouched | first-name | last-name (fused; the other kept)
}
PREFUSE_COUNT_KEYS = OQ_COUNT_KEYS  # n_routed_experts is not one of oQ's keys


def config_value(config, key):
    """The value at a dotted path through nested objects, or None."""
    holder = config
    for part in key.split("."):
        if not isinstance(holder, dict):
            return None
        holder = holder.get(part)
    return holder


def expert_count(config, keys):
    """The first count present (null is absent) in precedence order, or None for a dense model."""
    for key in keys:
        value = config_value(config, key)
        if value is None:
            continue
        if value == 0 and not isinstance(value, bool) and READING["count_zero"] != "refuse":
            if READING["count_zero"] == "skip":
                continue
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise Refused(f"config.json: '{key}' must be a positive integer expert count, got {json.dumps(value)}")
        return value
    return None


# ---- per layer: find the experts, check them, fuse them ----------------------------------------

def ordered_experts(n):
    """Expert slots in fused order: the numeric expert id."""
    return list(range(n))


def complete_series(slots, n, projections, kind="weight"):
    """{projection: [tensor of expert 0..n-1]} when every slot is filled exactly once, else None."""
    out = {}
    for proj in projections:
        series = []
        for e in range(n):
            found = slots.get((e, proj, kind), [])
            if len(found) != 1:
                return None
            series.append(found[0])
        out[proj] = series
    return out


def uniform(tensors):
    """The one (dtype, shape) all the tensors share, or None."""
    specs = {(t.dtype, t.shape) for t in tensors}
    return specs.pop() if len(specs) == 1 else None


def stack(tensors):
    return Tensor.of(tensors[0].dtype, np.stack([t.bits for t in tensors]))


def fuse_gate_up(gates, ups, n):
    """[E, 2I, H]: each expert's gate rows, then its up rows."""
    order = ordered_experts(n)
    return Tensor.of(gates[0].dtype, np.stack([np.concatenate([gates[e].bits, ups[e].bits], axis=0) for e in order]))


def fuse_down(downs, n):
    return Tensor.of(downs[0].dtype, np.stack([downs[e].bits for e in ordered_experts(n)]))


def layer_fits(series):
    """gate and up [I, H], down [H, I], one dtype: the shape rule of an unquantized layer."""
    g, u, d = uniform(series["gate_proj"]), uniform(series["up_proj"]), uniform(series["down_proj"])
    if g is None or u is None or d is None or not (g == u and g[0] == d[0]):
        return False
    shape = g[1]
    return len(shape) == 2 and d[1] == (shape[1], shape[0])


PROJECTIONS = ("gate_proj", "up_proj", "down_proj")
DECODER_LAYER = re.compile(r"^(?:.+\.)?(?:model|language_model)\.layers\.\d+\.[^.]+$")
# transformers v5 fuses Mixtral's block_sparse_moe experts under mlp.experts.
FUSED_CONTAINER = {"mixtral": ("block_sparse_moe", "mlp")}


def prefuse_family(config):
    """(per-expert names, orientation, container rename) the prefuse reads and writes."""
    if READING["family_layouts"] == "oq-pattern":
        return PROJECTIONS, "rows", None
    for key in ("model_type", "text_config.model_type"):
        value = config_value(config, key)
        if isinstance(value, str) and value in FAMILIES:
            return FAMILIES[value][0], FAMILIES[value][1], FUSED_CONTAINER.get(value)
    return PROJECTIONS, "rows", None


def prefuse_layers(weights, names):
    """Per layer prefix: {(expert, projection, "weight"): [tensors]} and the (name, expert, projection) triples."""
    alternatives = "|".join(re.escape(n) for n in names)
    pattern = re.compile(rf"^(?P<prefix>.+)\.experts\.(?P<e>\d+)\.(?P<proj>{alternatives})\.weight$")
    layers = defaultdict(lambda: (defaultdict(list), []))
    for name in weights:
        m = pattern.match(name)
        if m:
            slots, members = layers[m["prefix"]]
            slots[(int(m["e"]), m["proj"], "weight")].append(weights[name])
            members.append((name, int(m["e"]), m["proj"]))
    return layers


def promoted(series):
    """The layer's weights as F32 when they mix dtypes (np.stack's promotion), else as they are."""
    if len({t.dtype for ts in series.values() for t in ts}) == 1:
        return series
    return {p: [Tensor.of("F32", to_float32(t).view(np.uint32)) for t in ts] for p, ts in series.items()}


def fused_name(prefix, container):
    if container and (prefix == container[0] or prefix.endswith("." + container[0])):
        prefix = prefix[: len(prefix) - len(container[0])] + container[1]
    return prefix


def prefuse(weights, config):
    """oQ's prefuse: the weight dict with every complete per-expert layer fused."""
    n = expert_count(config, PREFUSE_COUNT_KEYS)
    if not n:
        return weights
    if READING["already_fused"] == "whole-checkpoint" and any(k.endswith((".experts.gate_up_proj", ".experts.down_proj")) for k in weights):
        return weights
    names, orientation, container = prefuse_family(config)
    out = dict(weights)
    for prefix, (slots, members) in prefuse_layers(weights, names).items():
        if READING["outside_layers"] == "left" and not DECODER_LAYER.match(prefix):
            continue
        target = fused_name(prefix, container)
        gate_up, down = f"{target}.experts.gate_up_proj", f"{target}.experts.down_proj"
        if gate_up in weights or down in weights or f"{prefix}.experts.gate_up_proj" in weights or f"{prefix}.experts.down_proj" in weights:
            continue  # already fused
        ids = {key[0] for key in slots}
        if any(i >= n for i in ids) and READING["extra_experts"] == "untouched":
            continue  # an id >= E: left as it is
        kept = set()  # duplicates read one way: the other tensor stays as it is
        if READING["duplicate_ids"] != "untouched":
            for (e, proj, kind), found in list(slots.items()):
                if len(found) > 1:
                    spelled = sorted(name for name, i, p in members if i == e and p == proj)
                    chosen = spelled[0] if READING["duplicate_ids"] == "first-name" else spelled[-1]
                    slots[(e, proj, kind)] = [weights[chosen]]
                    kept.update(x for x in spelled if x != chosen)
        series = complete_series(slots, n, names)
        if series is None or not set(range(n)) <= ids:
            continue  # incomplete: left for the loader to refuse
        series = dict(zip(PROJECTIONS, (series[p] for p in names)))
        if READING["mixed_dtypes"] == "promoted":
            series = promoted(series)
        if not layer_fits(series):
            continue  # inconsistent shapes or dtypes
        for name, e, _ in members:
            if (e < n or READING["extra_experts"] == "fuse-drop") and name not in kept:
                del out[name]
        if orientation == "rows":
            out[gate_up] = fuse_gate_up(series["gate_proj"], series["up_proj"], n)
            out[down] = fuse_down(series["down_proj"], n)
        else:  # stored transposed: [E, H, 2I] (gate columns first) and [E, I, H]
            out[gate_up] = Tensor.of(series["gate_proj"][0].dtype, np.stack([np.concatenate([g.bits.T, u.bits.T], axis=1) for g, u in zip(series["gate_proj"], series["up_proj"])]))
            out[down] = Tensor.of(series["down_proj"][0].dtype, np.stack([d.bits.T for d in series["down_proj"]]))
    return out


# ---- FP8 block dequantization ---------------------------------------------------------------

def e4m3_table():
    codes = np.arange(256)
    sign = np.where(codes & 0x80, -1.0, 1.0)
    exp, man = (codes >> 3) & 0xF, codes & 0x7
    value = np.where(exp == 0, man * 2.0 ** -9, (1 + man / 8.0) * 2.0 ** (exp - 7.0)) * sign
    return np.where((codes & 0x7F) == 0x7F, np.nan, value).astype(np.float32)


def to_float32(t):
    if t.dtype == "F32":
        return t.bits.view(np.float32)
    if t.dtype == "BF16":
        return (t.bits.astype(np.uint32) << 16).view(np.float32)
    if t.dtype == "F16":
        return t.bits.view(np.float16).astype(np.float32)
    raise Refused(f"scale dtype {t.dtype} is not F32, BF16 or F16")


def to_bf16_bits(x):
    """Round float32 to bf16, to nearest even; every NaN becomes 0x7FC0."""
    u = x.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(x), np.uint16(0x7FC0), rounded)


ACTIVATION_SCALES = (".input_scale", ".activation_scale", ".output_scale", ".k_scale", ".v_scale")


def quantization_config(config):
    for holder in (config, config.get("text_config")):
        if isinstance(holder, dict) and isinstance(holder.get("quantization_config"), dict):
            return holder["quantization_config"]
    return None


def dequant(weights, config):
    q = quantization_config(config)
    if q is None or q.get("quant_method") != "fp8":
        raise Refused("config.json: the dequant stages need quantization_config.quant_method 'fp8'")
    if q.get("fmt", "e4m3") != "e4m3":
        raise Refused(f"config.json: FP8 format {q.get('fmt')!r} is not e4m3")
    block = q.get("weight_block_size", [128, 128])
    table = e4m3_table()
    out = {}
    for name, t in weights.items():
        if name.endswith("_scale_inv") or name.endswith(ACTIVATION_SCALES):
            base = weights.get(name[:-len("_scale_inv")]) if name.endswith("_scale_inv") else None
            if name.endswith("_scale_inv") and (base is None or not base.dtype.startswith("F8_")):
                raise Refused(f"{name}: a scale without an FP8 weight")
            continue
        if t.dtype != "F8_E4M3":
            if t.dtype.startswith("F8_"):
                raise Refused(f"{name}: {t.dtype} weights are not e4m3")
            out[name] = t
            continue
        scale = weights.get(f"{name}_scale_inv")
        if scale is None:
            raise Refused(f"{name}: an FP8 weight without {name}_scale_inv")
        if len(t.shape) != 2:
            raise Refused(f"{name}: FP8 weights must be 2-D")
        rows, cols = t.shape
        bm, bn = (rows, cols) if block is None else block
        grid = (-(-rows // bm), -(-cols // bn))
        if scale.shape != grid:
            raise Refused(f"{name}_scale_inv: shape {list(scale.shape)} is not the block grid {list(grid)}")
        factors = np.repeat(np.repeat(to_float32(scale), bm, axis=0), bn, axis=1)[:rows, :cols]
        out[name] = Tensor.of("BF16", to_bf16_bits(table[t.bits] * factors))
    return out


# ---- the switch_mlp layout (every family of the layout table) ---------------------------------

# What each family's MLX loader ends with, read from its sanitize (mlx-lm d78bf58, mlx-vlm
# 9b13f52): model_type -> (per-expert names of gate, up, down or None; fused orientation;
# the stacked module; its names of gate, up, down; a container the loader moves it to; whether
# the loader defines a split of its fused tensors).
W_NAMES = ("w1", "w3", "w2")
MLX_NAMES = PROJECTIONS
DEFAULT_FAMILY = (PROJECTIONS, "rows", "switch_mlp", MLX_NAMES, None, True)
FAMILIES = {
    "mixtral": (W_NAMES, "rows", "switch_mlp", MLX_NAMES, None, True),
    "phimoe": (W_NAMES, "rows", "switch_mlp", MLX_NAMES, None, True),
    "minimax": (W_NAMES, "rows", "switch_mlp", MLX_NAMES, None, True),
    "minimax_m2": (W_NAMES, "rows", "switch_mlp", MLX_NAMES, None, True),
    "arctic": (W_NAMES, "rows", "switch_mlp", MLX_NAMES, None, True),
    "lfm2_moe": (W_NAMES, "rows", "switch_mlp", MLX_NAMES, None, True),
    # kimi_linear.py: block_sparse_moe.experts.* -> mlp.switch_mlp.*
    "kimi_linear": (W_NAMES, "rows", "switch_mlp", MLX_NAMES, ("block_sparse_moe", "mlp"), True),
    "qwen3_vl_moe": (PROJECTIONS, "columns", "switch_mlp", MLX_NAMES, None, True),
    "qwen3_vl_moe_text": (PROJECTIONS, "columns", "switch_mlp", MLX_NAMES, None, True),
    # llama4.py, dots1.py, afmoe.py, gpt_oss.py: their SwitchGLU is named `experts`.
    "llama4": (PROJECTIONS, "columns", "experts", MLX_NAMES, None, True),
    "llama4_text": (PROJECTIONS, "columns", "experts", MLX_NAMES, None, True),
    "dots1": (PROJECTIONS, "rows", "experts", MLX_NAMES, None, True),
    "afmoe": (PROJECTIONS, "rows", "experts", MLX_NAMES, None, True),
    # gpt_oss.py splits its interleaved fused tensors itself, on load.
    "gpt_oss": (PROJECTIONS, "rows", "experts", MLX_NAMES, None, False),
    # gemma4_text.py: {L}.experts.gate_up_proj split on axis -2 into {L}.experts.switch_glu.*
    "gemma4": (PROJECTIONS, "rows", "experts.switch_glu", MLX_NAMES, None, True),
    "gemma4_text": (PROJECTIONS, "rows", "experts.switch_glu", MLX_NAMES, None, True),
    # nemotron_h.py: no gate; up_proj -> switch_mlp.fc1, down_proj -> switch_mlp.fc2.
    "nemotron_h": ((None, "up_proj", "down_proj"), "rows", "switch_mlp", (None, "fc1", "fc2"), None, False),
}
STACKED_KINDS = ("weight", "scales", "biases")
# Sub-models counted apart (mlx-vlm qwen3_omni_moe): tensor prefix -> config path.
SUB_MODEL_COUNTS = {"qwen3_omni_moe": (("thinker.", "thinker_config.text_config.num_experts"), ("talker.", "talker_config.text_config.num_experts"))}
FAMILY_COUNT_KEYS = {"qwen3_omni_moe": ("thinker_config.text_config.num_experts",), "dbrx": ("ffn_config.moe_num_experts",)}


def model_type_of(config):
    for key in ("model_type", "text_config.model_type"):
        value = config_value(config, key)
        if isinstance(value, str) and (value in FAMILIES or value in SUB_MODEL_COUNTS or value in FAMILY_COUNT_KEYS):
            return value
    return None


def switch_pattern(names, module):
    alternatives = "|".join(re.escape(n) for n in names if n is not None)
    return re.compile(rf"^(?P<prefix>.+?)\.(?:experts\.(?:(?P<e>\d+)\.(?P<proj>{alternatives})\.(?P<kind>[^.]+)"
                      rf"|(?P<fused>gate_up_proj|down_proj)(?P<extra>_bias|_blocks|_scales)?)|{re.escape(module)}\.(?:gate_proj|up_proj|down_proj|fc1|fc2)\.[^.]+)$")


def split_fused(gate_up, down, n, orientation):
    """mlx-vlm's sanitize of an already fused layer: halves of gate_up, down carried over."""
    if len(gate_up.shape) != 3 or len(down.shape) != 3 or gate_up.dtype != down.dtype or gate_up.shape[0] != n:
        return None
    g = gate_up.bits if orientation == "rows" else gate_up.bits.transpose(0, 2, 1)
    d = down.bits if orientation == "rows" else down.bits.transpose(0, 2, 1)
    if g.shape[1] % 2 or d.shape != (n, g.shape[2], g.shape[1] // 2):
        return None
    half = g.shape[1] // 2
    return [Tensor.of(gate_up.dtype, np.ascontiguousarray(a)) for a in (g[:, :half], g[:, half:], d)]


def switch_layer(slots, n, names):
    """The stacked tensors {(projection index, kind): tensor} of a complete per-expert layer, or None."""
    ids = {key[0] for key in slots}
    if not ids <= set(range(n)):
        return None
    present = [(i, p) for i, p in enumerate(names) if p is not None]
    weights = complete_series(slots, n, [p for _, p in present])
    if weights is None:
        return None
    quantized = any(key[2] == "scales" for key in slots)
    if quantized:  # packed weights: each projection uniform, gate and up alike
        specs = [uniform(weights[p]) for _, p in present]
        if None in specs or len({s[0] for s in specs}) != 1 or any(len(s[1]) != 2 for s in specs):
            return None
        if names[0] is not None and specs[0] != specs[1]:
            return None
    elif names[0] is None:  # up [I, H] and down [H, I], one dtype
        u, d = uniform(weights[names[1]]), uniform(weights[names[2]])
        if u is None or d is None or u[0] != d[0] or len(u[1]) != 2 or d[1] != (u[1][1], u[1][0]):
            return None
    elif not layer_fits(dict(zip(PROJECTIONS, (weights[p] for p in names)))):
        return None
    out = {(i, "weight"): stack(weights[p]) for i, p in present}
    for kind in ("scales", "biases"):
        kind_dtypes = set()
        for i, p in present:
            if not any(key[1] == p and key[2] == kind for key in slots):
                continue
            series = complete_series(slots, n, [p], kind)
            if series is None or uniform(series[p]) is None or len(series[p][0].shape) != 2:
                return None
            kind_dtypes.add(series[p][0].dtype)
            out[(i, kind)] = stack(series[p])
        if len(kind_dtypes) > 1:
            return None
    return out


def moved(prefix, container):
    if container is None:
        return prefix
    old, new = container
    return prefix[: -len(old)] + new if prefix.endswith("." + old) else prefix


def switch_mlp(weights, config):
    model_type = model_type_of(config)
    n_all = expert_count(config, ALL_COUNT_KEYS + FAMILY_COUNT_KEYS.get(model_type, ()))
    subs = [(p, expert_count(config, (key,))) for p, key in SUB_MODEL_COUNTS.get(model_type, ())]
    names, orientation, module, mlx_names, container, splits = FAMILIES.get(model_type, DEFAULT_FAMILY)
    pattern = switch_pattern(names, module)
    groups = defaultdict(lambda: {"slots": defaultdict(list), "fused": {}, "extra": False, "stacked": False, "members": []})
    for name in weights:
        m = pattern.match(name)
        if not m:
            continue
        g = groups[m["prefix"]]
        g["members"].append(name)
        if m["e"] is not None:
            g["slots"][(int(m["e"]), m["proj"], m["kind"])].append(weights[name])
        elif m["fused"] is not None:
            if m["extra"] is not None:
                g["extra"] = True
            else:
                g["fused"][m["fused"]] = name
        else:
            g["stacked"] = True
    out, written = dict(weights), set()
    for prefix in sorted(groups):
        g = groups[prefix]
        n = next((count for p, count in subs if prefix.startswith(p) and count is not None), n_all)
        if n is None:
            continue
        target = lambda i, kind="weight": f"{moved(prefix, container)}.{module}.{mlx_names[i]}.{kind}"
        if g["stacked"] or (g["fused"] and g["slots"]):
            continue
        if g["fused"] or g["extra"]:
            if len(g["fused"]) != 2 or g["extra"] or not splits:
                continue
            parts = split_fused(weights[g["fused"]["gate_up_proj"]], weights[g["fused"]["down_proj"]], n, orientation)
            made = None if parts is None else {(i, "weight"): t for i, t in enumerate(parts)}
            consumed = list(g["fused"].values())
        else:
            made = switch_layer(g["slots"], n, names)
            consumed = [m for m in g["members"] if m.rsplit(".", 1)[1] in STACKED_KINDS]
        if made is None:
            continue
        targets = {target(i, kind): t for (i, kind), t in made.items()}
        if any(t in weights or t in written for t in targets):
            continue  # the output names are taken: left alone
        for name in consumed:
            del out[name]
        out.update(targets)
        written.update(targets)
    return out


# ---- the command ------------------------------------------------------------------------------

# Looked up at call time, so a wrapper can replace any function of this module (ci/candidates/broken).
STAGES = {
    "prefuse": lambda w, c: prefuse(w, c),
    "dequant": lambda w, c: dequant(w, c),
    "dequant+prefuse": lambda w, c: prefuse(dequant(w, c), c),
    "switch_mlp": lambda w, c: switch_mlp(w, c),
}


def main():
    return candidate_main("numpy_prefuse", STAGES, read_safetensors, write_safetensors,
                          "numpy implementation of the release gate's stage contracts")


if __name__ == "__main__":
    sys.exit(main())
