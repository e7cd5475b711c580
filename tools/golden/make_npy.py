#!/usr/bin/python3
"""Golden .npy/.npz files for tests/SharpGrad.Tests/IO/NpyTests.cs, written by real NumPy.

Run from the repository root:  /usr/bin/python3 tools/golden/make_npy.py
Every array NAME.npy gets a sidecar NAME.txt so that the tests compare against values that do not
pass through our reader:
    line 1: the dtype as NumPy spells it (a.dtype.str)
    line 2: the shape, dimensions separated by spaces (empty for a 0-d array)
    then:   the elements in row-major (C) order, one per line; floats as Python's repr (exact for
            float64 and for float32 widened to float64), with Infinity/-Infinity/NaN spelled as .NET
            parses them; booleans as 1/0.
An archive NAME.npz gets NAME.npz.txt listing its member keys in archive order, one per line, and
NAME.npz.KEY.txt sidecars for the members.
"""
import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "npy")


def fmt(x):
    if isinstance(x, (bool, np.bool_)):
        return "1" if x else "0"
    if isinstance(x, (np.floating, float)):
        v = float(x)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return repr(v)
    return str(int(x))


def sidecar(path, a):
    flat = np.ascontiguousarray(a).reshape(-1)
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(a.dtype.str + "\n")
        f.write(" ".join(str(d) for d in a.shape) + "\n")
        for x in flat:
            f.write(fmt(x) + "\n")


def save(name, a, version=None):
    path = os.path.join(OUT, name + ".npy")
    with open(path, "wb") as f:
        if version is None:
            np.save(f, a)
        else:
            np.lib.format.write_array(f, a, version=version)
    sidecar(os.path.join(OUT, name + ".txt"), a)


def save_npz(name, arrays, compressed):
    path = os.path.join(OUT, name + ".npz")
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    with open(path + ".txt", "w", encoding="ascii", newline="\n") as f:
        for key in arrays:
            f.write(key + "\n")
    for key, a in arrays.items():
        sidecar(path + "." + key + ".txt", a)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240601)

    f4 = np.array([[1.5, -2.25, 3.0e-7], [1.0e30, -0.0, 1.0 / 3.0]], dtype=np.float32)
    save("f4_2x3", f4)
    save("f8_5", np.array([1.0 / 3.0, -np.inf, np.inf, np.nan, -1.0e-300], dtype=np.float64))
    i4 = np.arange(-12, 12, dtype=np.int32).reshape(2, 3, 4)
    i4[0, 0, 0] = np.iinfo(np.int32).min
    i4[1, 2, 3] = np.iinfo(np.int32).max
    save("i4_2x3x4", i4)
    save("i8_3", np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max], dtype=np.int64))
    u1 = rng.integers(0, 256, size=(4, 4), dtype=np.uint8)
    u1[0, 0], u1[3, 3] = 0, 255
    save("u1_4x4", u1)
    save("b1_5", np.array([True, False, True, True, False]))
    save("f8_scalar", np.array(3.25, dtype=np.float64))
    save("f4_empty", np.zeros((0,), dtype=np.float32))
    save("f8_2x0", np.zeros((2, 0), dtype=np.float64))
    save("v2_f4", rng.standard_normal((3, 2)).astype(np.float32), version=(2, 0))
    save("v3_f8", rng.standard_normal((4,)), version=(3, 0))
    save("fortran_f8_3x4", np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4) * 0.5))
    save("fortran_i4_2x3x4", np.asfortranarray(np.arange(24, dtype=np.int32).reshape(2, 3, 4)))
    save("be_f4", np.array([1.0, 2.0, 3.0], dtype=">f4"))

    members = {
        "weights": rng.standard_normal((2, 3)).astype(np.float32),
        "labels": np.array([3, 1, 4, 1, 5], dtype=np.int64),
        "image": np.arange(12, dtype=np.uint8).reshape(3, 4) * 20,
        "bias": np.array(0.125, dtype=np.float64),
    }
    save_npz("arrays", members, compressed=False)
    save_npz("arrays_compressed", members, compressed=True)


if __name__ == "__main__":
    main()
