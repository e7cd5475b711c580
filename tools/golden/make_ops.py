#!/usr/bin/python3
# Golden data for SharpGrad's tensor ops, computed by PyTorch.
#
# Run from the repository root with the system Python (it has torch and numpy):
#
#     /usr/bin/python3 tools/golden/make_ops.py
#
# For every case it builds inputs in float64 and float32 from a fixed seed, runs the op in PyTorch,
# backpropagates a fixed random upstream gradient and writes, under tests/golden/ops/:
#   <case>__<dtype>__in0.npy, __in1.npy ...   the inputs
#   <case>__<dtype>__out.npy                  the forward output
#   <case>__<dtype>__gout.npy                 the upstream gradient dL/d(out)   (differentiable cases only)
#   <case>__<dtype>__grad0.npy, __grad1.npy   dL/d(in_i)                        (differentiable cases only)
#   <case>__<dtype>__index.npy                int64 index for index_select / gather
# and manifest.json listing every case with its op and arguments. The output is deterministic: re-running the
# script rewrites the same bytes (stale .npy files in the folder are removed first).
# The float32 reference is PyTorch's float32 result, checked to lie within the test tolerance of the exact one
# (PyTorch float64 on the same inputs); the few cases marked exact32 use the exact one rounded to float32.
# tests/SharpGrad.Tests/Golden/GoldenOpsTests.cs replays every case against SharpGrad.

import json
import os
import zlib

import numpy as np
import torch

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT_DIR = os.path.join(ROOT, "tests", "golden", "ops")

DTYPES = {"float64": (np.float64, torch.float64), "float32": (np.float32, torch.float32)}


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode("utf-8")))


# ---- input generators (all float64; the float32 case casts them) ------------------------------------------------

def normal(shape):
    return lambda r: r.standard_normal(shape)


def uniform(lo, hi, shape):
    return lambda r: r.uniform(lo, hi, shape)


def away_from(points, gap, lo, hi, shape):
    """Uniform in [lo, hi) but at least `gap` away from each of `points` (kinks of abs, relu, clamp ...)."""
    def gen(r):
        x = r.uniform(lo, hi, shape)
        for _ in range(1000):
            bad = np.zeros(x.shape, dtype=bool)
            for p in points:
                bad |= np.abs(x - p) < gap
            if not bad.any():
                return x
            x[bad] = r.uniform(lo, hi, int(bad.sum()))
        raise RuntimeError("could not draw inputs away from the kinks")
    return gen


def nonzero(lo, hi, shape):
    """Random sign times a magnitude in [lo, hi): safe as a divisor, and away from the kink of |x|."""
    return lambda r: r.choice([-1.0, 1.0], size=shape) * r.uniform(lo, hi, shape)


def distinct(shape):
    """A random permutation of well-separated values (gaps >= 0.08): no ties for max / min / argmax."""
    def gen(r):
        n = int(np.prod(shape))
        return ((r.permutation(n) - n / 2) * 0.1 + r.uniform(0.0, 0.02, n)).reshape(shape)
    return gen


def fixed(values, shape=None):
    def gen(r):
        a = np.array(values, dtype=np.float64)
        return a.reshape(shape) if shape is not None else a
    return gen


def pair_apart(shape_a, shape_b, gap=0.1):
    """Two inputs whose broadcast difference is at least `gap` everywhere (no ties for maximum / minimum)."""
    def gen(r):
        a = r.standard_normal(shape_a)
        for _ in range(1000):
            b = r.standard_normal(shape_b)
            if (np.abs(a - b) >= gap).all():
                return [a, b]
        raise RuntimeError("could not draw separated inputs")
    return gen


# ---- the cases -----------------------------------------------------------------------------------------------------

CASES = []


def case(name, op, inputs, fn, args=None, backward=True, index=None, exact32=False):
    """
    inputs: a list of generators (one per input) or one generator returning the list of inputs.
    exact32: take the float32 reference from PyTorch in float64 (on the same float32 inputs, rounded to float32)
    instead of PyTorch's float32 kernels, for the few cases where those are themselves off by more than the tolerance.
    """
    assert all(c["name"] != name for c in CASES), name
    CASES.append(dict(name=name, op=op, inputs=inputs, fn=fn, args=args or {}, backward=backward, index=index,
                      exact32=exact32))


# elementwise arithmetic with broadcasting
BROADCAST_SHAPES = {"b1": ([3, 4], [4]), "b2": ([3, 1], [1, 4]), "b3": ([2, 3, 4], [3, 1])}
for tag, (sa, sb) in BROADCAST_SHAPES.items():
    case(f"add_{tag}", "add", [normal(sa), normal(sb)], lambda a, b: a + b)
    case(f"sub_{tag}", "sub", [normal(sa), normal(sb)], lambda a, b: a - b)
    case(f"mul_{tag}", "mul", [normal(sa), normal(sb)], lambda a, b: a * b)
    case(f"div_{tag}", "div", [normal(sa), nonzero(0.5, 2.0, sb)], lambda a, b: a / b)

# unary
case("neg", "neg", [normal([3, 4])], lambda x: -x)
case("exp", "exp", [uniform(-2, 2, [3, 4])], torch.exp)
case("log", "log", [uniform(0.2, 3, [3, 4])], torch.log)
case("sqrt", "sqrt", [uniform(0.2, 3, [3, 4])], torch.sqrt)
case("pow_scalar", "pow_scalar", [uniform(0.2, 3, [3, 4])], lambda x: torch.pow(x, 2.5), args={"exponent": 2.5})
case("pow_scalar_neg", "pow_scalar", [uniform(0.2, 3, [3, 4])], lambda x: torch.pow(x, -1.5), args={"exponent": -1.5})
case("pow_scalar_int", "pow_scalar", [nonzero(0.2, 2, [3, 4])], lambda x: torch.pow(x, 3.0), args={"exponent": 3.0})
case("pow_tensor", "pow_tensor", [uniform(0.2, 3, [3, 4]), uniform(-2, 3, [3, 4])], torch.pow)
case("pow_tensor_b1", "pow_tensor", [uniform(0.2, 3, [3, 4]), uniform(-2, 3, [4])], torch.pow)
case("abs", "abs", [nonzero(0.1, 2, [3, 4])], torch.abs)
case("clamp", "clamp", [away_from([-0.5, 0.8], 0.05, -2, 2, [4, 5])], lambda x: torch.clamp(x, -0.5, 0.8),
     args={"min": -0.5, "max": 0.8})
case("clamp_min", "clamp", [away_from([-0.5], 0.05, -2, 2, [4, 5])], lambda x: torch.clamp(x, min=-0.5),
     args={"min": -0.5, "max": None})
case("clamp_max", "clamp", [away_from([0.8], 0.05, -2, 2, [4, 5])], lambda x: torch.clamp(x, max=0.8),
     args={"min": None, "max": 0.8})
case("relu", "relu", [away_from([0.0], 0.05, -2, 2, [4, 5])], torch.relu)
case("leaky_relu", "leaky_relu", [away_from([0.0], 0.05, -2, 2, [4, 5])],
     lambda x: torch.nn.functional.leaky_relu(x, 0.2), args={"slope": 0.2})
case("sigmoid", "sigmoid", [uniform(-4, 4, [3, 4])], torch.sigmoid)
case("tanh", "tanh", [uniform(-3, 3, [3, 4])], torch.tanh)
case("heaviside", "heaviside", [fixed([-2.0, -0.5, 0.0, 0.25, 3.0, 0.0, -1e-3, 1e-3], [2, 4])],
     lambda x: torch.heaviside(x, torch.tensor(0.5, dtype=x.dtype)), args={"value": 0.5}, backward=False)

# softmax family
case("softmax_d1", "softmax", [normal([3, 5])], lambda x: torch.softmax(x, 1), args={"dim": 1})
case("softmax_3d_d1", "softmax", [normal([2, 3, 4])], lambda x: torch.softmax(x, 1), args={"dim": 1})
case("softmax_3d_d0", "softmax", [normal([2, 3, 4])], lambda x: torch.softmax(x, 0), args={"dim": 0})
case("softmax_t05", "softmax_t", [normal([2, 3, 4])], lambda x: torch.softmax(x / 0.5, -1),
     args={"dim": -1, "temperature": 0.5})
case("softmax_t3", "softmax_t", [normal([3, 5])], lambda x: torch.softmax(x / 3.0, 0),
     args={"dim": 0, "temperature": 3.0})
case("log_softmax_d1", "log_softmax", [normal([3, 5])], lambda x: torch.log_softmax(x, 1), args={"dim": 1})
case("log_softmax_3d_d0", "log_softmax", [normal([2, 3, 4])], lambda x: torch.log_softmax(x, 0), args={"dim": 0})
case("logsumexp_d1", "logsumexp", [normal([3, 5])], lambda x: torch.logsumexp(x, 1, keepdim=False),
     args={"dim": 1, "keepdim": False})
case("logsumexp_3d_d0_keep", "logsumexp", [normal([2, 3, 4])], lambda x: torch.logsumexp(x, 0, keepdim=True),
     args={"dim": 0, "keepdim": True})
case("logsumexp_3d_dm1", "logsumexp", [normal([2, 3, 4])], lambda x: torch.logsumexp(x, -1, keepdim=False),
     args={"dim": -1, "keepdim": False})

# extreme inputs: forward and gradients must stay finite
EXTREME_ROWS = [[1e4, -1e4, 0.0, 100.0, -100.0],
                [-1e4, -1e4 + 1.0, -1e4 - 2.0, -100.0 - 1e4, -1e4 + 0.5],
                [1e4, 1e4, -1e4, 100.0, -100.0]]
case("sigmoid_extreme", "sigmoid", [fixed([-1e4, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 1e4])], torch.sigmoid)
case("softmax_extreme", "softmax", [fixed(EXTREME_ROWS)], lambda x: torch.softmax(x, 1), args={"dim": 1})
case("softmax_extreme_d0", "softmax", [fixed(EXTREME_ROWS)], lambda x: torch.softmax(x, 0), args={"dim": 0})
case("log_softmax_extreme", "log_softmax", [fixed(EXTREME_ROWS)], lambda x: torch.log_softmax(x, 1), args={"dim": 1})
# PyTorch's float32 logsumexp backward is exp(x - lse) * g with lse ~ 1e4, where float32 spacing is ~1e-3: its
# gradient is off by up to ~4e-4 relative (e.g. 0.179163 for the exact 0.179201). The float32 reference is therefore
# the exact value (PyTorch float64 on the same inputs) rounded to float32; see exact32 above.
case("logsumexp_extreme", "logsumexp", [fixed(EXTREME_ROWS)], lambda x: torch.logsumexp(x, 1, keepdim=False),
     args={"dim": 1, "keepdim": False}, exact32=True)
case("logsumexp_extreme_d0_keep", "logsumexp", [fixed(EXTREME_ROWS)], lambda x: torch.logsumexp(x, 0, keepdim=True),
     args={"dim": 0, "keepdim": True}, exact32=True)

# reductions
case("sum_all", "sum_all", [normal([3, 4])], lambda x: x.sum())
case("sum_d1", "sum_dim", [normal([2, 3, 4])], lambda x: x.sum(1, keepdim=False), args={"dim": 1, "keepdim": False})
case("sum_dm1_keep", "sum_dim", [normal([2, 3, 4])], lambda x: x.sum(-1, keepdim=True), args={"dim": -1, "keepdim": True})
case("mean_all", "mean_all", [normal([3, 4])], lambda x: x.mean())
case("mean_d0", "mean_dim", [normal([2, 3, 4])], lambda x: x.mean(0, keepdim=False), args={"dim": 0, "keepdim": False})
case("mean_d1_keep", "mean_dim", [normal([2, 3, 4])], lambda x: x.mean(1, keepdim=True), args={"dim": 1, "keepdim": True})
case("amax_d1", "amax", [distinct([2, 3, 4])], lambda x: torch.amax(x, 1, keepdim=False), args={"dim": 1, "keepdim": False})
case("amax_d2_keep", "amax", [distinct([2, 3, 4])], lambda x: torch.amax(x, 2, keepdim=True), args={"dim": 2, "keepdim": True})
case("amin_d0", "amin", [distinct([2, 3, 4])], lambda x: torch.amin(x, 0, keepdim=False), args={"dim": 0, "keepdim": False})
case("amin_d1_keep", "amin", [distinct([2, 3, 4])], lambda x: torch.amin(x, 1, keepdim=True), args={"dim": 1, "keepdim": True})
case("max_all", "max_all", [distinct([3, 4])], lambda x: x.max())
case("min_all", "min_all", [distinct([3, 4])], lambda x: x.min())
case("argmax_d1", "argmax", [distinct([3, 5])], lambda x: torch.argmax(x, 1), args={"dim": 1, "keepdim": False},
     backward=False)
case("argmax_3d_d0", "argmax", [distinct([2, 3, 4])], lambda x: torch.argmax(x, 0), args={"dim": 0, "keepdim": False},
     backward=False)
case("argmax_3d_d2_keep", "argmax", [distinct([2, 3, 4])], lambda x: torch.argmax(x, 2, keepdim=True),
     args={"dim": 2, "keepdim": True}, backward=False)

# matmul
MATMUL_SHAPES = {"2x2": ([3, 4], [4, 5]), "1x2": ([4], [4, 5]), "2x1": ([3, 4], [4]), "1x1": ([4], [4]),
                 "3x2": ([2, 3, 4], [4, 5]), "4x3": ([2, 1, 3, 4], [3, 4, 2])}
for tag, (sa, sb) in MATMUL_SHAPES.items():
    case(f"matmul_{tag}", "matmul", [normal(sa), normal(sb)], torch.matmul)

# shape ops
case("transpose_02", "transpose", [normal([2, 3, 4])], lambda x: x.transpose(0, 2), args={"dim0": 0, "dim1": 2})
case("permute", "permute", [normal([2, 3, 4])], lambda x: x.permute(2, 0, 1), args={"dims": [2, 0, 1]})
case("reshape", "reshape", [normal([2, 3, 4])], lambda x: x.reshape(4, -1), args={"shape": [4, -1]})
case("reshape_3d", "reshape", [normal([3, 4])], lambda x: x.reshape(2, 3, 2), args={"shape": [2, 3, 2]})
case("flatten_12", "flatten", [normal([2, 3, 4])], lambda x: x.flatten(1, 2), args={"start": 1, "end": 2})
case("flatten_all", "flatten", [normal([2, 3, 2])], lambda x: x.flatten(0, -1), args={"start": 0, "end": -1})
case("squeeze_d1", "squeeze", [normal([3, 1, 4])], lambda x: x.squeeze(1), args={"dim": 1})
case("squeeze_noop", "squeeze", [normal([3, 4])], lambda x: x.squeeze(0), args={"dim": 0})
case("unsqueeze_d1", "unsqueeze", [normal([3, 4])], lambda x: x.unsqueeze(1), args={"dim": 1})
case("unsqueeze_dm1", "unsqueeze", [normal([3, 4])], lambda x: x.unsqueeze(-1), args={"dim": -1})
case("cat_d0", "cat", [normal([2, 3]), normal([4, 3])], lambda a, b: torch.cat([a, b], 0), args={"dim": 0})
case("cat_3d_d1", "cat", [normal([2, 3, 4]), normal([2, 2, 4])], lambda a, b: torch.cat([a, b], 1), args={"dim": 1})
case("stack_d0", "stack", [normal([3, 4]), normal([3, 4])], lambda a, b: torch.stack([a, b], 0), args={"dim": 0})
case("stack_d2", "stack", [normal([3, 4]), normal([3, 4])], lambda a, b: torch.stack([a, b], 2), args={"dim": 2})
case("narrow_d1", "narrow", [normal([4, 5])], lambda x: x.narrow(1, 1, 3), args={"dim": 1, "start": 1, "length": 3})
case("narrow_3d_d1", "narrow", [normal([2, 6, 3])], lambda x: x.narrow(1, 2, 3), args={"dim": 1, "start": 2, "length": 3})
case("index_select_d0", "index_select", [normal([5, 3])], None, args={"dim": 0}, index=[4, 0, 4, 2])
case("index_select_3d_d1", "index_select", [normal([2, 5, 3])], None, args={"dim": 1}, index=[1, 1, 3])
case("gather_d1", "gather", [normal([3, 4])], None, args={"dim": 1}, index=[[3, 0], [1, 1], [2, 3]])
case("gather_3d_d0", "gather", [normal([2, 3, 4])], None, args={"dim": 0},
     index=[[[1, 0, 1], [0, 0, 1]], [[1, 1, 0], [0, 1, 1]]])
case("expand_col", "expand", [normal([3, 1])], lambda x: x.expand(3, 4), args={"shape": [3, 4]})
case("expand_lead", "expand", [normal([4])], lambda x: x.expand(2, 3, 4), args={"shape": [2, 3, 4]})
case("expand_mid", "expand", [normal([1, 3, 1])], lambda x: x.expand(2, 3, 5), args={"shape": [2, 3, 5]})
case("maximum_b1", "maximum", pair_apart([3, 4], [4]), torch.maximum)
case("minimum_b1", "minimum", pair_apart([3, 4], [4]), torch.minimum)
case("maximum_same", "maximum", pair_apart([3, 4], [3, 4]), torch.maximum)
case("minimum_same", "minimum", pair_apart([3, 4], [3, 4]), torch.minimum)


# ---- generation ----------------------------------------------------------------------------------------------------

def save(name, array):
    # np.save writes a version 1.0 header for these small arrays. np.array(order="C") keeps 0-d arrays 0-d
    # (np.ascontiguousarray would turn them into shape (1,)).
    np.save(os.path.join(OUT_DIR, name), np.array(array, order="C", copy=True))


def run_torch(fn, inputs, tt, backward, gout):
    """Runs fn on torch copies of the numpy inputs in dtype tt; returns (out, [grads]) as numpy arrays."""
    xs = [torch.tensor(a, dtype=tt, requires_grad=backward) for a in inputs]
    y = fn(*xs)
    grads = []
    if backward:
        y.backward(torch.tensor(gout, dtype=tt))
        for i, x in enumerate(xs):
            assert x.grad is not None, f"input {i} got no gradient"
            grads.append(x.grad.numpy())
    return y.detach().numpy(), grads


def excess(actual, exact, rtol):
    """max |a - e| / (atol + rtol |e|) with atol = rtol, the test's criterion (<= 1 passes)."""
    a, e = np.asarray(actual, np.float64), np.asarray(exact, np.float64)
    return float(np.max(np.abs(a - e) / (rtol + rtol * np.abs(e)))) if a.size else 0.0


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in os.listdir(OUT_DIR):
        if f.endswith(".npy"):
            os.remove(os.path.join(OUT_DIR, f))

    manifest = []
    for c in CASES:
        r = rng_for(c["name"])
        gens = c["inputs"]
        base = gens(r) if callable(gens) else [g(r) for g in gens]
        base = [np.asarray(b, dtype=np.float64) for b in base]
        index = np.asarray(c["index"], dtype=np.int64) if c["index"] is not None else None

        fn = c["fn"]
        if c["op"] == "index_select":
            fn = (lambda d, idx: lambda x: torch.index_select(x, d, torch.from_numpy(idx)))(c["args"]["dim"], index)
        elif c["op"] == "gather":
            fn = (lambda d, idx: lambda x: torch.gather(x, d, torch.from_numpy(idx)))(c["args"]["dim"], index)

        # one upstream-gradient draw, shaped like the output, for both dtypes (cast for float32)
        with torch.no_grad():
            out_shape = tuple(fn(*[torch.tensor(b) for b in base]).shape)
        gout_base = rng_for(c["name"] + "/gout").standard_normal(out_shape)

        for dname, (npt, tt) in DTYPES.items():
            prefix = f"{c['name']}__{dname}"
            inputs = [b.astype(npt) for b in base]
            gout = gout_base.astype(npt)
            out, grads = run_torch(fn, inputs, tt, c["backward"], gout)
            reference = "torch-" + dname
            if dname == "float32":
                # The exact answer for these float32 inputs: PyTorch in float64 on the same values, rounded to float32.
                out64, grads64 = run_torch(fn, inputs, torch.float64, c["backward"], gout)
                if out.dtype != np.int64:
                    out64 = out64.astype(npt)
                grads64 = [g.astype(npt) for g in grads64]
                worst = max([excess(out, out64, 1e-5)] + [excess(g, e, 1e-5) for g, e in zip(grads, grads64)])
                if c["exact32"]:
                    out, grads, reference = out64, grads64, "torch-float64-rounded-to-float32"
                else:
                    # Guard: PyTorch's own float32 result must be within the test's float32 tolerance of the exact
                    # one, or the golden data would test PyTorch's rounding rather than SharpGrad's.
                    assert worst <= 0.5, f"{prefix}: torch float32 is {worst:.2f} tolerances from exact; mark exact32"
            assert out.dtype == np.int64 or np.isfinite(out).all(), f"{prefix}: non-finite output"
            assert all(np.isfinite(g).all() for g in grads), f"{prefix}: non-finite gradient"

            for i, a in enumerate(inputs):
                save(f"{prefix}__in{i}.npy", a)
            if index is not None:
                save(f"{prefix}__index.npy", index)
            save(f"{prefix}__out.npy", out)
            if c["backward"]:
                save(f"{prefix}__gout.npy", gout)
                for i, g in enumerate(grads):
                    save(f"{prefix}__grad{i}.npy", g)
            manifest.append({
                "name": c["name"],
                "dtype": dname,
                "op": c["op"],
                "inputs": len(base),
                "input_shapes": [list(b.shape) for b in base],
                "output_shape": list(out.shape),
                "output_dtype": str(out.dtype),
                "backward": c["backward"],
                "index": f"{prefix}__index.npy" if index is not None else None,
                "reference": reference,
                "args": c["args"],
            })

    with open(os.path.join(OUT_DIR, "manifest.json"), "w", encoding="utf-8", newline="\n") as f:
        # one case per line, so that a diff of a regeneration reads case by case
        f.write('{"generator": "tools/golden/make_ops.py",\n "torch": %s,\n "cases": [\n' % json.dumps(torch.__version__))
        f.write(",\n".join("  " + json.dumps(m, sort_keys=True) for m in manifest))
        f.write("\n ]\n}\n")

    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    print(f"{len(manifest)} cases ({len(CASES)} ops x {len(DTYPES)} dtypes), {total} bytes in {OUT_DIR}")


if __name__ == "__main__":
    main()
