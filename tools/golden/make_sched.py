#!/usr/bin/python3
# Golden data for SharpGrad's learning-rate schedules and optimizer parameter groups, computed by PyTorch 1.13.
# Run with the system Python (it has torch):  /usr/bin/python3 tools/golden/make_sched.py
#
# Output: tests/golden/sched/schedules.json
#   "schedules": per case, the optimizer's groups (initial lr, optimizer kind) and the schedule's arguments, and after
#     0, 1, ..., N steps of the schedule each group's lr (and for OneCycleLR its momentum or beta1). ReduceLROnPlateau
#     cases carry the metric fed at each step. Read by tests/SharpGrad.Tests/Optim/SchedulerGoldenTests.cs.
#   "groups": optimizer trajectories with two parameter groups of different settings on a fixed float64 problem.
# Deterministic: re-running writes the same bytes.
import json
import os

import numpy as np
import torch
from torch.optim import lr_scheduler as S

torch.set_num_threads(1)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "golden", "sched")


def make_opt(kind, lrs, **kw):
    params = [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[kind]
    return cls(groups, **kw)


def snapshot(opt, momentum):
    row = {"lr": [g["lr"] for g in opt.param_groups]}
    if momentum:
        row["momentum"] = [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]
    return row


def run(name, kind, lrs, build, steps, args, momentum=False, metrics=None, opt_kw=None):
    opt = make_opt(kind, lrs, **(opt_kw or {}))
    sched = build(opt)
    rows = [snapshot(opt, momentum)]
    for t in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
        rows.append(snapshot(opt, momentum))
    case = {"name": name, "optimizer": kind, "lrs": lrs, "args": args, "steps": steps, "trajectory": rows}
    if opt_kw:
        case["optimizer_args"] = opt_kw
    if metrics is not None:
        case["metrics"] = metrics
    return case


def schedules():
    cases = []
    two = [0.1, 0.02]
    cases.append(run("exponential_0p9", "sgd", two, lambda o: S.ExponentialLR(o, gamma=0.9), 20, {"gamma": 0.9}))
    cases.append(run("linear_default", "sgd", two, lambda o: S.LinearLR(o), 10, {}))
    cases.append(run("linear_warmup", "sgd", [0.5], lambda o: S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=4), 10,
                     {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 4}))
    cases.append(run("linear_decay", "sgd", [0.5], lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.25, total_iters=6), 10,
                     {"start_factor": 1.0, "end_factor": 0.25, "total_iters": 6}))
    # LambdaLR: the C# test builds the same functions from "lambda" by name.
    cases.append(run("lambda_inverse", "sgd", two, lambda o: S.LambdaLR(o, lambda e: 1.0 / (1 + e)), 12, {"lambda": "inverse"}))
    cases.append(run("lambda_per_group", "sgd", two, lambda o: S.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1.0 + 0.1 * e]), 12,
                     {"lambda": "per_group"}))
    cases.append(run("step_two_groups", "sgd", two, lambda o: S.StepLR(o, step_size=3, gamma=0.5), 12, {"step_size": 3, "gamma": 0.5}))
    cases.append(run("cosine_two_groups", "sgd", two, lambda o: S.CosineAnnealingLR(o, T_max=8, eta_min=0.001), 12,
                     {"T_max": 8, "eta_min": 0.001}))

    def seq_warm_cos(o):
        return S.SequentialLR(o, [S.LinearLR(o, start_factor=0.2, total_iters=3), S.CosineAnnealingLR(o, T_max=10, eta_min=0.0)], milestones=[3])
    cases.append(run("sequential_warmup_cosine", "sgd", two, seq_warm_cos, 16, {"kind": "warmup_cosine"}))

    def seq_three(o):
        return S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=2), S.ExponentialLR(o, gamma=0.8), S.StepLR(o, step_size=2, gamma=0.5)],
                              milestones=[2, 6])
    cases.append(run("sequential_three", "sgd", [0.3], seq_three, 14, {"kind": "three"}))

    for name, kw in [("onecycle_cos", dict(max_lr=0.5, total_steps=20)),
                     ("onecycle_linear", dict(max_lr=0.5, total_steps=15, pct_start=0.4, anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0)),
                     ("onecycle_three_phase", dict(max_lr=0.2, total_steps=24, three_phase=True)),
                     ("onecycle_per_group", dict(max_lr=[0.5, 0.05], total_steps=12, base_momentum=0.8, max_momentum=0.9))]:
        lrs = [0.1, 0.02] if isinstance(kw["max_lr"], list) else [0.1]
        cases.append(run(name + "_sgd", "sgd", lrs, lambda o, kw=kw: S.OneCycleLR(o, **kw), kw["total_steps"], kw, momentum=True,
                         opt_kw={"momentum": 0.9}))
    cases.append(run("onecycle_adam", "adam", [0.001], lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=10), 10,
                     {"max_lr": 0.01, "total_steps": 10}, momentum=True))
    cases.append(run("onecycle_no_momentum", "sgd", [0.1], lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, cycle_momentum=False), 10,
                     {"max_lr": 1.0, "total_steps": 10, "cycle_momentum": False}, momentum=True))

    # ReduceLROnPlateau: a loss that falls, stalls, wobbles and falls again.
    r = np.random.default_rng(17)
    loss = [1.0 / (1 + 0.3 * t) + (0.02 * r.standard_normal() if t > 8 else 0.0) + (0.3 if 12 <= t < 20 else 0.0) for t in range(40)]
    loss = [float(round(v, 6)) for v in loss]
    for name, kw in [("plateau_min", dict(patience=2)),
                     ("plateau_min_cooldown_abs", dict(patience=1, cooldown=2, threshold=0.01, threshold_mode="abs", factor=0.5, min_lr=0.004)),
                     ("plateau_max", dict(mode="max", patience=3, factor=0.3, threshold=0.05))]:
        metric = [-v for v in loss] if kw.get("mode") == "max" else loss
        cases.append(run(name, "sgd", two, lambda o, kw=kw: S.ReduceLROnPlateau(o, **kw), len(metric), kw, metrics=metric))
    return cases


def groups():
    # Minimise sum((x @ w - y)^2 + 0.1 w^4) with two groups: [w1] and [w2, b]; float64.
    r = np.random.default_rng(1713)
    x = r.standard_normal((6, 3)); y = r.standard_normal((6, 2))
    w1_0 = r.standard_normal((3, 2)); w2_0 = r.standard_normal((3, 2)); b_0 = r.standard_normal(2)
    out = []
    configs = [
        ("sgd", dict(lr=0.01, momentum=0.9), [dict(), dict(lr=0.05, weight_decay=0.1, momentum=0.5, nesterov=True)]),
        ("adam", dict(lr=0.01), [dict(weight_decay=0.2), dict(lr=0.03, betas=(0.8, 0.99), eps=1e-6, amsgrad=True)]),
        ("adamw", dict(lr=0.01), [dict(), dict(weight_decay=0.0, betas=(0.85, 0.995))]),
        ("rmsprop", dict(lr=0.005), [dict(momentum=0.5, centered=True), dict(alpha=0.9, weight_decay=0.05)]),
    ]
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}
    for kind, defaults, gs in configs:
        w1 = torch.tensor(w1_0, requires_grad=True); w2 = torch.tensor(w2_0, requires_grad=True); b = torch.tensor(b_0, requires_grad=True)
        xt, yt = torch.tensor(x), torch.tensor(y)
        opt = cls[kind]([dict(params=[w1], **gs[0]), dict(params=[w2, b], **gs[1])], **defaults)
        for _ in range(15):
            opt.zero_grad()
            pred = xt @ w1 + torch.tanh(xt @ w2 + b)
            loss = ((pred - yt) ** 2).sum() + 0.1 * (w1 ** 4).sum()
            loss.backward()
            opt.step()
        gjson = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in gs]
        out.append({"name": kind + "_two_groups", "optimizer": kind, "defaults": defaults, "groups": gjson, "steps": 15,
                    "x": x.tolist(), "y": y.tolist(), "w1": w1_0.tolist(), "w2": w2_0.tolist(), "b": b_0.tolist(),
                    "final": {"w1": w1.detach().numpy().tolist(), "w2": w2.detach().numpy().tolist(), "b": b.detach().numpy().tolist()}})
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    data = {"torch": torch.__version__, "schedules": schedules(), "groups": groups()}
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
