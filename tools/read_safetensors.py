#!/usr/bin/env python3
"""An independent safetensors reader (and golden-file writer) using only json, struct and numpy.

It shares no code with SharpGrad's C# reader, so a test that writes a file with SharpGrad and reads it here checks
the file against the format itself (8-byte little-endian header length, JSON header of dtype/shape/data_offsets with
an optional __metadata__ map of strings, raw little-endian data), not against our own reading of it.

    read_safetensors.py FILE            print {"metadata": {...}, "tensors": [{"name", "dtype", "shape", "values"}]}
                                        as JSON; values are Python reprs of each element ('nan', 'inf', '-0.0' kept)
    read_safetensors.py --write-golden DIR
                                        write DIR/golden.safetensors and DIR/golden.json (the same listing) for the
                                        C# test that runs where Python is absent (tests/golden/io/)
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U8": "u1", "BOOL": "?"}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    base = 8 + n
    tensors = []
    for name, info in sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        begin, end = info["data_offsets"]
        raw = data[base + begin:base + end]
        if info["dtype"] == "BF16":  # numpy has no bfloat16: it is the top half of a float32
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view("<f4")
        else:
            arr = np.frombuffer(raw, dtype=DTYPES[info["dtype"]])
        arr = arr.reshape(info["shape"])
        assert base + end <= len(data), f"{name} runs past the end of the file"
        tensors.append({"name": name, "dtype": info["dtype"], "shape": list(arr.shape),
                        "values": [repr(v) for v in arr.ravel().tolist()]})
    return {"metadata": metadata, "tensors": tensors}


def write_golden(directory):
    """A file laid out the way Python writers do (spaces after separators, __metadata__ last, names not in data
    order, no alignment padding), holding the dtypes SharpGrad loads, including F16 and BF16."""
    arrays = [
        ("fc1.weight", "F32", np.array([[0.5, -1.25, 3.0e-38], [np.inf, -0.0, 1.0e10]], dtype="<f4")),
        ("fc1.bias", "F64", np.array([np.pi, -np.e, 5e-324], dtype="<f8")),
        ("steps", "I64", np.array([[-(2 ** 63), 2 ** 63 - 1], [0, 42]], dtype="<i8")),
        ("half", "F16", np.array([1.0, -2.5, 65504.0, 6.0e-8], dtype="<f2")),
        ("scalar", "F32", np.array(7.0, dtype="<f4")),
        ("empty", "F32", np.zeros((0, 3), dtype="<f4")),
    ]
    bf16_bits = np.array([0x3F80, 0xC0A0, 0x7F80, 0x0001], dtype="<u2")  # 1.0, -5.0, inf, smallest subnormal
    blobs, offset, header = [], 0, {}
    for name, dtype, arr in arrays:
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    raw = bf16_bits.tobytes()
    header["brain"] = {"dtype": "BF16", "shape": [2, 2], "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    header = dict(sorted(header.items()))  # alphabetical, so not in data order
    header["__metadata__"] = {"format": "pt", "source": "tools/read_safetensors.py", "note": "ünïcödé"}
    text = json.dumps(header, ensure_ascii=False).encode("utf-8")
    path = f"{directory}/golden.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    with open(f"{directory}/golden.json", "w", encoding="utf-8") as f:
        json.dump(read(path), f, indent=1, ensure_ascii=False)


def main(argv):
    if len(argv) == 3 and argv[1] == "--write-golden":
        write_golden(argv[2])
    elif len(argv) == 2:
        json.dump(read(argv[1]), sys.stdout, ensure_ascii=False)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
