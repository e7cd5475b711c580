#!/usr/bin/python3
# Golden data for SharpGrad's single-input layers of issue 14 that have no golden test of their own as layers
# (normalisation, activation, pooling, resampling and container layers), computed by PyTorch 1.13 in float64, and one
# state dict written by PyTorch to a safetensors file. Run with the system Python:
#
#     /usr/bin/python3 tools/golden/make_layers.py
#
# For each case, tests/golden/layers/<case>/ holds: param.<name>.npy (the layer's state dict under PyTorch's names,
# parameters drawn at random so that their gradients are not those of the default initialisation), in.x.npy,
# out.y.npy, w.y.npy (fixed random weights: the loss is sum(y * w)), grad.in.x.npy, grad.param.<name>.npy and
# case.json (the module and its constructor arguments). The case "composite_safetensors" instead stores its state dict
# as state.safetensors, written here byte by byte from the safetensors format (the safetensors package is not
# installed), to show that a file saved from PyTorch loads into SharpGrad by name.
# tests/SharpGrad.Tests/NN/LayerGoldenTests.cs builds the same SharpGrad layer, loads the state and compares everything.
import json
import os
import shutil
import struct
import zlib

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "golden", "layers")


class RMSNorm(nn.Module):
    """PyTorch 1.13 has no nn.RMSNorm: PyTorch 2.4's formula, x / sqrt(mean(x^2) + eps) * weight, eps = machine eps."""

    def __init__(self, shape, eps=None):
        super().__init__()
        self.shape = tuple(shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.shape))

    def forward(self, x):
        dims = tuple(range(-len(self.shape), 0))
        eps = torch.finfo(x.dtype).eps if self.eps is None else self.eps
        return x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps) * self.weight


class Composite(nn.Module):
    """ModuleList and ModuleDict around a 2-layer bidirectional LSTM: parameter names like blocks.0.weight_ih_l1_reverse."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.LSTM(4, 5, num_layers=2, bidirectional=True), nn.Linear(10, 6)])
        self.heads = nn.ModuleDict({"norm": nn.LayerNorm(6), "out": nn.Linear(6, 3)})

    def forward(self, x):
        h = self.blocks[0](x)[0]
        h = torch.nn.functional.gelu(self.blocks[1](h))
        return self.heads["out"](self.heads["norm"](h))


def save(d, name, t):
    np.save(os.path.join(d, name + ".npy"), t.detach().numpy())


def save_safetensors(path, tensors):
    """The safetensors layout: u64 header length, JSON header (dtype, shape, data_offsets), little-endian raw data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().numpy())
        dtype = {np.dtype("float64"): "F64", np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# (case, module name in SharpGrad, kwargs as SharpGrad reads them, PyTorch constructor, input shape[, input scale])
cases = [
    ("layernorm", "LayerNorm", dict(normalized_shape=[3, 4]), lambda: nn.LayerNorm([3, 4]), (2, 5, 3, 4)),
    ("layernorm_noaffine", "LayerNorm", dict(normalized_shape=[6], elementwise_affine=False, eps=1e-3),
     lambda: nn.LayerNorm(6, eps=1e-3, elementwise_affine=False), (4, 6)),
    ("groupnorm", "GroupNorm", dict(num_groups=2, num_channels=6), lambda: nn.GroupNorm(2, 6), (2, 6, 3, 2)),
    ("groupnorm_noaffine", "GroupNorm", dict(num_groups=3, num_channels=3, affine=False),
     lambda: nn.GroupNorm(3, 3, affine=False), (2, 3, 5)),
    ("rmsnorm", "RMSNorm", dict(normalized_shape=[5]), lambda: RMSNorm([5]), (3, 2, 5)),
    ("rmsnorm_eps", "RMSNorm", dict(normalized_shape=[2, 3], eps=1e-2), lambda: RMSNorm([2, 3], 1e-2), (4, 2, 3)),
    ("instancenorm1d", "InstanceNorm1d", dict(num_features=3), lambda: nn.InstanceNorm1d(3), (2, 3, 7)),
    ("instancenorm1d_affine", "InstanceNorm1d", dict(num_features=3, affine=True), lambda: nn.InstanceNorm1d(3, affine=True), (2, 3, 5)),
    ("instancenorm2d_affine", "InstanceNorm2d", dict(num_features=2, affine=True, eps=1e-3),
     lambda: nn.InstanceNorm2d(2, eps=1e-3, affine=True), (2, 2, 3, 4)),
    ("instancenorm2d", "InstanceNorm2d", dict(num_features=4), lambda: nn.InstanceNorm2d(4), (1, 4, 3, 3)),
    ("gelu", "GELU", dict(), lambda: nn.GELU(), (3, 7)),
    ("gelu_tanh", "GELU", dict(approximate="tanh"), lambda: nn.GELU(approximate="tanh"), (3, 7)),
    ("silu", "SiLU", dict(), lambda: nn.SiLU(), (3, 7)),
    ("elu", "ELU", dict(alpha=0.7), lambda: nn.ELU(alpha=0.7), (3, 7)),
    ("selu", "SELU", dict(), lambda: nn.SELU(), (3, 7)),
    ("mish", "Mish", dict(), lambda: nn.Mish(), (3, 7)),
    ("hardsigmoid", "Hardsigmoid", dict(), lambda: nn.Hardsigmoid(), (3, 4, 5), 4.0),
    ("hardswish", "Hardswish", dict(), lambda: nn.Hardswish(), (3, 4, 5), 4.0),
    ("softsign", "Softsign", dict(), lambda: nn.Softsign(), (3, 7)),
    ("softplus", "Softplus", dict(beta=2.0, threshold=3.0), lambda: nn.Softplus(beta=2.0, threshold=3.0), (3, 7), 2.0),
    ("hardtanh", "Hardtanh", dict(min_val=-0.5, max_val=1.5), lambda: nn.Hardtanh(-0.5, 1.5), (3, 7), 1.5),
    ("prelu_single", "PReLU", dict(), lambda: nn.PReLU(), (2, 3, 4)),
    ("prelu_channels", "PReLU", dict(num_parameters=3, init=0.1), lambda: nn.PReLU(3, init=0.1), (2, 3, 4)),
    ("unflatten", "Unflatten", dict(dim=1, sizes=[2, 3]), lambda: nn.Unflatten(1, (2, 3)), (4, 6)),
    ("maxpool1d", "MaxPool1d", dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
     lambda: nn.MaxPool1d(3, 2, 1, 2, ceil_mode=True), (2, 3, 10)),
    ("maxpool3d", "MaxPool3d", dict(kernel_size=[2, 3, 2], stride=[1, 2, 2], padding=[1, 1, 0], ceil_mode=True),
     lambda: nn.MaxPool3d((2, 3, 2), (1, 2, 2), (1, 1, 0), ceil_mode=True), (1, 2, 3, 5, 4)),
    ("maxpool2d_rect", "MaxPool2d", dict(kernel_size=[2, 3], stride=[2, 1], padding=[1, 1], dilation=[1, 2], ceil_mode=True),
     lambda: nn.MaxPool2d((2, 3), (2, 1), (1, 1), (1, 2), ceil_mode=True), (2, 2, 5, 7)),
    ("avgpool2d_rect", "AvgPool2d", dict(kernel_size=[3, 2], stride=[1, 2], padding=[1, 0], ceil_mode=True, count_include_pad=False),
     lambda: nn.AvgPool2d((3, 2), (1, 2), (1, 0), ceil_mode=True, count_include_pad=False), (2, 3, 4, 5)),
    ("avgpool1d", "AvgPool1d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
     lambda: nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 3, 8)),
    ("avgpool3d", "AvgPool3d", dict(kernel_size=[3, 2, 2], stride=[2, 1, 2], padding=[1, 1, 0]),
     lambda: nn.AvgPool3d((3, 2, 2), (2, 1, 2), (1, 1, 0)), (1, 2, 5, 3, 4)),
    ("adaptiveavgpool1d", "AdaptiveAvgPool1d", dict(output_size=[4]), lambda: nn.AdaptiveAvgPool1d(4), (2, 3, 7)),
    ("adaptiveavgpool2d", "AdaptiveAvgPool2d", dict(output_size=[3, 2]), lambda: nn.AdaptiveAvgPool2d((3, 2)), (2, 2, 5, 7)),
    ("adaptivemaxpool2d", "AdaptiveMaxPool2d", dict(output_size=[2, 3]), lambda: nn.AdaptiveMaxPool2d((2, 3)), (2, 2, 5, 7)),
    ("upsample_nearest", "Upsample", dict(scale_factor=[2.0, 3.0], mode="nearest"), lambda: nn.Upsample(scale_factor=(2.0, 3.0)), (1, 2, 3, 2)),
    ("upsample_bilinear_align", "Upsample", dict(size=[5, 4], mode="bilinear", align_corners=True),
     lambda: nn.Upsample(size=(5, 4), mode="bilinear", align_corners=True), (2, 1, 3, 3)),
    ("upsample_linear", "Upsample", dict(scale_factor=[1.5], mode="linear", align_corners=False),
     lambda: nn.Upsample(scale_factor=1.5, mode="linear", align_corners=False), (2, 3, 4)),
    ("composite_safetensors", "Composite", dict(), Composite, (5, 2, 4)),
]

if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)
for case, module, kw, ctor, shape, *scale in cases:
    d = os.path.join(OUT, case)
    os.makedirs(d)
    seed = zlib.crc32(case.encode("utf-8"))
    torch.manual_seed(seed)
    m = ctor()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape) * 0.5 + (0.5 if p.dim() == 1 else 0.0))
    g = torch.Generator().manual_seed(seed + 1)
    # A wider input where the layer has flat parts or a threshold, so that every branch is exercised.
    x = (torch.randn(*shape, generator=g) * (scale[0] if scale else 1.0)).requires_grad_(True)
    y = m(x)
    w = torch.randn(y.shape, generator=g)
    (y * w).sum().backward()
    if module == "Composite":
        save_safetensors(os.path.join(d, "state.safetensors"), m.state_dict())
    else:
        for name, p in m.state_dict().items():
            save(d, "param." + name, p)
    for name, p in m.named_parameters():
        save(d, "grad.param." + name, p.grad)
    save(d, "in.x", x)
    save(d, "out.y", y)
    save(d, "w.y", w)
    save(d, "grad.in.x", x.grad)
    meta = {"module": module, "kwargs": kw}
    if module == "Hardsigmoid":
        # PyTorch 1.13's hardsigmoid backward multiplies by the float32 constant 1.0f/6.0f even in float64 (relative
        # error 3e-8); SharpGrad uses 1/6 in the tensor's dtype, so this case compares to 1e-7 relative.
        meta["rtol"] = 1e-7
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
print(f"{len(cases)} cases written to {os.path.relpath(OUT, ROOT)}")
