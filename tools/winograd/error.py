"""Float32 error of Winograd F(m x m, r x r) against a float64 direct convolution, for choosing the tile size.

Builds the transforms from the interpolation points as src/SharpGrad/Kernels/Winograd.cs does (Toom-Cook, the 1/N_j
scaling on the filter side), runs the convolution in float32 (numpy; every stage rounded to float32) on the CNN's
second layer (32 -> 64 channels, 5x5, 12x12 -> 8x8, inputs and weights shaped like a trained layer's) and prints
the largest and RMS error relative to the RMS of the output, next to the direct float32 convolution's.
Run: /usr/bin/python3 tools/winograd/error.py
"""
import numpy as np


def transforms(m, r, points):
    n = m + r - 1
    bt = np.zeros((n, n)); g = np.zeros((n, r)); at = np.zeros((m, n))
    for j, pj in enumerate(points):
        others = [p for l, p in enumerate(points) if l != j]
        poly = np.poly1d([1.0])
        for p in others:
            poly = poly * np.poly1d([1.0, -p])
        bt[j, :n - 1] = poly.coeffs[::-1]
        norm = np.prod([pj - p for p in others])
        g[j] = [pj ** k / norm for k in range(r)]
        at[:, j] = [pj ** i for i in range(m)]
    full = np.poly1d([1.0])
    for p in points:
        full = full * np.poly1d([1.0, -p])
    bt[n - 1] = full.coeffs[::-1]
    g[n - 1, r - 1] = 1
    at[m - 1, n - 1] = 1
    return bt, g, at


def winograd(x, w, m, r, points):
    bt, g, at = (a.astype(np.float32) for a in transforms(m, r, points))
    n = m + r - 1
    N, C, H, W = x.shape
    O = w.shape[0]
    oh, ow = H - r + 1, W - r + 1
    u = np.einsum('ia,ocab,jb->ijoc', g, w, g).astype(np.float32)
    y = np.zeros((N, O, oh, ow), np.float32)
    for ty in range(0, oh, m):
        for tx in range(0, ow, m):
            d = np.zeros((N, C, n, n), np.float32)
            patch = x[:, :, ty:ty + n, tx:tx + n]
            d[:, :, :patch.shape[2], :patch.shape[3]] = patch
            v = np.einsum('ia,ncab,jb->ijcn', bt, d, bt).astype(np.float32)
            mm = np.einsum('ijoc,ijcn->ijon', u, v).astype(np.float32)
            t = np.einsum('ai,ijon,bj->onab', at, mm, at).astype(np.float32)
            hh, ww = min(m, oh - ty), min(m, ow - tx)
            y[:, :, ty:ty + hh, tx:tx + ww] = t[:, :, :hh, :ww].transpose(1, 0, 2, 3)
    return y


def direct(x, w):
    N, C, H, W = x.shape
    O, _, k, _ = w.shape
    oh, ow = H - k + 1, W - k + 1
    y = np.zeros((N, O, oh, ow), x.dtype)
    for a in range(k):
        for b in range(k):
            y += np.einsum('oc,ncij->noij', w[:, :, a, b], x[:, :, a:a + oh, b:b + ow])
    return y


rng = np.random.default_rng(0)
x = np.maximum(rng.standard_normal((16, 32, 12, 12)), 0)          # post-ReLU activations
w = rng.standard_normal((64, 32, 5, 5)) * np.sqrt(1.0 / (32 * 25))  # PyTorch's default scale
ref = direct(x, w)
scale = np.sqrt(np.mean(ref ** 2))
def report(name, y):
    e = np.abs(y.astype(np.float64) - ref)
    print(f"{name:28s} max |err| / rms(y) = {e.max() / scale:.2e}   rms err / rms(y) = {np.sqrt(np.mean(e ** 2)) / scale:.2e}")
report("direct float32", direct(x.astype(np.float32), w.astype(np.float32)))
xs, ws = x.astype(np.float32), w.astype(np.float32)
report("F(2x2,5x5) 6x6 tiles", winograd(xs, ws, 2, 5, [0, 1, -1, 2, -2]))
report("F(4x4,5x5) 8x8 tiles", winograd(xs, ws, 4, 5, [0, 1, -1, 2, -2, 0.5, -0.5]))
w3 = w[:, :, 1:4, 1:4] * np.sqrt(25 / 9)
ref = direct(x, w3)
scale = np.sqrt(np.mean(ref ** 2))
report("direct float32, 3x3", direct(xs, w3.astype(np.float32)))
report("F(4x4,3x3) 6x6 tiles", winograd(xs, w3.astype(np.float32), 4, 3, [0, 1, -1, 2, -2]))
