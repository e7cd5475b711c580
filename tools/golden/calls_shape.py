#!/usr/bin/python3
# Golden data for the shape ops in src/SharpGrad/Ops/Shape (see tools/golden/calls.py).
import torch
import torch.nn.functional as F

from calls import Suite, enum, inp, inps, normal

s = Suite("shape")

# Slice: Python slicing x[..., start:end:step].
s.case("slice_step", lambda x: x[:, 1:6:2], [normal(3, 7)], "method", "Slice", {"dim": 1, "start": 1, "end": 6, "step": 2})
s.case("slice_negative", lambda x: x[-4:-1], [normal(5, 2)], "method", "Slice", {"dim": 0, "start": -4, "end": -1})
s.case("slice_open_end", lambda x: x[..., 2::3], [normal(2, 3, 9)], "method", "Slice", {"dim": -1, "start": 2, "end": None, "step": 3})
s.case("slice_clamped", lambda x: x[:, -100:100:4], [normal(2, 6)], "method", "Slice", {"dim": 1, "start": -100, "end": 100, "step": 4})

# Split / Chunk: one case per piece checked (output index).
for k in range(3):
    s.case(f"split_sizes_{k}", lambda x: torch.split(x, [1, 3, 2], 1), [normal(2, 6)], "method", "Split",
           {"sizes": [1, 3, 2], "dim": 1}, output=k)
s.case("split_size_last", lambda x: torch.split(x, 2, 0), [normal(5, 3)], "method", "Split", {"size": 2, "dim": 0}, output=2)
s.case("split_size_first", lambda x: torch.split(x, 2, 0), [normal(5, 3)], "method", "Split", {"size": 2, "dim": 0}, output=0)
s.case("chunk_uneven", lambda x: torch.chunk(x, 3, -1), [normal(2, 5)], "method", "Chunk", {"chunks": 3, "dim": -1}, output=2)
s.case("chunk_fewer", lambda x: torch.chunk(x, 4, 0), [normal(6, 2)], "method", "Chunk", {"chunks": 4, "dim": 0}, output=2)

# Repeat, Flip, Roll.
s.case("repeat", lambda x: x.repeat(2, 3), [normal(2, 3)], "method", "Repeat", {"repeats": [2, 3]})
s.case("repeat_new_dims", lambda x: x.repeat(2, 1, 2), [normal(3)], "method", "Repeat", {"repeats": [2, 1, 2]})
s.case("flip_last", lambda x: x.flip(-1), [normal(3, 4)], "method", "Flip", {"dims": [-1]})
s.case("flip_two", lambda x: x.flip(0, 2), [normal(2, 3, 4)], "method", "Flip", {"dims": [0, 2]})
s.case("roll_flat", lambda x: torch.roll(x, 5), [normal(2, 3)], "method", "Roll", {"shifts": 5})
s.case("roll_dim", lambda x: torch.roll(x, -1, 1), [normal(2, 4)], "method", "Roll", {"shifts": -1, "dims": 1})
s.case("roll_dims", lambda x: torch.roll(x, (1, 7), (0, 2)), [normal(3, 2, 4)], "method", "Roll", {"shifts": [1, 7], "dims": [0, 2]})

# Tril, Triu.
s.case("tril", lambda x: x.tril(), [normal(4, 4)], "method", "Tril")
s.case("tril_batched_1", lambda x: x.tril(1), [normal(2, 3, 5)], "method", "Tril", {"diagonal": 1})
s.case("tril_tall_m2", lambda x: x.tril(-2), [normal(5, 3)], "method", "Tril", {"diagonal": -2})
s.case("triu", lambda x: x.triu(), [normal(4, 4)], "method", "Triu")
s.case("triu_batched_m1", lambda x: x.triu(-1), [normal(2, 3, 5)], "method", "Triu", {"diagonal": -1})
s.case("triu_wide_2", lambda x: x.triu(2), [normal(3, 6)], "method", "Triu", {"diagonal": 2})

# Pad: PyTorch's order, last dimension first.
s.case("pad_constant", lambda x: F.pad(x, (1, 2), value=0.5), [normal(2, 3)], "functional", "Pad",
       {"input": inp(0), "pads": [1, 2], "value": 0.5})
s.case("pad_constant_crop", lambda x: F.pad(x, (-1, 2, 1, -1)), [normal(2, 3, 4)], "functional", "Pad",
       {"input": inp(0), "pads": [-1, 2, 1, -1]})
s.case("pad_constant_3dims", lambda x: F.pad(x, (0, 0, 1, 1, 2, 0)), [normal(2, 2, 3)], "functional", "Pad",
       {"input": inp(0), "pads": [0, 0, 1, 1, 2, 0]})
s.case("pad_reflect", lambda x: F.pad(x, (2, 1), mode="reflect"), [normal(2, 2, 4)], "functional", "Pad",
       {"input": inp(0), "pads": [2, 1], "mode": enum("PadMode", "Reflect")})
s.case("pad_reflect_2d", lambda x: F.pad(x, (1, 2, 2, 1), mode="reflect"), [normal(1, 2, 3, 4)], "functional", "Pad",
       {"input": inp(0), "pads": [1, 2, 2, 1], "mode": enum("PadMode", "Reflect")})
s.case("pad_reflect_crop", lambda x: F.pad(x, (-1, 2), mode="reflect"), [normal(1, 2, 4)], "functional", "Pad",
       {"input": inp(0), "pads": [-1, 2], "mode": enum("PadMode", "Reflect")})
s.case("pad_replicate_3d", lambda x: F.pad(x, (1, 2, 0, 1, 2, 0), mode="replicate"), [normal(1, 2, 2, 2, 3)], "functional", "Pad",
       {"input": inp(0), "pads": [1, 2, 0, 1, 2, 0], "mode": enum("PadMode", "Replicate")})
s.case("pad_replicate_1d", lambda x: F.pad(x, (3, 1), mode="replicate"), [normal(2, 3)], "functional", "Pad",
       {"input": inp(0), "pads": [3, 1], "mode": enum("PadMode", "Replicate")})
s.case("pad_circular", lambda x: F.pad(x, (2, 1), mode="circular"), [normal(1, 2, 3)], "functional", "Pad",
       {"input": inp(0), "pads": [2, 1], "mode": enum("PadMode", "Circular")})
s.case("pad_circular_2d", lambda x: F.pad(x, (1, 1, 2, 0), mode="circular"), [normal(1, 1, 3, 3)], "functional", "Pad",
       {"input": inp(0), "pads": [1, 1, 2, 0], "mode": enum("PadMode", "Circular")})

# Einsum: explicit and implicit outputs, diagonals, ellipsis broadcasting.
def ein(name, eq, shapes, **kw):
    s.case(name, lambda *xs: torch.einsum(eq, *xs), [normal(*sh) for sh in shapes], "static", "Einsum",
           {"equation": eq, "operands": inps(*range(len(shapes)))}, **kw)


ein("einsum_matmul", "ij,jk->ik", [(2, 3), (3, 4)])
ein("einsum_bmm_transposed", "bji,bkj->bik", [(2, 3, 2), (2, 4, 3)])
ein("einsum_implicit", "ba,ac", [(3, 2), (2, 4)])
ein("einsum_implicit_upper", "Ab,ba", [(2, 3), (3, 2)])
ein("einsum_trace", "ii", [(3, 3)])
ein("einsum_diag", "ii->i", [(4, 4)])
ein("einsum_diag3", "iji->ij", [(3, 2, 3)])
ein("einsum_outer", "i,j->ij", [(3,), (2,)])
ein("einsum_sum", "ijk->", [(2, 3, 4)])
ein("einsum_permute", "ijk->kij", [(2, 3, 4)])
ein("einsum_three", "ij,jk,kl->il", [(2, 3), (3, 2), (2, 5)])
ein("einsum_ellipsis", "...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)])
ein("einsum_ellipsis_implicit", "i...,i...", [(2, 3), (2, 3)])
ein("einsum_ellipsis_summed", "...ij->ij", [(2, 3, 4)])
ein("einsum_attention", "bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)])
ein("einsum_bilinear", "bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)])
ein("einsum_broadcast_one", "ij,jk->ik", [(2, 1), (3, 4)])
ein("einsum_hadamard_spaces", "i j , i j -> i j", [(2, 3), (2, 3)])
ein("einsum_batch_diag", "bii->bi", [(2, 3, 3)])

s.write()
