#!/usr/bin/python3
# Shared part of the golden-data scripts for ops that live one per file (src/SharpGrad/Ops/<family>/<Op>.cs).
#
# A family script (tools/golden/calls_<family>.py) builds a Suite, adds cases and calls write(). Each case says
# how PyTorch computes the op (a Python function of torch tensors) and which SharpGrad call does the same (a method
# on Tensor, a static Tensor method, or a Functional function, with named arguments). The C# test
# tests/SharpGrad.Tests/Golden/GoldenCallTests.cs replays every case by reflection, so adding a golden case needs no
# C# line. Run with the system Python (it has torch and numpy), from anywhere:
#
#     /usr/bin/python3 tools/golden/calls_<family>.py
#
# Output, under tests/golden/calls/<family>/: <case>__<dtype>__in<i>.npy (inputs), __out.npy (forward output),
# __gout.npy (upstream gradient), __grad<i>.npy (gradient of each differentiable input), __const<j>.npy (int64/bool
# arguments such as indices and masks), and manifest.json. Deterministic: inputs come from a generator seeded by the
# case name; re-running rewrites the same bytes.
import json
import os
import shutil
import zlib

import numpy as np
import torch

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DTYPES = {"float64": (np.float64, torch.float64), "float32": (np.float32, torch.float32)}


# ---- input generators: functions of a numpy Generator, returning float64 arrays -----------------------------------
def normal(*shape):
    return lambda r: r.standard_normal(shape)


def uniform(lo, hi, *shape):
    return lambda r: r.uniform(lo, hi, shape)


def positive(*shape):
    return uniform(0.5, 1.5, *shape)


def distinct(*shape):
    """Normal values, all different by at least 1e-3 (ties would make sort/max/topk gradients ambiguous)."""
    def gen(r):
        n = int(np.prod(shape)) if shape else 1
        v = np.sort(r.standard_normal(n))
        v = v + np.arange(n) * 1e-3
        return r.permutation(v).reshape(shape)
    return gen


# ---- argument helpers: how a value reaches the SharpGrad call -------------------------------------------------------
def enum(type_name, value):
    return {"enum": type_name, "value": value}


def inp(i):
    """The i-th (floating-point) input tensor."""
    return {"input": i}


def inps(*idx):
    """A Tensor[] of inputs."""
    return {"inputs": list(idx)}


class Suite:
    def __init__(self, family):
        self.family = family
        self.dir = os.path.join(ROOT, "tests", "golden", "calls", family)
        self.cases = []

    def case(self, name, torch_fn, inputs, kind, method, args=None, self_input=0, consts=None, grad=True,
             output=None, dtypes=("float64", "float32"), rtol32=1e-5, atol32=1e-5, rtol64=1e-10, atol64=1e-10):
        """
        name:     unique case name (file prefix)
        torch_fn: f(*inputs_as_torch, *consts_as_torch) -> tensor (or tuple/list: `output` picks one)
        inputs:   list of generators (float inputs, cast to each dtype; differentiable when grad is true)
        kind:     "method" (inputs[self_input].Method(args)), "static" (Tensor.Method(args)) or "functional" (F.Method(args))
        args:     dict of SharpGrad parameter name -> value (int, float, bool, list of ints, enum(...), inp(i),
                  inps(...), const(j) for consts[j], None for null)
        consts:   list of numpy arrays (int64 indices, bool masks) passed as extra torch arguments and as const(j)
        self_input: for kind "method", the receiver: an input index, or const(j)
        output:   index into a tuple/list result (e.g. 0 = values, 1 = indices of sort/topk), or None
        """
        self.cases.append(dict(name=name, fn=torch_fn, inputs=inputs, kind=kind, method=method, args=args or {},
                               self_input=self_input, consts=consts or [], grad=grad, output=output, dtypes=dtypes,
                               tol={"float32": (rtol32, atol32), "float64": (rtol64, atol64)}))

    def write(self):
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)
        manifest = []
        for c in self.cases:
            for dtype in c["dtypes"]:
                np_t, torch_t = DTYPES[dtype]
                r = np.random.default_rng(zlib.crc32(c["name"].encode("utf-8")))
                xs = [np.asarray(g(r), dtype=np.float64).astype(np_t) for g in c["inputs"]]
                prefix = f"{c['name']}__{dtype}"
                tx = [torch.tensor(x, dtype=torch_t, requires_grad=c["grad"]) for x in xs]
                # Floating-point consts (additive masks) take the case's dtype; int64 and bool ones stay as they are.
                consts = [np.asarray(k).astype(np_t) if np.asarray(k).dtype.kind == "f" else np.asarray(k) for k in c["consts"]]
                tc = [torch.tensor(k) for k in consts]
                y = c["fn"](*tx, *tc)
                if c["output"] is not None:
                    y = y[c["output"]]
                for i, x in enumerate(xs):
                    np.save(os.path.join(self.dir, f"{prefix}__in{i}.npy"), x)
                for j, k in enumerate(consts):
                    k = np.asarray(k)  # bool masks are stored as int64 0/1 (the manifest says which)
                    np.save(os.path.join(self.dir, f"{prefix}__const{j}.npy"), k.astype(np.int64) if k.dtype == bool else k)
                np.save(os.path.join(self.dir, f"{prefix}__out.npy"), y.detach().numpy())
                backward = c["grad"] and y.dtype.is_floating_point
                if backward:
                    gout = np.asarray(r.standard_normal(tuple(y.shape)), dtype=np.float64).astype(np_t)
                    np.save(os.path.join(self.dir, f"{prefix}__gout.npy"), gout)
                    y.backward(torch.tensor(gout))
                    for i, t in enumerate(tx):
                        g = t.grad if t.grad is not None else torch.zeros_like(t)
                        np.save(os.path.join(self.dir, f"{prefix}__grad{i}.npy"), g.numpy())
                rtol, atol = c["tol"][dtype]
                manifest.append({"name": c["name"], "dtype": dtype, "kind": c["kind"], "method": c["method"],
                                 "self": c["self_input"], "args": c["args"], "inputs": len(xs),
                                 "consts": [str(np.asarray(k).dtype) for k in c["consts"]], "output": c["output"], "backward": backward, "rtol": rtol, "atol": atol})
        with open(os.path.join(self.dir, "manifest.json"), "w") as f:
            json.dump({"family": self.family, "cases": manifest}, f, indent=1, sort_keys=True)
        print(f"{self.family}: {len(manifest)} cases written to {os.path.relpath(self.dir, ROOT)}")


def const(j):
    """The j-th const array (int64 or bool) of the case."""
    return {"const": j}
