#!/usr/bin/python3
# Golden data for the Bool ops in src/SharpGrad/Ops/Logic (see tools/golden/calls.py).
import numpy as np
import torch

from calls import Suite, const, inp, normal

s = Suite("logic")
rng = np.random.default_rng(7)
mask34 = rng.standard_normal((3, 4)) > 0
mask14 = rng.standard_normal((1, 4)) > 0
ints = rng.integers(-2, 3, (3, 4))
for name, fn in [("gt", torch.gt), ("ge", torch.ge), ("lt", torch.lt), ("le", torch.le), ("eq", torch.eq), ("ne", torch.ne)]:
    # Rounded inputs so that equal elements occur; the second operand broadcasts.
    s.case(f"{name}_broadcast", lambda a, b, fn=fn: fn(a, b),
           [lambda r: np.round(r.standard_normal((3, 4))), lambda r: np.round(r.standard_normal((4,)))],
           "method", name.capitalize(), {"other": inp(1)}, grad=False)
    s.case(f"{name}_int64", lambda k, fn=fn: fn(k, 0), [], "method", name.capitalize(),
           {"value": 0}, consts=[ints], self_input=const(0), grad=False, dtypes=("float64",))
s.case("where", lambda x, y, m: torch.where(m, x, y), [normal(3, 4), normal(3, 4)], "static", "Where",
       {"condition": const(0), "x": inp(0), "y": inp(1)}, consts=[mask34])
s.case("where_broadcast", lambda x, y, m: torch.where(m, x, y), [normal(4), normal(3, 1)], "static", "Where",
       {"condition": const(0), "x": inp(0), "y": inp(1)}, consts=[mask14])
s.case("masked_fill", lambda x, m: x.masked_fill(m, -1.5), [normal(3, 4)], "method", "MaskedFill",
       {"mask": const(0), "value": -1.5}, consts=[mask14])
rounded = lambda *shape: (lambda r: np.round(r.standard_normal(shape)))  # noqa: E731  (zeros occur)
s.case("logical_and", lambda a, b: torch.logical_and(a, b), [rounded(3, 4), rounded(4)], "method", "LogicalAnd",
       {"other": inp(1)}, grad=False)
s.case("logical_xor", lambda a, b: torch.logical_xor(a, b), [rounded(3, 4), rounded(3, 1)], "method", "LogicalXor",
       {"other": inp(1)}, grad=False)
s.case("logical_not", lambda a: torch.logical_not(a), [rounded(2, 5)], "method", "LogicalNot", grad=False)
with_nan = lambda r: np.where(r.standard_normal((3, 4)) > 0.5, np.nan, np.where(r.standard_normal((3, 4)) > 1, np.inf, r.standard_normal((3, 4))))  # noqa: E731
s.case("isnan", lambda x: torch.isnan(x), [with_nan], "method", "IsNan", grad=False)
s.case("isfinite", lambda x: torch.isfinite(x), [with_nan], "method", "IsFinite", grad=False)
s.case("isinf", lambda x: torch.isinf(x), [with_nan], "method", "IsInf", grad=False)
s.write()
