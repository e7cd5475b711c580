#!/usr/bin/python3
# Golden data for the functional normalisations of issue 13 in src/SharpGrad/Ops/Normalization (see
# tools/golden/calls.py): LayerNorm, GroupNorm, RmsNorm, InstanceNorm, Normalize.
import torch
import torch.nn.functional as F

from calls import Suite, inp, normal, positive


def rms_norm(x, shape, w=None, eps=None):
    """PyTorch 1.13 has no rms_norm: the formula of PyTorch 2.4's, x / sqrt(mean(x^2) + eps) * w, in torch ops."""
    dims = tuple(range(-len(shape), 0))
    eps = torch.finfo(x.dtype).eps if eps is None else eps
    y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
    return y if w is None else y * w


s = Suite("norm")
s.case("layer_norm", lambda x, w, b: F.layer_norm(x, (5,), w, b), [normal(3, 5), normal(5), normal(5)], "functional", "LayerNorm",
       {"input": inp(0), "normalizedShape": [5], "weight": inp(1), "bias": inp(2)})
s.case("layer_norm_plain", lambda x: F.layer_norm(x, (4,)), [normal(2, 3, 4)], "functional", "LayerNorm",
       {"input": inp(0), "normalizedShape": [4]})
s.case("layer_norm_two_dims", lambda x, w, b: F.layer_norm(x, (3, 4), w, b, eps=1e-3), [normal(2, 3, 4), normal(3, 4), normal(3, 4)],
       "functional", "LayerNorm", {"input": inp(0), "normalizedShape": [3, 4], "weight": inp(1), "bias": inp(2), "eps": 1e-3})
s.case("layer_norm_wide", lambda x, w, b: F.layer_norm(x, (67,), w, b), [normal(5, 67), normal(67), normal(67)], "functional", "LayerNorm",
       {"input": inp(0), "normalizedShape": [67], "weight": inp(1), "bias": inp(2)}, rtol32=1e-4, atol32=1e-4)
s.case("layer_norm_weight_only", lambda x, w: F.layer_norm(x, (6,), w), [normal(4, 6), normal(6)], "functional", "LayerNorm",
       {"input": inp(0), "normalizedShape": [6], "weight": inp(1)})
s.case("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), [normal(2, 4, 3), normal(4), normal(4)], "functional", "GroupNorm",
       {"input": inp(0), "numGroups": 2, "weight": inp(1), "bias": inp(2)})
s.case("group_norm_2d", lambda x: F.group_norm(x, 3, eps=1e-3), [normal(2, 6, 2, 3)], "functional", "GroupNorm",
       {"input": inp(0), "numGroups": 3, "eps": 1e-3})
s.case("rms_norm", lambda x, w: rms_norm(x, (5,), w), [normal(3, 5), normal(5)], "functional", "RmsNorm",
       {"input": inp(0), "normalizedShape": [5], "weight": inp(1)})
s.case("rms_norm_two_dims", lambda x: rms_norm(x, (3, 4), eps=1e-3), [normal(2, 3, 4)], "functional", "RmsNorm",
       {"input": inp(0), "normalizedShape": [3, 4], "eps": 1e-3})
s.case("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [normal(2, 3, 5), normal(3), normal(3)],
       "functional", "InstanceNorm", {"input": inp(0), "weight": inp(1), "bias": inp(2)})
s.case("instance_norm_2d", lambda x: F.instance_norm(x, eps=1e-3), [normal(2, 2, 3, 3)], "functional", "InstanceNorm",
       {"input": inp(0), "eps": 1e-3})
s.case("instance_norm_running", lambda x, w, m, v: F.instance_norm(x, m.detach(), v.detach(), w, use_input_stats=False),
       [normal(2, 3, 4), normal(3), normal(3), positive(3)], "functional", "InstanceNorm",
       {"input": inp(0), "weight": inp(1), "runningMean": inp(2), "runningVar": inp(3), "useInputStats": False})
s.case("normalize", lambda x: F.normalize(x), [normal(3, 4)], "functional", "Normalize", {"input": inp(0)})
s.case("normalize_p1_last", lambda x: F.normalize(x, p=1.0, dim=-1), [normal(2, 3, 4)], "functional", "Normalize",
       {"input": inp(0), "p": 1.0, "dim": -1})
s.case("normalize_p3_dim0", lambda x: F.normalize(x, p=3.0, dim=0), [normal(4, 2)], "functional", "Normalize",
       {"input": inp(0), "p": 3.0, "dim": 0})
s.write()
