#!/usr/bin/python3
# Golden data for SharpGrad's convolution layers (Conv1d/2d/3d, ConvTranspose1d/2d/3d), computed by PyTorch 1.13 in
# float64. Run with the system Python:
#
#     /usr/bin/python3 tools/golden/make_conv_layers.py
#
# For each case, tests/golden/conv_layers/<case>/ holds: param.<name>.npy (the layer's state dict under PyTorch's
# names), in.x.npy, out.y.npy, w.y.npy (fixed random weights: the loss is sum(y * w)), grad.in.x.npy and
# grad.param.<name>.npy, and case.json (the module and its constructor arguments). tests/SharpGrad.Tests/NN/
# ConvLayerGoldenTests.cs builds the same SharpGrad layer, loads the state dict by name and compares everything.
import json
import os
import shutil
import zlib

import numpy as np
import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "golden", "conv_layers")


def save(d, name, t):
    np.save(os.path.join(d, name + ".npy"), t.detach().numpy())


cases = [
    ("conv1d_groups", "Conv1d", dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, dilation=1, groups=2), (2, 4, 9)),
    ("conv2d_depthwise", "Conv2d", dict(in_channels=3, out_channels=6, kernel_size=3, stride=1, padding=1, dilation=1, groups=3), (2, 3, 5, 6)),
    ("conv2d_nobias", "Conv2d", dict(in_channels=2, out_channels=3, kernel_size=2, stride=2, padding=0, dilation=1, groups=1, bias=False), (1, 2, 6, 5)),
    ("conv3d", "Conv3d", dict(in_channels=2, out_channels=4, kernel_size=2, stride=1, padding=1, dilation=2, groups=2), (1, 2, 4, 3, 4)),
    ("convt1d", "ConvTranspose1d", dict(in_channels=3, out_channels=2, kernel_size=4, stride=2, padding=1, output_padding=1), (2, 3, 5)),
    ("convt2d_groups", "ConvTranspose2d", dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, output_padding=1, groups=2), (1, 4, 3, 4)),
    ("convt2d_dilation", "ConvTranspose2d", dict(in_channels=2, out_channels=2, kernel_size=2, stride=1, padding=0, output_padding=1, dilation=2, bias=False), (2, 2, 3, 3)),
    ("convt3d", "ConvTranspose3d", dict(in_channels=2, out_channels=3, kernel_size=2, stride=2, padding=0, output_padding=1), (1, 2, 2, 3, 2)),
    # One value per spatial dimension (PyTorch's tuples), passed to SharpGrad's int[] constructors.
    ("conv2d_rect", "Conv2d", dict(in_channels=3, out_channels=4, kernel_size=[3, 5], stride=[2, 1], padding=[1, 2], dilation=[1, 2]), (2, 3, 7, 9)),
    ("conv3d_rect", "Conv3d", dict(in_channels=2, out_channels=2, kernel_size=[1, 2, 3], stride=[1, 2, 1], padding=[0, 1, 1], dilation=[1, 1, 2]), (1, 2, 3, 4, 6)),
    ("convt2d_rect", "ConvTranspose2d", dict(in_channels=2, out_channels=3, kernel_size=[2, 3], stride=[2, 1], padding=[0, 1], output_padding=[1, 0], dilation=[1, 2]), (1, 2, 3, 4)),
    ("convt3d_rect", "ConvTranspose3d", dict(in_channels=2, out_channels=2, kernel_size=[2, 1, 3], stride=[1, 2, 2], padding=[1, 0, 1], output_padding=[0, 1, 1]), (1, 2, 3, 2, 3)),
]

if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)
for case, module, kw, shape in cases:
    d = os.path.join(OUT, case)
    os.makedirs(d)
    torch.manual_seed(zlib.crc32(case.encode("utf-8")))
    m = getattr(torch.nn, module)(**kw)
    g = torch.Generator().manual_seed(zlib.crc32(case.encode("utf-8")) + 1)
    x = torch.randn(*shape, generator=g).requires_grad_(True)
    y = m(x)
    w = torch.randn(y.shape, generator=g)
    (y * w).sum().backward()
    for name, p in m.state_dict().items():
        save(d, "param." + name, p)
    for name, p in m.named_parameters():
        save(d, "grad.param." + name, p.grad)
    save(d, "in.x", x)
    save(d, "out.y", y)
    save(d, "w.y", w)
    save(d, "grad.in.x", x.grad)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump({"module": module, "kwargs": kw}, f, indent=1, sort_keys=True)
print(f"{len(cases)} cases written to {os.path.relpath(OUT, ROOT)}")
