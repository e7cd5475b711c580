#!/usr/bin/python3
# Golden data for the indexing ops in src/SharpGrad/Ops/Indexing (see tools/golden/calls.py).
import numpy as np
import torch
import torch.nn.functional as F

from calls import Suite, const, inp, normal

s = Suite("indexing")

# Scatter: targets distinct along dim (PyTorch leaves repeated targets unspecified).
perm = np.array([[2, 0, 1], [1, 2, 0]], dtype=np.int64)
s.case("scatter_src", lambda x, src, i: x.scatter(0, i, src), [normal(3, 3), normal(2, 3)], "method", "Scatter",
       {"dim": 0, "index": const(0), "src": inp(1)}, consts=[perm])
s.case("scatter_src_dim1", lambda x, src, i: x.scatter(1, i, src), [normal(2, 5), normal(2, 3)], "method", "Scatter",
       {"dim": 1, "index": const(0), "src": inp(1)}, consts=[np.array([[4, 0, 2], [1, 3, 0]], dtype=np.int64)])
s.case("scatter_value", lambda x, i: x.scatter(1, i, -1.5), [normal(2, 4)], "method", "Scatter",
       {"dim": 1, "index": const(0), "value": -1.5}, consts=[np.array([[1, 3], [0, 2]], dtype=np.int64)])
s.case("scatter_3d", lambda x, src, i: x.scatter(-1, i, src), [normal(2, 2, 4), normal(2, 2, 2)], "method", "Scatter",
       {"dim": -1, "index": const(0), "src": inp(1)}, consts=[np.array([[[3, 1], [0, 2]], [[1, 0], [2, 3]]], dtype=np.int64)])

# ScatterAdd and IndexAdd: repeated targets accumulate.
s.case("scatter_add_duplicates", lambda x, src, i: x.scatter_add(1, i, src), [normal(2, 3), normal(2, 4)], "method", "ScatterAdd",
       {"dim": 1, "index": const(0), "src": inp(1)}, consts=[np.array([[0, 0, 2, 0], [1, 1, 0, 1]], dtype=np.int64)])
s.case("scatter_add_dim0", lambda x, src, i: x.scatter_add(0, i, src), [normal(2, 2), normal(3, 2)], "method", "ScatterAdd",
       {"dim": 0, "index": const(0), "src": inp(1)}, consts=[np.array([[1, 0], [1, 1], [0, 1]], dtype=np.int64)])
s.case("scatter_add_smaller_index", lambda x, src, i: x.scatter_add(1, i, src), [normal(3, 4), normal(3, 2)], "method", "ScatterAdd",
       {"dim": 1, "index": const(0), "src": inp(1)}, consts=[np.array([[3, 3], [0, 1], [2, 2]], dtype=np.int64)])
s.case("index_add_duplicates", lambda x, src, i: x.index_add(0, i, src), [normal(4, 2), normal(3, 2)], "method", "IndexAdd",
       {"dim": 0, "index": const(0), "source": inp(1)}, consts=[np.array([2, 0, 2], dtype=np.int64)])
s.case("index_add_alpha", lambda x, src, i: x.index_add(1, i, src, alpha=-0.5), [normal(2, 3, 2), normal(2, 4, 2)], "method", "IndexAdd",
       {"dim": 1, "index": const(0), "source": inp(1), "alpha": -0.5}, consts=[np.array([1, 1, 0, 2], dtype=np.int64)])

# OneHot: Int64 output, compared exactly.
s.case("one_hot", lambda i: F.one_hot(i, 5), [], "functional", "OneHot", {"indices": const(0), "numClasses": 5},
       consts=[np.array([[0, 4, 2], [1, 1, 3]], dtype=np.int64)], grad=False, dtypes=("float64",))
s.case("one_hot_inferred", lambda i: F.one_hot(i), [], "functional", "OneHot", {"indices": const(0)},
       consts=[np.array([3, 0, 1], dtype=np.int64)], grad=False, dtypes=("float64",))

s.write()
