#!/usr/bin/env python3
"""Side oracle for the fixture generator (`moe-prefuse gen`), with transformers and torch.

Not part of `npm test` (transformers and torch are not on every machine); run it with the
project's venv, after `npm run build`:
  .venv/bin/python ci/oracles/fixtures_transformers.py

1. Every family, per expert and fused: transformers loads the checkpoint with no missing and no
   unexpected weight (the key names and shapes are the family's real ones), and the model loaded
   from the per-expert checkpoint equals the one loaded from the fused checkpoint (transformers'
   own fusion agrees with ours). qwen3_vl_moe has no per-expert form in transformers: its fused
   tensors are compared with the per-expert file stacked by hand, transposed as stored.
2. Block FP8: every E4M3 weight and scale equals torch's quantization of the 16-bit checkpoint of
   the same spec: scale = (amax / 448).to(scale dtype), codes = (w.float() / scale).clamp(-448,
   448).to(float8_e4m3fn), block by block with partial edge blocks.
"""

import json
import os
import subprocess
import sys
import tempfile
import warnings

import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText
from transformers.utils import logging

warnings.filterwarnings("ignore")
logging.set_verbosity_error()
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BIN = os.path.join(ROOT, "bin", "moe-prefuse.js")
FAMILIES = ["qwen3_5_moe", "qwen3_moe", "qwen3_vl_moe", "mixtral", "deepseek_v3", "olmoe"]
failures = []


def gen(out, family, *args):
    subprocess.run(["node", BIN, "gen", family, out, "--experts", "4", *args], check=True, capture_output=True)
    return out


def load(path):
    cfg = AutoConfig.from_pretrained(path)
    cls = AutoModelForImageTextToText if hasattr(cfg, "text_config") else AutoModelForCausalLM
    model, info = cls.from_pretrained(path, output_loading_info=True)
    return model.state_dict(), info


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def weights(path):
    out = {}
    for f in sorted(os.listdir(path)):
        if f.endswith(".safetensors"):
            out.update(load_file(os.path.join(path, f)))
    return out


with tempfile.TemporaryDirectory() as work:
    for family in FAMILIES:
        per = gen(os.path.join(work, family + "-per"), family)
        fused = gen(os.path.join(work, family + "-fused"), family, "--variant", "fused")
        b, info = load(fused)
        check(not info["missing_keys"] and not info["unexpected_keys"], f"{family} fused: transformers loads every weight, no extra")
        if family == "qwen3_vl_moe":
            pe = weights(per)
            text = json.load(open(os.path.join(per, "config.json")))["text_config"]
            for layer in range(text["num_hidden_layers"]):
                p = f"model.language_model.layers.{layer}.mlp.experts"
                gu = torch.stack([torch.cat([pe[f"{p}.{e}.gate_proj.weight"], pe[f"{p}.{e}.up_proj.weight"]], 0) for e in range(4)])
                dn = torch.stack([pe[f"{p}.{e}.down_proj.weight"] for e in range(4)])
                check(torch.equal(b[f"{p}.gate_up_proj"], gu) and torch.equal(b[f"{p}.down_proj"], dn), f"{family} layer {layer}: fused (stored transposed) = per-expert stacked")
            continue
        a, info = load(per)
        check(not info["missing_keys"] and not info["unexpected_keys"], f"{family} per-expert: transformers loads every weight, no extra")
        differ = [k for k in a if not torch.equal(a[k], b[k])]
        check(not differ, f"{family}: transformers' fusion of the per-expert checkpoint = our fused checkpoint {differ[:3]}")

    for family, args, block in [("qwen3_5_moe", ["--hidden", "40", "--intermediate", "24"], ["--fp8-block", "16x16"]), ("deepseek_v3", ["--hidden", "300", "--intermediate", "130"], [])]:
        plain = weights(gen(os.path.join(work, family + "-plain"), family, *args))
        qdir = gen(os.path.join(work, family + "-fp8"), family, *args, "--fp8", *block)
        q = weights(qdir)
        bm, bn = json.load(open(os.path.join(qdir, "config.json")))["quantization_config"]["weight_block_size"]
        bad = []
        count = 0
        for name, w in q.items():
            if w.dtype != torch.float8_e4m3fn:
                continue
            count += 1
            s = q[name + "_scale_inv"]
            x = plain[name].float()
            m, n = x.shape
            amax = torch.stack([torch.stack([x[i:i + bm, j:j + bn].abs().max() for j in range(0, n, bn)]) for i in range(0, m, bm)])
            scale = (amax / 448.0).to(s.dtype)
            full = scale.float().repeat_interleave(bm, 0).repeat_interleave(bn, 1)[:m, :n]
            codes = (x / full).clamp(-448, 448).to(torch.float8_e4m3fn)
            if not (torch.equal(scale, s) and torch.equal(codes.view(torch.uint8), w.view(torch.uint8))):
                bad.append(name)
        check(count > 0 and not bad, f"{family} FP8 ({count} weights, {s.dtype} scales, {bm}x{bn} blocks): torch's block quantization of the 16-bit checkpoint {bad[:3]}")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
