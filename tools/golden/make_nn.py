#!/usr/bin/python3
# Golden data for SharpGrad's neural-network layer, losses, optimizers and learning-rate schedules, computed by PyTorch.
#
# Run from the repository root with the system Python (it has torch and numpy):
#
#     /usr/bin/python3 tools/golden/make_nn.py
#
# It writes, under tests/golden/nn/:
#
# 1. Functional layers and losses ("cases" of manifest.json). For every case and dtype (float64, float32), inputs are
#    drawn in float64 from a fixed seed (the float32 case casts them), the op runs in PyTorch and a fixed random upstream
#    gradient is backpropagated:
#      <case>__<dtype>__in0.npy, __in1.npy ...   the inputs, in the order of the SharpGrad call (class-index targets int64)
#      <case>__<dtype>__out.npy                  the forward output
#      <case>__<dtype>__gout.npy                 the upstream gradient dL/d(out)
#      <case>__<dtype>__grad<i>.npy              dL/d(in_i) for every input i listed in "grad" (weights, biases, inputs)
#      <case>__<dtype>__after<i>.npy             input i after the call, for the inputs listed in "mutated" (BatchNorm's
#                                                running mean and variance, updated in place in training mode)
#    The float32 reference is PyTorch's float32 result, checked to lie within half the test tolerance of the exact one
#    (PyTorch float64 on the same float32 inputs); the cases marked exact32 use the exact one rounded to float32.
#
# 2. Optimizer trajectories ("optim"). One fixed problem, per dtype (problem__<dtype>__{x,y,w0,b0}.npy):
#      loss(W, b) = mean((tanh(x W + b) - y)^2) + 0.01 * sum((W*W) * (W*W))
#    with x [8, 5], y [8, 3], W [5, 3], b [3] -- non-quadratic, bounded below. Each optimizer (PyTorch's single-tensor
#    implementation, foreach=False) runs 100 steps of zero_grad / loss.backward() / step() in that dtype; the parameters
#    after steps 1, 10, 50 and 100 are saved as <case>__<dtype>__w.npy [4, 5, 3] and __b.npy [4, 3]. The float32
#    trajectory is checked to lie within half the test tolerance of the float64 trajectory from the same float32
#    starting values, so the golden data does not test float32 rounding noise.
#
# 3. Learning-rate schedules ("sched"): PyTorch's learning rate after 0, 1, ..., 20 epochs (<case>__lr.npy, float64).
#
# tests/SharpGrad.Tests/Golden/GoldenNNTests.cs replays every case against SharpGrad. The output is deterministic:
# re-running the script rewrites the same bytes (stale .npy files in the folder are removed first).

import json
import os
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
warnings.filterwarnings("ignore")  # kl_div's reduction='mean' warning

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT_DIR = os.path.join(ROOT, "tests", "golden", "nn")

DTYPES = {"float64": (np.float64, torch.float64), "float32": (np.float32, torch.float32)}

# The test's tolerances: |actual - expected| <= atol + rtol |expected| (layers and losses, atol = rtol), and
# |actual - expected| <= rtol (|expected| + OPTIM_SCALE) for the optimizer trajectories (see OPTIM_SCALE below).
RTOL = {"float64": 1e-10, "float32": 1e-5}


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode("utf-8")))


# ---- input generators (float64; the float32 case casts them). Each takes the case's random generator. ------------

def normal(shape, scale=1.0):
    return lambda r: scale * r.standard_normal(shape)


def uniform(lo, hi, shape):
    return lambda r: r.uniform(lo, hi, shape)


def distinct(shape):
    """A random permutation of well-separated values (gaps >= 0.08): no ties inside any pooling window."""
    def gen(r):
        n = int(np.prod(shape))
        return ((r.permutation(n) - n / 2) * 0.1 + r.uniform(0.0, 0.02, n)).reshape(shape)
    return gen


def classes(n, c):
    """int64 class indices [n]; n = None gives a 0-d index (unbatched input)."""
    return lambda r: np.asarray(r.integers(0, c, () if n is None else (n,)), dtype=np.int64)


def softmax_rows(shape, zeros=0):
    """Probability rows along the last dimension; with zeros > 0, that many entries are exactly 0 (rows renormalised)."""
    def gen(r):
        p = np.exp(r.standard_normal(shape))
        if zeros:
            flat = p.reshape(-1)
            flat[r.choice(flat.size, zeros, replace=False)] = 0.0
            p = flat.reshape(shape)
        return p / p.sum(axis=-1, keepdims=True)
    return gen


def log_softmax_rows(shape):
    def gen(r):
        x = r.standard_normal(shape)
        return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
    return gen


def fixed(values, dtype=np.float64):
    return lambda r: np.array(values, dtype=dtype)


def positive(lo, hi, shape):
    return uniform(lo, hi, shape)


# ---- the functional cases ------------------------------------------------------------------------------------------

CASES = []


def case(name, op, inputs, fn, grad, args=None, mutated=(), exact32=False):
    """
    inputs: list of generators, one per input of the SharpGrad call, or one generator returning that list.
    grad: indices of the inputs that require gradients (PyTorch computes dL/d(in_i) for them).
    mutated: indices of inputs that the op updates in place (saved after the call).
    exact32: take the float32 reference from PyTorch in float64 (on the same float32 inputs, rounded to float32).
    """
    assert all(c["name"] != name for c in CASES), name
    CASES.append(dict(name=name, op=op, inputs=inputs, fn=fn, grad=list(grad), args=args or {},
                      mutated=list(mutated), exact32=exact32))


# Linear: F.linear(x, w, b), w [out, in]
case("linear_2d", "linear", [normal([4, 5]), normal([3, 5]), normal([3])], F.linear, grad=[0, 1, 2])
case("linear_3d", "linear", [normal([2, 3, 5]), normal([4, 5]), normal([4])], F.linear, grad=[0, 1, 2])
case("linear_nobias", "linear", [normal([4, 5]), normal([3, 5])], F.linear, grad=[0, 1])

# Conv2d: (x shape, w shape, bias?, stride, padding, dilation); a scalar applies to both dimensions.
CONV2D = {
    "conv2d_k3": ([2, 3, 9, 7], [4, 3, 3, 3], True, 1, 0, 1),
    "conv2d_k3_s2_p1": ([2, 3, 9, 7], [4, 3, 3, 3], True, 2, 1, 1),
    "conv2d_k3_p2_d2": ([2, 3, 9, 7], [4, 3, 3, 3], True, 1, 2, 2),
    "conv2d_k3_s2_p2_d2_nobias": ([2, 3, 9, 7], [3, 3, 3, 3], False, 2, 2, 2),
    "conv2d_k5_p2_nobias": ([2, 3, 9, 7], [2, 3, 5, 5], False, 1, 2, 1),
    "conv2d_k5_s2": ([2, 2, 9, 7], [3, 2, 5, 5], True, 2, 0, 1),
    "conv2d_k5_s2_p1_d2": ([1, 2, 11, 10], [2, 2, 5, 5], True, 2, 1, 2),
    "conv2d_1x1": ([2, 3, 5, 4], [4, 3, 1, 1], True, 1, 0, 1),
    # the tuple overload: separate (height, width) stride, padding and dilation, and a non-square kernel
    "conv2d_tuple": ([2, 3, 9, 7], [3, 3, 3, 5], True, (1, 2), (2, 1), (2, 1)),
    "conv2d_tuple_b": ([2, 2, 8, 9], [2, 2, 2, 3], False, (2, 1), (0, 2), (1, 2)),
}
for cname, (xs, ws, has_bias, s, p, d) in CONV2D.items():
    gens = [normal(xs), normal(ws)] + ([normal([ws[0]])] if has_bias else [])
    tup = isinstance(s, tuple)
    pair = (lambda v: list(v)) if tup else (lambda v: v)
    case(cname, "conv2d_tuple" if tup else "conv2d", gens,
         (lambda s, p, d: lambda x, w, b=None: F.conv2d(x, w, b, stride=s, padding=p, dilation=d))(s, p, d),
         grad=list(range(len(gens))), args={"stride": pair(s), "padding": pair(p), "dilation": pair(d), "bias": has_bias})

# Conv1d
CONV1D = {
    "conv1d_k3": ([2, 3, 10], [4, 3, 3], True, 1, 0, 1),
    "conv1d_k3_s2_p1_d2_nobias": ([2, 3, 11], [4, 3, 3], False, 2, 1, 2),
    "conv1d_k5_p2": ([2, 2, 9], [3, 2, 5], True, 1, 2, 1),
    "conv1d_k3_s3_p2": ([3, 2, 10], [2, 2, 3], True, 3, 2, 1),
}
for cname, (xs, ws, has_bias, s, p, d) in CONV1D.items():
    gens = [normal(xs), normal(ws)] + ([normal([ws[0]])] if has_bias else [])
    case(cname, "conv1d", gens,
         (lambda s, p, d: lambda x, w, b=None: F.conv1d(x, w, b, stride=s, padding=p, dilation=d))(s, p, d),
         grad=list(range(len(gens))), args={"stride": s, "padding": p, "dilation": d, "bias": has_bias})

# MaxPool2d (kernel, stride or None = kernel, padding, dilation); distinct inputs: no ties in any window.
MAXPOOL = {
    "maxpool_k2": ([2, 3, 8, 6], 2, None, 0, 1),
    "maxpool_k3_default_stride": ([2, 2, 9, 7], 3, None, 0, 1),
    "maxpool_k3_s2_p1": ([2, 2, 9, 7], 3, 2, 1, 1),
    "maxpool_k2_s1": ([1, 3, 6, 5], 2, 1, 0, 1),
    "maxpool_k3_s1_d2": ([2, 2, 9, 7], 3, 1, 0, 2),
    "maxpool_k3_s2_p1_d2": ([1, 2, 10, 9], 3, 2, 1, 2),
}
for cname, (xs, k, s, p, d) in MAXPOOL.items():
    case(cname, "max_pool2d", [distinct(xs)],
         (lambda k, s, p, d: lambda x: F.max_pool2d(x, k, stride=s, padding=p, dilation=d))(k, s, p, d),
         grad=[0], args={"kernel": k, "stride": s, "padding": p, "dilation": d})

# AvgPool2d with PyTorch's defaults ceil_mode=False, count_include_pad=True
AVGPOOL = {
    "avgpool_k2": ([2, 3, 8, 6], 2, None, 0),
    "avgpool_k3_default_stride": ([2, 2, 9, 7], 3, None, 0),
    "avgpool_k3_s2_p1": ([2, 2, 9, 7], 3, 2, 1),
    "avgpool_k3_s1_p1": ([1, 2, 6, 5], 3, 1, 1),
    "avgpool_k2_s1": ([1, 3, 6, 5], 2, 1, 0),
}
for cname, (xs, k, s, p) in AVGPOOL.items():
    case(cname, "avg_pool2d", [normal(xs)],
         (lambda k, s, p: lambda x: F.avg_pool2d(x, k, stride=s, padding=p))(k, s, p),
         grad=[0], args={"kernel": k, "stride": s, "padding": p})

# BatchNorm: inputs x, running_mean, running_var[, weight, bias]; training mode updates the running statistics in place.
def bn_fn(training, momentum, eps):
    return lambda x, rm, rv, w=None, b=None: F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)


BATCHNORM = {
    "batchnorm_train_2d": ([6, 4], True, True, 0.1, 1e-5),
    "batchnorm_train_4d": ([2, 3, 4, 5], True, True, 0.1, 1e-5),
    "batchnorm_train_4d_noaffine": ([3, 2, 3, 4], True, False, 0.3, 1e-3),
    "batchnorm_eval_2d": ([6, 4], False, True, 0.1, 1e-5),
    "batchnorm_eval_4d": ([2, 3, 4, 5], False, True, 0.1, 1e-5),
    "batchnorm_eval_4d_noaffine": ([2, 3, 3, 2], False, False, 0.1, 1e-3),
}
for cname, (xs, training, affine, momentum, eps) in BATCHNORM.items():
    c = xs[1]
    gens = [lambda r, xs=xs: 1.5 + 2.0 * r.standard_normal(xs), normal([c], 0.5), positive(0.5, 2.0, [c])]
    if affine:
        gens += [lambda r, c=c: 1.0 + 0.3 * r.standard_normal([c]), normal([c], 0.5)]
    case(cname, "batch_norm", gens, bn_fn(training, momentum, eps),
         grad=[0, 3, 4] if affine else [0], mutated=[1, 2],
         args={"training": training, "momentum": momentum, "eps": eps, "affine": affine})


# ---- the losses --------------------------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


def huber_pair(shape, delta):
    """input, target with d = input - target at least 0.05 away from 0 and from +-delta (the kinks)."""
    def gen(r):
        t = r.standard_normal(shape)
        d = r.uniform(-3, 3, shape)
        for _ in range(1000):
            bad = (np.abs(d) < 0.05) | (np.abs(np.abs(d) - delta) < 0.05)
            if not bad.any():
                return [t + d, t]
            d[bad] = r.uniform(-3, 3, int(bad.sum()))
        raise RuntimeError("could not draw Huber inputs away from the kinks")
    return gen


def margin_pair(n, c, margin, p):
    """scores [n, c] (or [c] for n = None) and targets with every hinge margin - x_y + x_i at least 0.05 from 0."""
    def gen(r):
        for _ in range(1000):
            shape = [c] if n is None else [n, c]
            x = r.standard_normal(shape)
            y = np.asarray(r.integers(0, c, () if n is None else (n,)), dtype=np.int64)
            x2, y2 = x.reshape(-1, c), y.reshape(-1)
            h = margin - x2[np.arange(len(y2)), y2][:, None] + x2
            mask = np.ones_like(h, dtype=bool)
            mask[np.arange(len(y2)), y2] = False
            if (np.abs(h[mask]) >= 0.05).all() and (h[mask] > 0).any():
                return [x, y]
        raise RuntimeError("could not draw margin inputs away from the kinks")
    return gen


for red in REDUCTIONS:
    case(f"mse_{red}", "mse_loss", [normal([4, 5]), normal([4, 5])],
         (lambda red: lambda x, t: F.mse_loss(x, t, reduction=red))(red), grad=[0], args={"reduction": red})
    for delta in (1.0, 0.5):
        case(f"huber_d{delta:g}_{red}".replace(".", "p"), "huber_loss", huber_pair([4, 5], delta),
             (lambda red, delta: lambda x, t: F.huber_loss(x, t, reduction=red, delta=delta))(red, delta),
             grad=[0], args={"reduction": red, "delta": delta})

    # cross-entropy: class indices, with and without label smoothing; probabilities; unbatched [C] with a 0-d target
    for ls in (0.0, 0.1):
        tag = "" if ls == 0 else "_ls0p1"
        ce = (lambda red, ls: lambda x, t: F.cross_entropy(x, t, reduction=red, label_smoothing=ls))(red, ls)
        args = {"reduction": red, "label_smoothing": ls}
        case(f"ce_index{tag}_{red}", "cross_entropy", [normal([4, 5], 2.0), classes(4, 5)], ce, grad=[0], args=args)
        case(f"ce_prob{tag}_{red}", "cross_entropy", [normal([4, 5], 2.0), softmax_rows([4, 5])], ce, grad=[0], args=args)
        case(f"ce_unbatched_index{tag}_{red}", "cross_entropy", [normal([5], 2.0), classes(None, 5)], ce, grad=[0], args=args)
        case(f"ce_unbatched_prob{tag}_{red}", "cross_entropy", [normal([5], 2.0), softmax_rows([5])], ce, grad=[0], args=args)

    nll = (lambda red: lambda x, t: F.nll_loss(x, t, reduction=red))(red)
    case(f"nll_{red}", "nll_loss", [log_softmax_rows([4, 5]), classes(4, 5)], nll, grad=[0], args={"reduction": red})
    case(f"nll_unbatched_{red}", "nll_loss", [log_softmax_rows([5]), classes(None, 5)], nll, grad=[0], args={"reduction": red})

    bce = (lambda red: lambda x, t: F.binary_cross_entropy(x, t, reduction=red))(red)
    case(f"bce_soft_{red}", "binary_cross_entropy", [uniform(0.05, 0.95, [4, 5]), uniform(0, 1, [4, 5])], bce,
         grad=[0], args={"reduction": red})
    case(f"bce_hard_{red}", "binary_cross_entropy",
         [uniform(0.05, 0.95, [3, 4]), lambda r: r.integers(0, 2, [3, 4]).astype(np.float64)], bce,
         grad=[0], args={"reduction": red})

    bcel = (lambda red: lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=red))(red)
    case(f"bce_logits_{red}", "binary_cross_entropy_with_logits",
         [fixed([[0.0, 30.0, -30.0, 1.5, -0.25], [-2.0, 0.3, 0.0, 30.0, -30.0], [-30.0, 4.0, -0.7, 2.2, 0.0]]),
          fixed([[0.0, 1.0, 0.0, 0.3, 1.0], [1.0, 0.5, 1.0, 0.0, 1.0], [0.2, 0.0, 0.9, 1.0, 0.6]])], bcel,
         grad=[0], args={"reduction": red})
    case(f"bce_logits_random_{red}", "binary_cross_entropy_with_logits", [normal([4, 5], 3.0), uniform(0, 1, [4, 5])],
         bcel, grad=[0], args={"reduction": red})

    for p in (1, 2):
        for margin in (1.0, 0.5):
            tag = f"p{p}_m{margin:g}".replace(".", "p")
            mm = (lambda red, p, margin: lambda x, t: F.multi_margin_loss(x, t, p=p, margin=margin, reduction=red))(red, p, margin)
            args = {"reduction": red, "p": p, "margin": margin}
            case(f"multi_margin_{tag}_{red}", "multi_margin_loss", margin_pair(5, 4, margin, p), mm, grad=[0], args=args)
        case(f"multi_margin_unbatched_p{p}_{red}", "multi_margin_loss", margin_pair(None, 5, 1.0, p),
             (lambda red, p: lambda x, t: F.multi_margin_loss(x, t, p=p, margin=1.0, reduction=red))(red, p),
             grad=[0], args={"reduction": red, "p": p, "margin": 1.0})

for red in REDUCTIONS + ["batchmean"]:
    case(f"kl_div_{red}", "kl_div", [log_softmax_rows([4, 5]), softmax_rows([4, 5], zeros=4)],
         (lambda red: lambda x, t: F.kl_div(x, t, reduction=red, log_target=False))(red),
         grad=[0], args={"reduction": red, "log_target": False})
    case(f"kl_div_log_target_{red}", "kl_div", [log_softmax_rows([4, 5]), log_softmax_rows([4, 5])],
         (lambda red: lambda x, t: F.kl_div(x, t, reduction=red, log_target=True))(red),
         grad=[0], args={"reduction": red, "log_target": True})
    case(f"kl_div_3d_{red}", "kl_div", [log_softmax_rows([2, 3, 4]), softmax_rows([2, 3, 4], zeros=3)],
         (lambda red: lambda x, t: F.kl_div(x, t, reduction=red, log_target=False))(red),
         grad=[0], args={"reduction": red, "log_target": False})


# ---- optimizers --------------------------------------------------------------------------------------------------

OPTIM_STEPS = 100
OPTIM_RECORD = [1, 10, 50, 100]
# The trajectories are compared with |a - e| <= rtol (|e| + OPTIM_SCALE): relative for parameters of ordinary size, and
# absolute (rtol * OPTIM_SCALE) for a parameter that passes near 0, where the rounding of the updates -- not of the
# parameter itself -- sets the noise floor. The parameters here are O(0.1 .. 1) and each step moves them by up to ~lr.
OPTIM_SCALE = 0.1

# Learning rates are chosen so that the float32 trajectory stays within a fraction of the tolerance of the float64 one
# (the generator asserts it): a smaller RMSprop alpha (0.9, 0.95) or a larger RMSprop momentum step makes the
# denominator track g^2 so closely that float32 rounding is amplified by orders of magnitude within 100 steps.
OPTIMIZERS = {
    # name: (optimizer, torch keyword arguments)
    "sgd": ("sgd", dict(lr=0.1)),
    "sgd_momentum": ("sgd", dict(lr=0.05, momentum=0.9)),
    "sgd_momentum_dampening": ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.1)),
    "sgd_nesterov": ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": ("sgd", dict(lr=0.1, weight_decay=0.01)),
    "sgd_momentum_weight_decay": ("sgd", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    "adam_default": ("adam", dict()),
    "adam": ("adam", dict(lr=0.01)),
    "adam_amsgrad": ("adam", dict(lr=0.01, amsgrad=True)),
    "adam_weight_decay": ("adam", dict(lr=0.01, weight_decay=0.01)),
    "adam_betas": ("adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    "adamw_default": ("adamw", dict()),
    "adamw": ("adamw", dict(lr=0.01, weight_decay=0.01)),
    "adamw_amsgrad": ("adamw", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    "rmsprop_default": ("rmsprop", dict()),
    "rmsprop_centered": ("rmsprop", dict(centered=True)),
    "rmsprop_momentum": ("rmsprop", dict(lr=0.002, momentum=0.9)),
    "rmsprop_centered_momentum_weight_decay": ("rmsprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.01)),
}

TORCH_OPTIM = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}


def optim_problem():
    r = rng_for("optim_problem")
    x = r.standard_normal([8, 5])
    y = r.uniform(-0.8, 0.8, [8, 3])
    w0 = 0.5 * r.standard_normal([5, 3])
    b0 = 0.1 * r.standard_normal([3])
    return x, y, w0, b0


def optim_loss(x, y, w, b):
    # The same expression, op by op, as GoldenNNTests.OptimLoss.
    d = torch.tanh(x @ w + b) - y
    return (d * d).mean() + ((w * w) * (w * w)).sum() * 0.01


def run_optimizer(kind, kwargs, x, y, w0, b0, tt):
    xt, yt = torch.tensor(x, dtype=tt), torch.tensor(y, dtype=tt)
    w = torch.tensor(w0, dtype=tt, requires_grad=True)
    b = torch.tensor(b0, dtype=tt, requires_grad=True)
    opt = TORCH_OPTIM[kind]([w, b], foreach=False, **kwargs)
    ws, bs = [], []
    for step in range(1, OPTIM_STEPS + 1):
        opt.zero_grad(set_to_none=True)
        loss = optim_loss(xt, yt, w, b)
        loss.backward()
        opt.step()
        if step in OPTIM_RECORD:
            ws.append(w.detach().numpy().copy())
            bs.append(b.detach().numpy().copy())
    return np.stack(ws), np.stack(bs), float(loss)


# ---- schedulers --------------------------------------------------------------------------------------------------

SCHED_EPOCHS = 20
SCHED_BASE_LR = 0.1
SCHEDULERS = {
    "steplr_3_0p5": ("step", dict(step_size=3, gamma=0.5)),
    "steplr_5_default_gamma": ("step", dict(step_size=5)),
    "cosine_t20": ("cosine", dict(T_max=20)),
    "cosine_t10_etamin": ("cosine", dict(T_max=10, eta_min=0.001)),  # 20 epochs: past T_max, the rate climbs again
    "cosine_t7": ("cosine", dict(T_max=7, eta_min=0.0)),
}


def run_scheduler(kind, kwargs):
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=SCHED_BASE_LR)
    sched = (torch.optim.lr_scheduler.StepLR if kind == "step" else torch.optim.lr_scheduler.CosineAnnealingLR)(opt, **kwargs)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(SCHED_EPOCHS):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return np.array(lrs, dtype=np.float64)


# ---- generation ----------------------------------------------------------------------------------------------------

def save(name, array):
    # np.array(order="C") keeps 0-d arrays 0-d (np.ascontiguousarray would turn them into shape (1,)).
    np.save(os.path.join(OUT_DIR, name), np.array(array, order="C", copy=True))


def to_torch(a, tt, requires_grad):
    if a.dtype == np.int64:
        return torch.tensor(a)
    return torch.tensor(a, dtype=tt, requires_grad=requires_grad)


def run_torch(c, inputs, tt, gout):
    """Runs the case on torch copies of the numpy inputs in dtype tt; returns (out, {i: grad}, {i: after})."""
    xs = [to_torch(a, tt, i in c["grad"]) for i, a in enumerate(inputs)]
    y = c["fn"](*xs)
    after = {i: xs[i].detach().numpy().copy() for i in c["mutated"]}
    y.backward(torch.tensor(gout, dtype=tt))
    grads = {}
    for i in c["grad"]:
        assert xs[i].grad is not None, f"{c['name']}: input {i} got no gradient"
        grads[i] = xs[i].grad.numpy().copy()
    return y.detach().numpy().copy(), grads, after


def excess(actual, exact, rtol, scale):
    """max |a - e| / (rtol (|e| + scale)), the test's criterion (<= 1 passes)."""
    a, e = np.asarray(actual, np.float64), np.asarray(exact, np.float64)
    return float(np.max(np.abs(a - e) / (rtol * (np.abs(e) + scale)))) if a.size else 0.0


def generate_cases():
    manifest = []
    for c in CASES:
        r = rng_for(c["name"])
        gens = c["inputs"]
        base = gens(r) if callable(gens) else [g(r) for g in gens]
        base = [np.asarray(b) for b in base]
        base = [b if b.dtype == np.int64 else b.astype(np.float64) for b in base]

        with torch.no_grad():
            probe = [torch.tensor(b) for b in base]
            out_shape = tuple(c["fn"](*probe).shape)
        gout_base = rng_for(c["name"] + "/gout").standard_normal(out_shape)

        for dname, (npt, tt) in DTYPES.items():
            prefix = f"{c['name']}__{dname}"
            inputs = [b if b.dtype == np.int64 else b.astype(npt) for b in base]
            gout = gout_base.astype(npt)
            out, grads, after = run_torch(c, inputs, tt, gout)
            reference = "torch-" + dname
            if dname == "float32":
                out64, grads64, after64 = run_torch(c, inputs, torch.float64, gout)
                out64 = out64.astype(npt)
                grads64 = {i: g.astype(npt) for i, g in grads64.items()}
                after64 = {i: a.astype(npt) for i, a in after64.items()}
                rt = RTOL[dname]
                worst = max([excess(out, out64, rt, 1.0)] + [excess(grads[i], grads64[i], rt, 1.0) for i in grads]
                            + [excess(after[i], after64[i], rt, 1.0) for i in after])
                if c["exact32"]:
                    out, grads, after, reference = out64, grads64, after64, "torch-float64-rounded-to-float32"
                else:
                    # PyTorch's own float32 result must be within half the test's float32 tolerance of the exact one,
                    # or the golden data would test PyTorch's rounding rather than SharpGrad's.
                    assert worst <= 0.5, f"{prefix}: torch float32 is {worst:.2f} tolerances from exact; mark exact32"
            assert np.isfinite(out).all(), f"{prefix}: non-finite output"
            assert all(np.isfinite(g).all() for g in grads.values()), f"{prefix}: non-finite gradient"

            for i, a in enumerate(inputs):
                save(f"{prefix}__in{i}.npy", a)
            save(f"{prefix}__out.npy", out)
            save(f"{prefix}__gout.npy", gout)
            for i, g in grads.items():
                save(f"{prefix}__grad{i}.npy", g)
            for i, a in after.items():
                save(f"{prefix}__after{i}.npy", a)
            manifest.append({
                "name": c["name"],
                "dtype": dname,
                "op": c["op"],
                "inputs": len(inputs),
                "input_shapes": [list(b.shape) for b in inputs],
                "input_dtypes": [str(b.dtype) for b in inputs],
                "output_shape": list(out.shape),
                "grad": c["grad"],
                "mutated": c["mutated"],
                "reference": reference,
                "args": c["args"],
            })
    return manifest


def generate_optim():
    x, y, w0, b0 = optim_problem()
    manifest = []
    for dname, (npt, tt) in DTYPES.items():
        arrays = {k: v.astype(npt) for k, v in dict(x=x, y=y, w0=w0, b0=b0).items()}
        for k, v in arrays.items():
            save(f"problem__{dname}__{k}.npy", v)
        for name, (kind, kwargs) in OPTIMIZERS.items():
            ws, bs, final_loss = run_optimizer(kind, kwargs, arrays["x"], arrays["y"], arrays["w0"], arrays["b0"], tt)
            if dname == "float32":
                ws64, bs64, _ = run_optimizer(kind, kwargs, arrays["x"], arrays["y"], arrays["w0"], arrays["b0"], torch.float64)
                worst = max(excess(ws, ws64, RTOL[dname], OPTIM_SCALE), excess(bs, bs64, RTOL[dname], OPTIM_SCALE))
                assert worst <= 0.5, f"{name}: torch float32 trajectory is {worst:.2f} tolerances from float64"
            save(f"{name}__{dname}__w.npy", ws)
            save(f"{name}__{dname}__b.npy", bs)
            args = dict(kwargs)
            if "betas" in args:
                args["beta1"], args["beta2"] = args.pop("betas")
            manifest.append({"name": name, "dtype": dname, "optimizer": kind, "args": args, "steps": OPTIM_STEPS,
                             "record": OPTIM_RECORD, "final_loss": final_loss})
    return manifest


def generate_sched():
    manifest = []
    for name, (kind, kwargs) in SCHEDULERS.items():
        save(f"{name}__lr.npy", run_scheduler(kind, kwargs))
        manifest.append({"name": name, "scheduler": kind, "args": kwargs, "base_lr": SCHED_BASE_LR, "epochs": SCHED_EPOCHS})
    return manifest


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in os.listdir(OUT_DIR):
        if f.endswith(".npy"):
            os.remove(os.path.join(OUT_DIR, f))

    cases = generate_cases()
    optim = generate_optim()
    sched = generate_sched()

    def block(items):
        return ",\n".join("  " + json.dumps(m, sort_keys=True) for m in items)

    with open(os.path.join(OUT_DIR, "manifest.json"), "w", encoding="utf-8", newline="\n") as f:
        # one case per line, so that a diff of a regeneration reads case by case
        f.write('{"generator": "tools/golden/make_nn.py",\n "torch": %s,\n' % json.dumps(torch.__version__))
        f.write(' "optim_scale": %s,\n' % json.dumps(OPTIM_SCALE))
        f.write(' "cases": [\n' + block(cases) + "\n ],\n")
        f.write(' "optim": [\n' + block(optim) + "\n ],\n")
        f.write(' "sched": [\n' + block(sched) + "\n ]\n}\n")

    files = os.listdir(OUT_DIR)
    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in files)
    print(f"{len(cases)} layer/loss cases ({len(CASES)} x {len(DTYPES)} dtypes), {len(optim)} optimizer trajectories, "
          f"{len(sched)} schedules; {len(files)} files, {total} bytes in {OUT_DIR}")


if __name__ == "__main__":
    main()
