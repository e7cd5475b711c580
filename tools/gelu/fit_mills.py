#!/usr/bin/env python3
"""Fits the float32 GELU kernel's tail factor (SharpGrad's GeluVector).

With u = |x|, phi(u) = exp(-u^2/2)/sqrt(2 pi) and the Mills ratio M(u) = Phi(-u)/phi(u), the kernel writes
Phi(-u) = phi(u) * t * S(t), t = 1/(1 + p u), and S a polynomial fitted here for minimax *relative* error over
u in [0, U] (U = the kernel's clip). Lawson's iteratively reweighted least squares approaches the minimax fit; the
coefficients are then rounded to float32 one at a time, refitting the rest after each, and the rounded polynomial is
checked with float32 Horner steps (FMA simulated in float64: a product of two float32 values is exact there).
Usage: fit_mills.py [p] [degree]   (no arguments: scan p and degree and print the best).
"""
import math, sys
import numpy as np

U = 13.25

def mills(u):
    u = np.asarray(u, dtype=np.float64)
    erfc = np.vectorize(math.erfc)
    return 0.5 * erfc(u / math.sqrt(2)) * math.sqrt(2 * math.pi) * np.exp(0.5 * u * u)

def target(p, t):
    u = (1 / t - 1) / p
    return mills(u) / t

def fit(p, deg, n=4000, iters=60):
    tmin = 1 / (1 + p * U)
    k = np.arange(n)
    t = 0.5 * (1 + tmin) + 0.5 * (1 - tmin) * np.cos(np.pi * (k + 0.5) / n)
    f = target(p, t)
    V = np.vander(t, deg + 1, increasing=True) / f[:, None]  # relative error: (V c)/f - 1
    w = np.ones(n) / n
    for _ in range(iters):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(V * sw[:, None], sw, rcond=None)
        e = np.abs(V @ c - 1)
        w = w * e; w /= w.sum()
    c = [float(v) for v in c]
    # round to float32 one coefficient at a time, highest degree first, refitting the lower ones (unweighted l-inf proxy: Lawson weights)
    fixed = {}
    for j in range(deg, -1, -1):
        free = [i for i in range(deg + 1) if i not in fixed and i != j]
        cj = float(np.float32(c[j]))
        fixed[j] = cj
        if free:
            rhs = 1 - sum(V[:, i] * fixed[i] for i in fixed)
            sw = np.sqrt(w)
            sol, *_ = np.linalg.lstsq(V[:, free] * sw[:, None], rhs * sw, rcond=None)
            for i, v in zip(free, sol): c[i] = float(v)
    c32 = [float(np.float32(fixed[i])) for i in range(deg + 1)]
    return c32

def f32(v):
    return np.asarray(v, dtype=np.float32).astype(np.float64)

def horner32(c, t):
    t = f32(t)
    s = np.full_like(t, c[-1])
    for cj in reversed(c[:-1]):
        s = f32(s * t + cj)
    return s

def check(p, c, n=400000):
    p32 = float(np.float32(p))
    u = f32(np.linspace(0, U, n))
    t = f32(1 / f32(u * p32 + 1))  # fma(u, p, 1) then a division
    s = horner32(c, t)
    approx = t * s  # in double: only the fit and Horner's rounding counted here
    exact = mills(u)
    return np.max(np.abs(approx / exact - 1))

if __name__ == "__main__":
    if len(sys.argv) == 3:
        p, deg = float(sys.argv[1]), int(sys.argv[2])
        c = fit(p, deg)
        print(f"p = {np.float32(p)!r}, degree {deg}, max rel err {check(p, c):.3e}")
        for i, v in enumerate(c): print(f"S{i} = {np.float32(v)!r}f")
    else:
        for deg in range(6, 13):
            best = min(((check(p, fit(p, deg, n=1500, iters=30)), p) for p in np.linspace(0.15, 0.75, 13)))
            print(f"degree {deg}: best p {best[1]:.3f}, max rel err {best[0]:.3e}", flush=True)
