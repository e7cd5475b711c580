#!/usr/bin/python3
# Golden data for the elementwise math ops in src/SharpGrad/Ops/Elementwise (see tools/golden/calls.py):
# trigonometry, rounding, reciprocal/rsqrt/square, log1p/expm1, sign, remainder.
import numpy as np
import torch

from calls import Suite, normal, positive, uniform

s = Suite("math")


def fixed(*values):
    return lambda r: np.array(values, dtype=np.float64)


def away_from_zero(*shape):
    return lambda r: (lambda v: np.copysign(0.1 + np.abs(v), v))(r.standard_normal(shape))


def mixed(*shape):
    """Normal values scaled up, with some exact halves and integers mixed in (rounding's edge cases)."""
    def gen(r):
        v = 3 * r.standard_normal(shape)
        flat = v.reshape(-1)
        k = flat.size // 3
        flat[:k] = np.round(flat[:k] * 2) / 2
        return v
    return gen


s.case("sin", torch.sin, [normal(3, 4)], "method", "Sin")
s.case("sin_large", torch.sin, [uniform(-30, 30, 37)], "method", "Sin")
s.case("cos", torch.cos, [normal(3, 4)], "method", "Cos")
s.case("cos_large", torch.cos, [uniform(-30, 30, 37)], "method", "Cos")
s.case("tan", torch.tan, [uniform(-1.4, 1.4, 4, 5)], "method", "Tan", rtol32=1e-4)
s.case("floor", torch.floor, [mixed(5, 7)], "method", "Floor")
s.case("ceil", torch.ceil, [mixed(5, 7)], "method", "Ceil")
s.case("round", torch.round, [mixed(5, 7)], "method", "Round")
s.case("round_halves", torch.round, [fixed(-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997, -0.49999997, 1e7 + 0.5)],
       "method", "Round")
s.case("sign", torch.sign, [fixed(-2.0, -0.0, 0.0, 1e-30, 3.0, -1e-30)], "method", "Sign")
s.case("sign_normal", torch.sign, [normal(4, 3)], "method", "Sign")
s.case("reciprocal", torch.reciprocal, [away_from_zero(3, 5)], "method", "Reciprocal")
s.case("rsqrt", torch.rsqrt, [positive(3, 5)], "method", "Rsqrt")
s.case("rsqrt_wide", torch.rsqrt, [uniform(1e-3, 1e3, 20)], "method", "Rsqrt")
s.case("square", torch.square, [normal(3, 5)], "method", "Square")
s.case("log1p", torch.log1p, [uniform(-0.9, 5, 4, 6)], "method", "Log1p")
s.case("log1p_tiny", torch.log1p, [uniform(-1e-9, 1e-9, 19)], "method", "Log1p")
s.case("expm1", torch.expm1, [normal(4, 6)], "method", "Expm1")
s.case("expm1_tiny", torch.expm1, [uniform(-1e-9, 1e-9, 19)], "method", "Expm1")
s.case("expm1_wide", torch.expm1, [uniform(-40, 40, 33)], "method", "Expm1", rtol32=1e-5, rtol64=1e-10)
s.case("remainder", torch.remainder, [uniform(-5, 5, 3, 4), uniform(0.5, 2, 3, 4)], "method", "Remainder",
       {"other": {"input": 1}})
s.case("remainder_negative_divisor", torch.remainder, [uniform(-5, 5, 3, 4), uniform(-2, -0.5, 3, 4)], "method", "Remainder",
       {"other": {"input": 1}})
s.case("remainder_broadcast", torch.remainder, [uniform(-5, 5, 2, 3, 4), uniform(0.5, 2, 4)], "method", "Remainder",
       {"other": {"input": 1}})
s.case("remainder_scalar", lambda x: torch.remainder(x, -1.75), [uniform(-5, 5, 11)], "method", "Remainder", {"other": -1.75})
s.write()
