#!/usr/bin/env python3
"""Broken candidate: returns only `.weight` tensors and the fused ones, dropping every other tensor
(Qwen3.5's linear-attention A_log and dt_bias, biases, DeepSeek's router correction bias...).
The prefuse must return the whole weight dict. The gate must reject it with missing-tensors."""

from _adapter import numpy_prefuse as base

correct_prefuse = base.prefuse


def prefuse(weights, config):
    return {k: v for k, v in correct_prefuse(weights, config).items() if k.endswith((".weight", "_proj"))}


base.prefuse = prefuse
raise SystemExit(base.main())
