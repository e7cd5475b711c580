#!/usr/bin/python3
# Golden data for the convolution ops in src/SharpGrad/Ops/Conv (see tools/golden/calls.py): forward output and the
# gradients of input, weight and bias, for grouped and depthwise convolutions, dilation, per-axis stride and padding,
# unbatched inputs, and transposed convolutions with output padding.
import torch.nn.functional as F

from calls import Suite, inp, normal

s = Suite("conv")


def a(bias=True, **kw):
    return {"input": inp(0), "weight": inp(1), "bias": inp(2) if bias else None, **kw}


# ---- Conv1d ----
s.case("conv1d_basic", lambda x, w, b: F.conv1d(x, w, b), [normal(2, 3, 10), normal(4, 3, 3), normal(4)],
       "functional", "Conv1d", a())
s.case("conv1d_s2_p1_d2", lambda x, w, b: F.conv1d(x, w, b, 2, 1, 2), [normal(2, 2, 11), normal(3, 2, 3), normal(3)],
       "functional", "Conv1d", a(stride=2, padding=1, dilation=2))
s.case("conv1d_groups", lambda x, w: F.conv1d(x, w, None, 1, 1, 1, 2), [normal(2, 4, 9), normal(6, 2, 3)],
       "functional", "Conv1d", a(False, padding=1, groups=2))
s.case("conv1d_depthwise", lambda x, w, b: F.conv1d(x, w, b, 2, 2, 1, 3), [normal(2, 3, 12), normal(6, 1, 5), normal(6)],
       "functional", "Conv1d", a(stride=2, padding=2, groups=3))
s.case("conv1d_unbatched", lambda x, w, b: F.conv1d(x, w, b, 1, 1), [normal(3, 7), normal(2, 3, 3), normal(2)],
       "functional", "Conv1d", a(padding=1))

# ---- Conv2d ----
s.case("conv2d_basic", lambda x, w, b: F.conv2d(x, w, b), [normal(2, 3, 7, 6), normal(4, 3, 3, 3), normal(4)],
       "functional", "Conv2d", a())
s.case("conv2d_s2_p1", lambda x, w, b: F.conv2d(x, w, b, 2, 1), [normal(2, 3, 9, 8), normal(5, 3, 3, 3), normal(5)],
       "functional", "Conv2d", a(stride=2, padding=1))
s.case("conv2d_asym", lambda x, w, b: F.conv2d(x, w, b, (2, 1), (0, 2), (1, 2)),
       [normal(2, 2, 8, 7), normal(3, 2, 3, 2), normal(3)], "functional", "Conv2d",
       a(stride=[2, 1], padding=[0, 2], dilation=[1, 2]))
s.case("conv2d_dilation2_pad2", lambda x, w, b: F.conv2d(x, w, b, 1, 2, 2), [normal(1, 2, 6, 6), normal(3, 2, 3, 3), normal(3)],
       "functional", "Conv2d", a(padding=2, dilation=2))
s.case("conv2d_groups", lambda x, w, b: F.conv2d(x, w, b, 1, 1, 1, 2), [normal(2, 4, 6, 5), normal(6, 2, 3, 3), normal(6)],
       "functional", "Conv2d", a(padding=1, groups=2))
s.case("conv2d_groups_asym", lambda x, w: F.conv2d(x, w, None, (1, 2), (1, 0), 1, 3),
       [normal(2, 6, 7, 8), normal(3, 2, 2, 3)], "functional", "Conv2d", a(False, stride=[1, 2], padding=[1, 0], groups=3))
s.case("conv2d_depthwise", lambda x, w, b: F.conv2d(x, w, b, 1, 1, 1, 4), [normal(2, 4, 6, 6), normal(4, 1, 3, 3), normal(4)],
       "functional", "Conv2d", a(padding=1, groups=4))
s.case("conv2d_depthwise_mult", lambda x, w, b: F.conv2d(x, w, b, 2, 1, 1, 3), [normal(1, 3, 7, 7), normal(6, 1, 3, 3), normal(6)],
       "functional", "Conv2d", a(stride=2, padding=1, groups=3))
s.case("conv2d_unbatched", lambda x, w, b: F.conv2d(x, w, b), [normal(2, 5, 5), normal(3, 2, 2, 2), normal(3)],
       "functional", "Conv2d", a())

# ---- Conv3d ----
s.case("conv3d_basic", lambda x, w, b: F.conv3d(x, w, b), [normal(2, 2, 4, 5, 4), normal(3, 2, 2, 3, 2), normal(3)],
       "functional", "Conv3d", a())
s.case("conv3d_s_p_d", lambda x, w, b: F.conv3d(x, w, b, (2, 1, 2), (1, 0, 1), (1, 2, 1)),
       [normal(1, 2, 6, 6, 5), normal(3, 2, 3, 2, 2), normal(3)], "functional", "Conv3d",
       a(stride=[2, 1, 2], padding=[1, 0, 1], dilation=[1, 2, 1]))
s.case("conv3d_groups", lambda x, w: F.conv3d(x, w, None, 1, 1, 1, 2), [normal(2, 4, 3, 4, 3), normal(4, 2, 3, 3, 3)],
       "functional", "Conv3d", a(False, padding=1, groups=2))
s.case("conv3d_depthwise", lambda x, w, b: F.conv3d(x, w, b, 2, 1, 1, 3), [normal(1, 3, 5, 5, 5), normal(3, 1, 3, 3, 3), normal(3)],
       "functional", "Conv3d", a(stride=2, padding=1, groups=3))

# ---- ConvTranspose1d ----
s.case("convt1d_basic", lambda x, w, b: F.conv_transpose1d(x, w, b), [normal(2, 3, 6), normal(3, 2, 3), normal(2)],
       "functional", "ConvTranspose1d", a())
s.case("convt1d_s2_p1_op1", lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1), [normal(2, 2, 5), normal(2, 3, 4), normal(3)],
       "functional", "ConvTranspose1d", a(stride=2, padding=1, outputPadding=1))
s.case("convt1d_groups_dil", lambda x, w: F.conv_transpose1d(x, w, None, 3, 2, 2, 2, 2), [normal(2, 4, 5), normal(4, 3, 3)],
       "functional", "ConvTranspose1d", a(False, stride=3, padding=2, outputPadding=2, groups=2, dilation=2))
s.case("convt1d_s1_op_by_dilation", lambda x, w, b: F.conv_transpose1d(x, w, b, 1, 0, 1, 1, 2), [normal(3, 5), normal(3, 2, 3), normal(2)],
       "functional", "ConvTranspose1d", a(outputPadding=1, dilation=2))

# ---- ConvTranspose2d ----
s.case("convt2d_basic", lambda x, w, b: F.conv_transpose2d(x, w, b), [normal(2, 3, 4, 5), normal(3, 2, 3, 3), normal(2)],
       "functional", "ConvTranspose2d", a())
s.case("convt2d_s2_p1_op1", lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1), [normal(2, 3, 4, 4), normal(3, 4, 3, 3), normal(4)],
       "functional", "ConvTranspose2d", a(stride=2, padding=1, outputPadding=1))
s.case("convt2d_asym", lambda x, w, b: F.conv_transpose2d(x, w, b, (2, 3), (1, 0), (1, 2), 1, (1, 2)),
       [normal(1, 2, 4, 3), normal(2, 3, 3, 2), normal(3)], "functional", "ConvTranspose2d",
       a(stride=[2, 3], padding=[1, 0], outputPadding=[1, 2], dilation=[1, 2]))
s.case("convt2d_groups", lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 0, 0, 2), [normal(2, 4, 3, 3), normal(4, 3, 2, 2), normal(6)],
       "functional", "ConvTranspose2d", a(stride=2, groups=2))
s.case("convt2d_depthwise", lambda x, w: F.conv_transpose2d(x, w, None, 2, 1, 1, 3), [normal(1, 3, 4, 4), normal(3, 1, 3, 3)],
       "functional", "ConvTranspose2d", a(False, stride=2, padding=1, outputPadding=1, groups=3))
s.case("convt2d_unbatched", lambda x, w, b: F.conv_transpose2d(x, w, b, 1, 1), [normal(2, 4, 4), normal(2, 3, 3, 3), normal(3)],
       "functional", "ConvTranspose2d", a(padding=1))

# ---- ConvTranspose3d ----
s.case("convt3d_basic", lambda x, w, b: F.conv_transpose3d(x, w, b), [normal(2, 2, 3, 2, 3), normal(2, 3, 2, 2, 2), normal(3)],
       "functional", "ConvTranspose3d", a())
s.case("convt3d_s_p_op_groups", lambda x, w: F.conv_transpose3d(x, w, None, (2, 1, 2), (1, 0, 0), (1, 0, 1), 2),
       [normal(1, 4, 3, 2, 3), normal(4, 1, 3, 2, 2)], "functional", "ConvTranspose3d",
       a(False, stride=[2, 1, 2], padding=[1, 0, 0], outputPadding=[1, 0, 1], groups=2))
s.write()
