#!/usr/bin/python3
# Golden data for SharpGrad.Theory.Signal, computed by NumPy's convolve and correlate.
#
# Run from anywhere with the system Python (it has numpy):
#
#     /usr/bin/python3 tools/golden/make_theory.py
#
# For every pair of lengths (n, m) drawn from LENGTHS it draws two random sequences from a fixed seed (rounded to
# 6 decimals so the file stays small; the rounded values are the inputs) and records numpy.convolve and
# numpy.correlate in the three modes. A few hand-picked integer cases (seed 001 Q6 among them) come first.
# Writes tests/golden/theory/signal.json; re-running rewrites the same bytes.
# tests/SharpGrad.Tests/Theory/SignalGoldenTests.cs replays every case.

import json
import os

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "golden", "theory", "signal.json")

LENGTHS = [1, 2, 3, 4, 5, 6, 7, 8, 11, 16]
MODES = ["full", "valid", "same"]


def record(name, a, v):
    a = np.asarray(a, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    case = {"name": name, "a": a.tolist(), "v": v.tolist()}
    case["convolve"] = {mode: np.convolve(a, v, mode).tolist() for mode in MODES}
    case["correlate"] = {mode: np.correlate(a, v, mode).tolist() for mode in MODES}
    return case


def main():
    cases = [
        record("seed001_q6", [1, 2, 3, 4], [1, 0, 2]),
        record("seed001_q6_swapped", [1, 0, 2], [1, 2, 3, 4]),
        record("even_kernel", [1, 2, 3, 4, 5], [1, -1]),
        record("even_kernel_4", [3, 1, 4, 1, 5, 9, 2], [2, 7, 1, 8]),
        record("equal_lengths", [1, 2, 3], [4, 5, 6]),
    ]
    rng = np.random.default_rng(20240601)
    for n in LENGTHS:
        for m in LENGTHS:
            a = np.round(rng.standard_normal(n), 6)
            v = np.round(rng.standard_normal(m), 6)
            cases.append(record(f"random_n{n}_m{m}", a, v))
    doc = {
        "generator": "tools/golden/make_theory.py",
        "numpy": np.__version__,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
