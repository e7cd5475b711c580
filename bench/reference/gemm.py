#!/usr/bin/env python3
"""The NumPy (OpenBLAS) side of the `gemm` workload of bench/SharpGrad.Bench.

Runs C = op(A) op(B) in float32 (or float64) with the same shapes, transposes and timing rule as the C# runner
(warm-up, then repeat for at least 2 seconds and 3 runs) and prints the same JSON line:
    {"workload":"gemm","threads":N,"m":..,"n":..,"k":..,"gflops":..}

Usage (OpenBLAS reads its thread count and kernel choice from the environment):
    env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=2 \
        /usr/bin/python3 bench/reference/gemm.py --m 64 --k 784 --n 256 --ta 0 --tb 1 --threads 2

The line also names the OpenBLAS kernel set in use ("blas_core"). Debian's OpenBLAS 0.3.21 does not know recent Xeons
(family 6 model 207) and falls back to its SSE3 "Prescott" kernels, 10-15x slower than its AVX-512 ones, unless
OPENBLAS_CORETYPE names a core it has kernels for (SkylakeX, Cooperlake), so always check that field.
"""
import argparse
import json
import os
import time

import numpy as np


def blas_core() -> str:
    """The kernel set OpenBLAS chose (the library NumPy loaded is the one opened here), or "unknown"."""
    try:
        import ctypes
        import ctypes.util
        for name in ("libopenblas.so.0", ctypes.util.find_library("openblas") or ""):
            if not name:
                continue
            lib = ctypes.CDLL(name)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        pass
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--m", type=int, default=512)
    parser.add_argument("--n", type=int)
    parser.add_argument("--k", type=int)
    parser.add_argument("--ta", type=int, default=0, help="1: A is stored k x m and used transposed")
    parser.add_argument("--tb", type=int, default=0, help="1: B is stored n x k and used transposed")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, help="informational: OpenBLAS takes OPENBLAS_NUM_THREADS")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    m = args.m
    n = args.n if args.n is not None else m
    k = args.k if args.k is not None else m
    threads = args.threads if args.threads is not None else int(os.environ.get("OPENBLAS_NUM_THREADS") or os.cpu_count() or 1)

    rng = np.random.default_rng(1)
    a = rng.standard_normal((k, m) if args.ta else (m, k)).astype(args.dtype)
    b = rng.standard_normal((n, k) if args.tb else (k, n)).astype(args.dtype)
    opa = a.T if args.ta else a  # views: BLAS reads the transpose in place, as SharpGrad does
    opb = b.T if args.tb else b
    c = np.empty((m, n), dtype=args.dtype)
    np.matmul(opa, opb, out=c)  # warm-up

    reps = 0
    start = time.perf_counter()
    while True:
        np.matmul(opa, opb, out=c)
        reps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= args.seconds and reps >= 3:
            break
    gflops = 2.0 * m * n * k / (elapsed / reps) / 1e9
    print(json.dumps({"workload": "gemm", "threads": threads, "m": m, "n": n, "k": k,
                      "ta": args.ta, "tb": args.tb, "dtype": args.dtype, "gflops": round(gflops, 2),
                      "blas_core": blas_core()},
                     separators=(",", ":")))


if __name__ == "__main__":
    main()
