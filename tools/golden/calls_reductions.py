#!/usr/bin/python3
# Golden data for the reductions of issue 13 in src/SharpGrad/Ops/Reductions (see tools/golden/calls.py):
# Var, Std, Prod, Norm, ArgMin, Sort, TopK, ArgSort, CumSum, CumProd.
# (The infinity norm is tested in C#: JSON has no infinity for the argument.)
import torch

from calls import Suite, distinct, normal, uniform

s = Suite("reductions")
s.case("var_all", lambda x: torch.var(x), [normal(3, 4)], "method", "Var")
s.case("var_dim", lambda x: torch.var(x, dim=1), [normal(3, 4)], "method", "Var", {"dim": 1})
s.case("var_dim0_keep_c0", lambda x: torch.var(x, dim=0, correction=0, keepdim=True), [normal(4, 3, 5)], "method", "Var",
       {"dim": 0, "correction": 0, "keepDim": True})
s.case("var_long_rows", lambda x: torch.var(x, dim=-1), [normal(3, 70)], "method", "Var", {"dim": -1})
s.case("var_offset", lambda x: torch.var(x + 1000, dim=1), [normal(3, 40)], "method", "Var", {"dim": 1}, rtol32=1e-2, atol32=1e-2)
s.case("std_all", lambda x: torch.std(x), [normal(3, 4)], "method", "Std")
s.case("std_dim", lambda x: torch.std(x, dim=-1, correction=0), [normal(2, 3, 6)], "method", "Std", {"dim": -1, "correction": 0})
s.case("std_keep", lambda x: torch.std(x, dim=1, keepdim=True), [normal(2, 5, 3)], "method", "Std", {"dim": 1, "keepDim": True})
s.case("prod_all", lambda x: torch.prod(x), [uniform(0.5, 1.5, 3, 4)], "method", "Prod")
s.case("prod_dim", lambda x: torch.prod(x, 1), [normal(3, 4)], "method", "Prod", {"dim": 1})
s.case("prod_dim0_keep", lambda x: torch.prod(x, 0, keepdim=True), [normal(3, 2, 5)], "method", "Prod", {"dim": 0, "keepDim": True})
s.case("norm_2_all", lambda x: torch.linalg.vector_norm(x), [normal(3, 4)], "method", "Norm")
s.case("norm_2_dim", lambda x: torch.linalg.vector_norm(x, 2, dim=1), [normal(3, 4)], "method", "Norm", {"p": 2.0, "dim": 1})
s.case("norm_1_dim", lambda x: torch.linalg.vector_norm(x, 1, dim=0, keepdim=True), [normal(3, 4)], "method", "Norm",
       {"p": 1.0, "dim": 0, "keepDim": True})
s.case("norm_3_dim", lambda x: torch.linalg.vector_norm(x, 3, dim=-1), [normal(2, 3, 5)], "method", "Norm", {"p": 3.0, "dim": -1})
s.case("norm_1_5_all", lambda x: torch.linalg.vector_norm(x, 1.5), [normal(7)], "method", "Norm", {"p": 1.5})
s.case("argmin_dim", lambda x: torch.argmin(x, dim=1), [normal(4, 5)], "method", "ArgMin", {"dim": 1})
s.case("argmin_dim0_keep", lambda x: torch.argmin(x, dim=0, keepdim=True), [normal(4, 3, 2)], "method", "ArgMin",
       {"dim": 0, "keepDim": True})
s.case("argmin_all", lambda x: torch.argmin(x), [normal(4, 5)], "method", "ArgMin")
s.case("sort_values", lambda x: torch.sort(x, dim=-1), [distinct(3, 6)], "method", "Sort", output=0)
s.case("sort_indices", lambda x: torch.sort(x, dim=-1), [distinct(3, 6)], "method", "Sort", output=1)
s.case("sort_desc_dim0", lambda x: torch.sort(x, dim=0, descending=True), [distinct(5, 3)], "method", "Sort",
       {"dim": 0, "descending": True}, output=0)
s.case("sort_desc_dim0_indices", lambda x: torch.sort(x, dim=0, descending=True), [distinct(5, 3)], "method", "Sort",
       {"dim": 0, "descending": True}, output=1)
s.case("sort_middle", lambda x: torch.sort(x, dim=1), [distinct(2, 4, 3)], "method", "Sort", {"dim": 1}, output=0)
s.case("topk_values", lambda x: torch.topk(x, 3), [distinct(4, 7)], "method", "TopK", {"k": 3}, output=0)
s.case("topk_indices", lambda x: torch.topk(x, 3), [distinct(4, 7)], "method", "TopK", {"k": 3}, output=1)
s.case("topk_smallest_dim0", lambda x: torch.topk(x, 2, dim=0, largest=False), [distinct(5, 3)], "method", "TopK",
       {"k": 2, "dim": 0, "largest": False}, output=0)
s.case("topk_smallest_dim0_indices", lambda x: torch.topk(x, 2, dim=0, largest=False), [distinct(5, 3)], "method", "TopK",
       {"k": 2, "dim": 0, "largest": False}, output=1)
s.case("argsort", lambda x: torch.argsort(x, dim=1), [distinct(3, 5, 2)], "method", "ArgSort", {"dim": 1})
s.case("argsort_desc", lambda x: torch.argsort(x, descending=True), [distinct(4, 6)], "method", "ArgSort", {"descending": True})
s.case("cumsum_last", lambda x: torch.cumsum(x, -1), [normal(3, 6)], "method", "CumSum", {"dim": -1})
s.case("cumsum_dim0", lambda x: torch.cumsum(x, 0), [normal(4, 3, 2)], "method", "CumSum", {"dim": 0})
s.case("cumprod_last", lambda x: torch.cumprod(x, -1), [normal(3, 6)], "method", "CumProd", {"dim": -1})
s.case("cumprod_dim1", lambda x: torch.cumprod(x, 1), [uniform(0.5, 1.5, 2, 5, 3)], "method", "CumProd", {"dim": 1})
s.write()
