#!/usr/bin/env python3
"""Writes the hostile files that RELIABILITY.md measures `sharpgrad inspect` on (standard library only).

    python3 tools/make_bombs.py DIR

bomb.idx.gz       a 1 GiB uint8 IDX array of zeros, gzip-compressed (about 1 MB)
bomb.npz          one member w.npy, 1 GiB of float64 zeros, deflated (about 1 MB)
alias.npz         one 512 MiB member and 7 more central-directory entries pointing at it
huge.safetensors  a 99 MB header of 1,650,000 empty F32 tensors

Nothing is held in memory whole: data is compressed in 1 MiB pieces.
"""
import struct
import sys
import zipfile
import zlib
from pathlib import Path

MIB = 1 << 20


def zeros(write, count):
    chunk = bytes(MIB)
    while count > 0:
        write(chunk[:min(count, MIB)])
        count -= MIB


def npy_header(descr, count):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }" % (descr, count)
    total = (10 + len(d) + 1 + 63) // 64 * 64
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", total - 10) + d.ljust(total - 11).encode() + b"\n"


def idx_gz(path, side):
    import gzip
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(bytes([0, 0, 8, 2]) + struct.pack(">II", side, side))
        zeros(f.write, side * side)


def npz(path, name, count):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open(name + ".npy", "w", force_zip64=True) as f:
            f.write(npy_header("<f8", count))
            zeros(f.write, 8 * count)


def alias(path, aliases):
    data = bytearray(path.read_bytes())
    end = len(data) - 22
    assert data[end:end + 4] == b"PK\x05\x06"
    count, cd_size, cd_offset = struct.unpack_from("<HII", data, end + 10)
    entry = bytes(data[cd_offset:cd_offset + cd_size])
    extra = b""
    for i in range(aliases):
        e = bytearray(entry)
        e[46] = ord("b") + i
        extra += e
    eocd = bytearray(data[end:])
    struct.pack_into("<HHI", eocd, 8, count + aliases, count + aliases, cd_size * (1 + aliases))
    path.write_bytes(bytes(data[:cd_offset + cd_size]) + extra + bytes(eocd))


def safetensors(path, n):
    parts = ['"t%d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}' % i for i in range(n)]
    header = ("{" + ",".join(parts) + "}").encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header)


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    idx_gz(out / "bomb.idx.gz", 32768)
    npz(out / "bomb.npz", "w", 128 * MIB)
    npz(out / "alias.npz", "a", 64 * MIB)
    alias(out / "alias.npz", 7)
    safetensors(out / "huge.safetensors", 1_650_000)
    for p in sorted(out.iterdir()):
        print(f"{p}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
