#!/usr/bin/env python3
"""The ring all-reduce cost model of DISTRIBUTED.md, evaluated for 8, 64 and 512 nodes.

Per step of data-parallel SGD with the gradient (n bytes) averaged by a ring all-reduce over p nodes:
    T_comm(p) = 2 (p - 1) alpha + 2 (p - 1) / p * n / B + (p - 1) / p * n * gamma
(alpha: per-message latency, B: per-link bandwidth, gamma: seconds per byte of summing; Thakur, Rabenseifner and
Gropp 2005). Small messages are better served by recursive doubling, 2 log2(p) alpha + log2(p) n / B, and Open MPI
picks by size; the model reports the smaller of the two. The step takes max(T_compute, T_comm) with perfect overlap of
communication and backward pass, T_compute + T_comm with none; DDP's buckets sit between the two.

Inputs measured on this machine (see BENCHMARKS.md, "Data-parallel training"): the single-process compute time per
step of 32 examples, and the 2-process shared-memory all-reduce (--workload allreduce) that gives gamma + copy cost.
Network figures are typical published ones, stated as such: 10 GbE (alpha 25 us, 1.25 GB/s) and 100 Gb/s InfiniBand
(alpha 2 us, 12.5 GB/s).
"""
import math

MODELS = {  # name: (parameters, measured compute seconds per step at 32 examples per node, 1 thread)
    "MLP 784-256-128-10": (235_146, 1.1e-3),
    "CNN (62,346 params)": (62_346, 15e-3),
    "hypothetical 100M-param model": (100_000_000, 2.0),
}
NETWORKS = {"10 GbE": (25e-6, 1.25e9), "100 Gb/s InfiniBand": (2e-6, 12.5e9)}
GAMMA = 1 / 5e9  # seconds per byte summed (a float32 add streams at several GB/s on one core)


def comm(p, n, alpha, bw):
    ring = 2 * (p - 1) * alpha + 2 * (p - 1) / p * n / bw + (p - 1) / p * n * GAMMA
    doubling = 2 * math.log2(p) * alpha + math.log2(p) * n / bw + math.log2(p) * n * GAMMA
    return min(ring, doubling)


def main():
    print("| model | network | nodes | all-reduce per step | compute per step | efficiency, overlapped | efficiency, not overlapped |")
    print("|---|---|---|---|---|---|---|")
    for name, (params, compute) in MODELS.items():
        n = 4 * params
        for net, (alpha, bw) in NETWORKS.items():
            for p in (8, 64, 512):
                t = comm(p, n, alpha, bw)
                over = compute / max(compute, t)
                serial = compute / (compute + t)
                print(f"| {name} | {net} | {p} | {t * 1e3:.2f} ms | {compute * 1e3:.1f} ms | {over:.0%} | {serial:.0%} |")


if __name__ == "__main__":
    main()
