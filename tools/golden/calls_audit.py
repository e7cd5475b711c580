#!/usr/bin/python3
# Golden data for argument variants of Round-2 ops that the family scripts did not cover (the coverage audit,
# docs/COVERAGE.md): LogicalOr, the functional Gelu with the tanh approximation, Var with correction 2, default-stride
# and padded include-pad pooling, and Interpolate with alignCorners in the size/scale form not covered elsewhere.
# See tools/golden/calls.py for the format.
import numpy as np
import torch
import torch.nn.functional as F

from calls import Suite, distinct, enum, inp, normal

s = Suite("audit")
rounded = lambda *shape: (lambda r: np.round(r.standard_normal(shape)))  # noqa: E731  (zeros occur)
s.case("logical_or", lambda a, b: torch.logical_or(a, b), [rounded(3, 4), rounded(4)], "method", "LogicalOr",
       {"other": inp(1)}, grad=False)
s.case("gelu_tanh_functional", lambda x: F.gelu(x, approximate="tanh"), [normal(4, 5)], "functional", "Gelu",
       {"input": inp(0), "approximate": enum("GeluApproximation", "Tanh")})
s.case("var_correction2", lambda x: torch.var(x, dim=1, correction=2), [normal(3, 6)], "method", "Var",
       {"dim": 1, "correction": 2})
s.case("std_correction0_all", lambda x: torch.std(x, unbiased=False), [normal(3, 5)], "method", "Std", {"correction": 0})
s.case("max1d_default_stride", lambda x: F.max_pool1d(x, 3), [distinct(2, 3, 10)], "functional", "MaxPool1d",
       {"input": inp(0), "kernelSize": 3})
s.case("max2d_int_dilation_pad", lambda x: F.max_pool2d(x, 3, 2, 1, 2), [distinct(1, 2, 7, 8)], "functional", "MaxPool2d",
       {"input": inp(0), "kernelSize": 3, "stride": 2, "padding": 1, "dilation": 2})
s.case("avg3d_pad_incl_ceil", lambda x: F.avg_pool3d(x, 3, 2, 1, ceil_mode=True), [normal(1, 2, 5, 4, 6)], "functional",
       "AvgPool3d", {"input": inp(0), "kernelSize": 3, "stride": 2, "padding": 1, "ceilMode": True})
s.case("avg1d_perdim_list", lambda x: F.avg_pool1d(x, 4, 3, 2, count_include_pad=False), [normal(2, 2, 9)], "functional",
       "AvgPool1d", {"input": inp(0), "kernelSize": [4], "stride": [3], "padding": [2], "countIncludePad": False})
s.case("interp_bilinear_align_size", lambda x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True),
       [normal(2, 1, 3, 4)], "functional", "Interpolate",
       {"input": inp(0), "size": [5, 7], "mode": enum("InterpolateMode", "Bilinear"), "alignCorners": True})
s.case("interp_linear_align_scale", lambda x: F.interpolate(x, scale_factor=2.5, mode="linear", align_corners=True),
       [normal(2, 3, 4)], "functional", "Interpolate",
       {"input": inp(0), "scaleFactor": [2.5], "mode": enum("InterpolateMode", "Linear"), "alignCorners": True})
s.case("interp_nearest_scale_down", lambda x: F.interpolate(x, scale_factor=0.5, mode="nearest"), [normal(1, 2, 6, 5)],
       "functional", "Interpolate", {"input": inp(0), "scaleFactor": [0.5]})
s.write()
