#!/usr/bin/python3
# Golden data for F.ScaledDotProductAttention (src/SharpGrad/Ops/Attention), from PyTorch 1.13's plain formula
# softmax(Q K^T * scale + mask) V (1.13 has no fused SDPA; the formula is its definition). See tools/golden/calls.py.
import math

import numpy as np
import torch

from calls import Suite, const, inp, normal


def sdpa(q, k, v, mask=None, causal=False, scale=None):
    s = q @ k.transpose(-2, -1) * (scale if scale is not None else 1 / math.sqrt(q.shape[-1]))
    if causal:
        lq, lk = s.shape[-2], s.shape[-1]
        s = s.masked_fill(~torch.ones(lq, lk, dtype=torch.bool).tril(), float("-inf"))
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
    return torch.softmax(s, dim=-1) @ v


rng = np.random.default_rng(11)
s = Suite("attention")
args = {"query": inp(0), "key": inp(1), "value": inp(2)}
s.case("sdpa", lambda q, k, v: sdpa(q, k, v), [normal(2, 3, 5, 8), normal(2, 3, 7, 8), normal(2, 3, 7, 4)], "functional",
       "ScaledDotProductAttention", args)
s.case("sdpa_causal_long", lambda q, k, v: sdpa(q, k, v, causal=True), [normal(1, 2, 100, 4), normal(1, 2, 100, 4), normal(1, 2, 100, 4)],
       "functional", "ScaledDotProductAttention", dict(args, isCausal=True))
pad = rng.standard_normal((2, 1, 1, 7)) > -0.6
pad[:, :, :, 0] = True  # every row attends something
s.case("sdpa_padding_mask", lambda q, k, v, m: sdpa(q, k, v, m), [normal(2, 2, 5, 4), normal(2, 2, 7, 4), normal(2, 2, 7, 4)],
       "functional", "ScaledDotProductAttention", dict(args, attnMask=const(0)), consts=[pad])
s.case("sdpa_additive_scale", lambda q, k, v, m: sdpa(q, k, v, m, scale=0.3), [normal(3, 70, 4), normal(3, 65, 4), normal(3, 65, 2)],
       "functional", "ScaledDotProductAttention", dict(args, attnMask=const(0), scale=0.3), consts=[rng.standard_normal((70, 65))])
s.write()
