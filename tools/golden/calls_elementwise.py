#!/usr/bin/python3
# Golden data for the elementwise ops in src/SharpGrad/Ops/Elementwise (see tools/golden/calls.py).
import torch

from calls import Suite, normal, uniform

s = Suite("elementwise")
s.case("erf", lambda x: torch.erf(x), [normal(3, 4)], "method", "Erf")
s.case("erf_tails", lambda x: torch.erf(x), [uniform(-5, 5, 40)], "method", "Erf")
s.write()
