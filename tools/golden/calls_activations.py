#!/usr/bin/python3
# Golden data for the activation ops in src/SharpGrad/Ops/Activations (see tools/golden/calls.py).
import torch
import torch.nn.functional as F

from calls import Suite, enum, normal

s = Suite("activations")
s.case("gelu", lambda x: F.gelu(x), [normal(3, 4)], "method", "Gelu")
s.case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [normal(2, 5)], "method", "Gelu",
       {"approximate": enum("GeluApproximation", "Tanh")})
s.case("gelu_functional", lambda x: F.gelu(x), [normal(6)], "functional", "Gelu", {"input": {"input": 0}})
s.write()
