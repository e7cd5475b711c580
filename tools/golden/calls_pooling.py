#!/usr/bin/python3
# Golden data for the pooling and resampling ops in src/SharpGrad/Ops/Pooling (see tools/golden/calls.py).
# Max-pooling inputs come from `distinct` so no window has a tie (the gradient of a tie is implementation-defined).
import torch.nn.functional as F

from calls import Suite, distinct, enum, inp, normal

s = Suite("pooling")
X = {"input": inp(0)}


def a(**kw):
    return {**X, **kw}


# ---- max pooling ----
s.case("max1d_k3_s2_p1", lambda x: F.max_pool1d(x, 3, 2, 1), [distinct(2, 3, 9)], "functional", "MaxPool1d",
       a(kernelSize=3, stride=2, padding=1))
s.case("max1d_dil_ceil", lambda x: F.max_pool1d(x, 2, 2, 1, 2, ceil_mode=True), [distinct(2, 2, 8)], "functional",
       "MaxPool1d", a(kernelSize=2, stride=2, padding=1, dilation=2, ceilMode=True))
s.case("max1d_ceil_drop", lambda x: F.max_pool1d(x, 2, 2, 1, ceil_mode=True), [distinct(1, 2, 5)], "functional",
       "MaxPool1d", a(kernelSize=2, stride=2, padding=1, ceilMode=True))
s.case("max2d_fast", lambda x: F.max_pool2d(x, 2), [distinct(2, 3, 6, 8)], "functional", "MaxPool2d", a(kernelSize=2))
s.case("max2d_perdim", lambda x: F.max_pool2d(x, (3, 2), (2, 1), (1, 0), (1, 2)), [distinct(2, 2, 7, 6)],
       "functional", "MaxPool2d", a(kernelSize=[3, 2], stride=[2, 1], padding=[1, 0], dilation=[1, 2]))
s.case("max2d_ceil", lambda x: F.max_pool2d(x, 2, ceil_mode=True), [distinct(1, 2, 5, 7)], "functional",
       "MaxPool2d", a(kernelSize=2, ceilMode=True))
s.case("max2d_ceil_pad", lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [distinct(2, 2, 6, 5)], "functional",
       "MaxPool2d", a(kernelSize=[3], stride=[2], padding=[1], ceilMode=True))
s.case("max2d_unbatched", lambda x: F.max_pool2d(x, 2), [distinct(3, 4, 5)], "functional", "MaxPool2d",
       a(kernelSize=2))
s.case("max3d_k2", lambda x: F.max_pool3d(x, 2), [distinct(1, 2, 4, 4, 5)], "functional", "MaxPool3d", a(kernelSize=2))
s.case("max3d_perdim_ceil", lambda x: F.max_pool3d(x, (3, 2, 2), (2, 2, 1), (1, 1, 0), ceil_mode=True),
       [distinct(2, 1, 5, 4, 3)], "functional", "MaxPool3d",
       a(kernelSize=[3, 2, 2], stride=[2, 2, 1], padding=[1, 1, 0], ceilMode=True))
s.case("max3d_dilation", lambda x: F.max_pool3d(x, 2, 1, 0, (2, 1, 1)), [distinct(1, 2, 5, 3, 3)], "functional",
       "MaxPool3d", a(kernelSize=[2], stride=[1], dilation=[2, 1, 1]))

# ---- average pooling ----
s.case("avg1d_k3_s2_p1", lambda x: F.avg_pool1d(x, 3, 2, 1), [normal(2, 3, 9)], "functional", "AvgPool1d",
       a(kernelSize=3, stride=2, padding=1))
s.case("avg1d_ceil_excl", lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
       [normal(2, 2, 8)], "functional", "AvgPool1d",
       a(kernelSize=3, stride=2, padding=1, ceilMode=True, countIncludePad=False))
s.case("avg1d_ceil_incl", lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True), [normal(1, 2, 8)], "functional",
       "AvgPool1d", a(kernelSize=3, stride=2, padding=1, ceilMode=True))
s.case("avg2d_fast", lambda x: F.avg_pool2d(x, 2, 2, 1), [normal(2, 3, 6, 7)], "functional", "AvgPool2d",
       a(kernelSize=2, stride=2, padding=1))
s.case("avg2d_perdim", lambda x: F.avg_pool2d(x, (3, 2), (2, 1), (1, 1)), [normal(2, 2, 7, 6)], "functional",
       "AvgPool2d", a(kernelSize=[3, 2], stride=[2, 1], padding=[1, 1]))
s.case("avg2d_ceil_excl", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
       [normal(1, 2, 6, 7)], "functional", "AvgPool2d",
       a(kernelSize=3, stride=2, padding=1, ceilMode=True, countIncludePad=False))
s.case("avg2d_ceil_incl", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [normal(1, 2, 6, 7)], "functional",
       "AvgPool2d", a(kernelSize=3, stride=2, padding=1, ceilMode=True))
s.case("avg2d_divisor", lambda x: F.avg_pool2d(x, 2, 1, 1, divisor_override=3), [normal(1, 2, 4, 5)], "functional",
       "AvgPool2d", a(kernelSize=2, stride=1, padding=1, divisorOverride=3))
s.case("avg3d_k2", lambda x: F.avg_pool3d(x, 2), [normal(1, 2, 4, 4, 5)], "functional", "AvgPool3d", a(kernelSize=2))
s.case("avg3d_perdim_ceil_excl",
       lambda x: F.avg_pool3d(x, (3, 2, 2), (2, 2, 1), (1, 1, 0), ceil_mode=True, count_include_pad=False),
       [normal(2, 1, 5, 4, 3)], "functional", "AvgPool3d",
       a(kernelSize=[3, 2, 2], stride=[2, 2, 1], padding=[1, 1, 0], ceilMode=True, countIncludePad=False))

# ---- adaptive pooling ----
s.case("adaptive_avg1d_down", lambda x: F.adaptive_avg_pool1d(x, 3), [normal(2, 3, 7)], "functional",
       "AdaptiveAvgPool1d", a(outputSize=3))
s.case("adaptive_avg1d_up", lambda x: F.adaptive_avg_pool1d(x, 5), [normal(2, 2, 3)], "functional",
       "AdaptiveAvgPool1d", a(outputSize=5))
s.case("adaptive_avg2d", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [normal(2, 2, 7, 5)], "functional",
       "AdaptiveAvgPool2d", a(outputSize=[3, 2]))
s.case("adaptive_avg2d_global", lambda x: F.adaptive_avg_pool2d(x, 1), [normal(2, 3, 4, 4)], "functional",
       "AdaptiveAvgPool2d", a(outputSize=1))
s.case("adaptive_max2d", lambda x: F.adaptive_max_pool2d(x, (3, 2)), [distinct(2, 2, 7, 5)], "functional",
       "AdaptiveMaxPool2d", a(outputSize=[3, 2]))
s.case("adaptive_max2d_up", lambda x: F.adaptive_max_pool2d(x, 4), [distinct(1, 2, 3, 3)], "functional",
       "AdaptiveMaxPool2d", a(outputSize=4))

# ---- interpolation ----
s.case("interp_nearest_1d", lambda x: F.interpolate(x, size=7), [normal(2, 2, 4)], "functional", "Interpolate",
       a(size=[7]))
s.case("interp_nearest_1d_down", lambda x: F.interpolate(x, size=3), [normal(1, 2, 5)], "functional",
       "Interpolate", a(size=[3]))
s.case("interp_nearest_2d_scale", lambda x: F.interpolate(x, scale_factor=(2.0, 1.5)), [normal(1, 2, 3, 4)],
       "functional", "Interpolate", a(scaleFactor=[2.0, 1.5]))
s.case("interp_nearest_3d", lambda x: F.interpolate(x, size=(2, 3, 2)), [normal(1, 1, 3, 5, 4)], "functional",
       "Interpolate", a(size=[2, 3, 2]))
s.case("interp_linear", lambda x: F.interpolate(x, size=7, mode="linear"), [normal(2, 2, 4)], "functional",
       "Interpolate", a(size=[7], mode=enum("InterpolateMode", "Linear")))
s.case("interp_linear_down", lambda x: F.interpolate(x, size=3, mode="linear"), [normal(2, 2, 7)], "functional",
       "Interpolate", a(size=[3], mode=enum("InterpolateMode", "Linear")))
s.case("interp_linear_align", lambda x: F.interpolate(x, size=3, mode="linear", align_corners=True),
       [normal(2, 2, 5)], "functional", "Interpolate",
       a(size=[3], mode=enum("InterpolateMode", "Linear"), alignCorners=True))
s.case("interp_linear_scale", lambda x: F.interpolate(x, scale_factor=1.7, mode="linear"), [normal(1, 2, 5)],
       "functional", "Interpolate", a(scaleFactor=[1.7], mode=enum("InterpolateMode", "Linear")))
s.case("interp_bilinear", lambda x: F.interpolate(x, size=(5, 3), mode="bilinear"), [normal(1, 2, 3, 4)],
       "functional", "Interpolate", a(size=[5, 3], mode=enum("InterpolateMode", "Bilinear")))
s.case("interp_bilinear_align_scale",
       lambda x: F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True), [normal(1, 2, 3, 2)],
       "functional", "Interpolate", a(scaleFactor=[2.0], mode=enum("InterpolateMode", "Bilinear"), alignCorners=True))
s.case("interp_bilinear_scale", lambda x: F.interpolate(x, scale_factor=(1.5, 2.5), mode="bilinear"),
       [normal(2, 1, 4, 3)], "functional", "Interpolate",
       a(scaleFactor=[1.5, 2.5], mode=enum("InterpolateMode", "Bilinear")))
# ceil mode's rule: a last window starting past the input and the left padding is dropped (5 -> 3 windows, not 4)
s.case("avg2d_ceil_drop", lambda x: F.avg_pool2d(x, 2, 2, 1, ceil_mode=True, count_include_pad=False),
       [normal(1, 2, 5, 5)], "functional", "AvgPool2d", a(kernelSize=2, stride=2, padding=1, ceilMode=True,
                                                        countIncludePad=False))
s.case("avg2d_ceil_drop_incl", lambda x: F.avg_pool2d(x, 2, 2, 1, ceil_mode=True), [normal(1, 2, 5, 4)],
       "functional", "AvgPool2d", a(kernelSize=2, stride=2, padding=1, ceilMode=True))
s.write()
