#!/usr/bin/python3
# Golden data for the activations of issue 13 in src/SharpGrad/Ops/Activations (see tools/golden/calls.py):
# SiLU, ELU, SELU, Mish, hard sigmoid/swish, softsign, softplus, hardtanh, PReLU.
import torch
import torch.nn.functional as F

from calls import Suite, inp, normal, uniform

s = Suite("activations2")
s.case("silu", F.silu, [normal(3, 4)], "method", "Silu")
s.case("silu_wide", F.silu, [uniform(-40, 40, 25)], "method", "Silu")
s.case("silu_functional", F.silu, [normal(6)], "functional", "Silu", {"input": inp(0)})
s.case("elu", F.elu, [normal(3, 4)], "method", "Elu")
s.case("elu_alpha", lambda x: F.elu(x, alpha=0.5), [normal(3, 4)], "method", "Elu", {"alpha": 0.5})
s.case("elu_functional", lambda x: F.elu(x, alpha=2.0), [uniform(-5, 5, 9)], "functional", "Elu", {"input": inp(0), "alpha": 2.0})
s.case("selu", F.selu, [uniform(-4, 4, 4, 5)], "method", "Selu")
s.case("selu_functional", F.selu, [normal(6)], "functional", "Selu", {"input": inp(0)})
s.case("mish", F.mish, [normal(3, 4)], "method", "Mish")
s.case("mish_wide", F.mish, [uniform(-30, 30, 31)], "method", "Mish")
s.case("mish_functional", F.mish, [normal(5)], "functional", "Mish", {"input": inp(0)})
# PyTorch 1.13's hardsigmoid backward multiplies by the float32 constant 1.0f/6.0f in float64 too (a relative error of
# 3e-8); SharpGrad uses 1/6 in the tensor's dtype, so the float64 gradients agree to 1e-7 only.
s.case("hardsigmoid", F.hardsigmoid, [uniform(-5, 5, 4, 6)], "method", "HardSigmoid", rtol64=1e-7)
s.case("hardsigmoid_functional", F.hardsigmoid, [uniform(-5, 5, 7)], "functional", "HardSigmoid", {"input": inp(0)},
       rtol64=1e-7)
s.case("hardswish", F.hardswish, [uniform(-5, 5, 4, 6)], "method", "HardSwish")
s.case("hardswish_functional", F.hardswish, [uniform(-5, 5, 7)], "functional", "HardSwish", {"input": inp(0)})
s.case("softsign", F.softsign, [normal(3, 4)], "method", "Softsign")
s.case("softsign_functional", F.softsign, [uniform(-9, 9, 8)], "functional", "Softsign", {"input": inp(0)})
s.case("softplus", F.softplus, [uniform(-30, 30, 4, 6)], "method", "Softplus")
s.case("softplus_beta", lambda x: F.softplus(x, beta=2, threshold=5), [uniform(-6, 6, 4, 6)], "method", "Softplus",
       {"beta": 2.0, "threshold": 5.0})
s.case("softplus_functional", lambda x: F.softplus(x, beta=0.5, threshold=3), [uniform(-9, 9, 12)], "functional", "Softplus",
       {"input": inp(0), "beta": 0.5, "threshold": 3.0})
s.case("hardtanh", F.hardtanh, [uniform(-2, 2, 4, 6)], "method", "Hardtanh")
s.case("hardtanh_bounds", lambda x: F.hardtanh(x, -2.0, 0.5), [uniform(-3, 3, 4, 6)], "method", "Hardtanh",
       {"min": -2.0, "max": 0.5})
s.case("hardtanh_functional", lambda x: F.hardtanh(x, 0.0, 6.0), [uniform(-2, 8, 10)], "functional", "Hardtanh",
       {"input": inp(0), "min": 0.0, "max": 6.0})
s.case("prelu_channels", F.prelu, [normal(2, 3, 4), uniform(0, 0.5, 3)], "functional", "Prelu",
       {"input": inp(0), "weight": inp(1)})
s.case("prelu_single", F.prelu, [normal(2, 3, 2, 2), uniform(0, 0.5, 1)], "functional", "Prelu",
       {"input": inp(0), "weight": inp(1)})
s.case("prelu_2d", F.prelu, [normal(5, 4), uniform(0, 0.5, 4)], "functional", "Prelu",
       {"input": inp(0), "weight": inp(1)})
s.write()
