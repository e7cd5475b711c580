#!/usr/bin/python3
# Golden data for the losses in src/SharpGrad/Ops/Losses (see tools/golden/calls.py): forward and the gradient of the
# scores/inputs; class targets, class weights, pos_weight and +-1 targets are consts (not differentiated).
import numpy as np
import torch
import torch.nn.functional as F

from calls import Suite, const, enum, inp, normal, uniform

s = Suite("losses")
R = lambda name: enum("Reduction", name)  # noqa: E731

targets = np.array([2, 0, 3, 1, 3, 0], dtype=np.int64)
ignored = np.array([2, -100, 3, 1, -100, 0], dtype=np.int64)
custom_ignored = np.array([2, 1, 3, 1, 1, 0], dtype=np.int64)  # ignoreIndex 1
weight = np.array([0.5, 2.0, 1.0, 1.5])

for red in ["mean", "sum", "none"]:
    Red = red.capitalize()
    s.case(f"ce_{red}", lambda x, t, red=red: F.cross_entropy(x, t, reduction=red), [normal(6, 4)], "functional", "CrossEntropy",
           {"input": inp(0), "target": const(0), "reduction": R(Red)}, consts=[targets])
    s.case(f"ce_weight_{red}", lambda x, t, w, red=red: F.cross_entropy(x, t, weight=w, reduction=red), [normal(6, 4)], "functional",
           "CrossEntropy", {"input": inp(0), "target": const(0), "reduction": R(Red), "weight": const(1)}, consts=[targets, weight])
    s.case(f"ce_ignore_{red}", lambda x, t, red=red: F.cross_entropy(x, t, reduction=red), [normal(6, 4)], "functional", "CrossEntropy",
           {"input": inp(0), "target": const(0), "reduction": R(Red)}, consts=[ignored])
    s.case(f"ce_weight_ignore_smooth_{red}", lambda x, t, w, red=red: F.cross_entropy(x, t, weight=w, reduction=red, label_smoothing=0.2),
           [normal(6, 4)], "functional", "CrossEntropy",
           {"input": inp(0), "target": const(0), "reduction": R(Red), "labelSmoothing": 0.2, "weight": const(1)}, consts=[ignored, weight])
    s.case(f"ce_ignore_smooth_{red}", lambda x, t, red=red: F.cross_entropy(x, t, reduction=red, label_smoothing=0.3, ignore_index=1),
           [normal(6, 4)], "functional", "CrossEntropy",
           {"input": inp(0), "target": const(0), "reduction": R(Red), "labelSmoothing": 0.3, "ignoreIndex": 1}, consts=[custom_ignored])
    s.case(f"nll_weight_ignore_{red}", lambda x, t, w, red=red: F.nll_loss(x, t, weight=w, reduction=red, ignore_index=1), [normal(6, 4)],
           "functional", "NllLoss", {"logProbabilities": inp(0), "target": const(0), "reduction": R(Red), "weight": const(1), "ignoreIndex": 1},
           consts=[custom_ignored, weight])
    s.case(f"l1_{red}", lambda x, y, red=red: F.l1_loss(x, y, reduction=red), [normal(3, 5), normal(3, 5)], "functional", "L1Loss",
           {"input": inp(0), "target": inp(1), "reduction": R(Red)})
    s.case(f"smooth_l1_{red}", lambda x, y, red=red: F.smooth_l1_loss(x, y, reduction=red, beta=0.5), [normal(3, 5), normal(3, 5)],
           "functional", "SmoothL1Loss", {"input": inp(0), "target": inp(1), "reduction": R(Red), "beta": 0.5})
    s.case(f"bce_logits_pos_weight_{red}", lambda x, y, pw, red=red: F.binary_cross_entropy_with_logits(x, y, reduction=red, pos_weight=pw),
           [normal(4, 3)], "functional", "BinaryCrossEntropyWithLogits",
           {"input": inp(0), "target": const(0), "reduction": R(Red), "posWeight": const(1)},
           consts=[np.array([[0, 1, 1], [1, 0, 0.5], [0.2, 1, 0], [1, 1, 0]]), np.array([3.0, 0.5, 1.5])])
    s.case(f"cosine_embedding_{red}", lambda a, b, t, red=red: F.cosine_embedding_loss(a, b, t, margin=-0.2, reduction=red),
           [normal(5, 3), normal(5, 3)], "functional", "CosineEmbeddingLoss",
           {"input1": inp(0), "input2": inp(1), "target": const(0), "margin": -0.2, "reduction": R(Red)},
           consts=[np.array([1.0, -1, -1, 1, -1])])

s.case("ce_smooth_unbatched", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), [normal(5)], "functional", "CrossEntropy",
       {"input": inp(0), "target": const(0), "labelSmoothing": 0.1}, consts=[np.array(3, dtype=np.int64)])
s.case("ce_probabilities_weight_smooth", lambda x, q, w: F.cross_entropy(x, q, weight=w, label_smoothing=0.15), [normal(3, 4)],
       "functional", "CrossEntropy", {"input": inp(0), "target": const(0), "labelSmoothing": 0.15, "weight": const(1)},
       consts=[np.array([[0.1, 0.2, 0.3, 0.4], [1, 0, 0, 0], [0.25, 0.25, 0.5, 0]]), weight])
s.case("smooth_l1_beta0", lambda x, y: F.smooth_l1_loss(x, y, beta=0.0), [normal(2, 3), normal(2, 3)], "functional", "SmoothL1Loss",
       {"input": inp(0), "target": inp(1), "beta": 0.0})
s.case("bce_logits_weight_pos_weight", lambda x, y, w, pw: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw),
       [normal(2, 3)], "functional", "BinaryCrossEntropyWithLogits",
       {"input": inp(0), "target": const(0), "weight": const(1), "posWeight": const(2)},
       consts=[np.array([[0, 1, 1], [1, 0, 0.5]]), np.array([[2.0], [0.5]]), np.array([3.0, 0.5, 1.5])])
s.case("bce_weight", lambda p, y, w: F.binary_cross_entropy(p, y, weight=w), [uniform(0.05, 0.95, 2, 3)], "functional",
       "BinaryCrossEntropy", {"input": inp(0), "target": const(0), "weight": const(1)},
       consts=[np.array([[0, 1, 1], [1, 0, 0.5]]), np.array([1.0, 2.0, 0.5])])
s.case("cosine_embedding_unbatched", lambda a, b, t: F.cosine_embedding_loss(a, b, t, margin=0.1), [normal(4), normal(4)], "functional",
       "CosineEmbeddingLoss", {"input1": inp(0), "input2": inp(1), "target": const(0), "margin": 0.1}, consts=[np.array(1.0)])

s.case("cosine_similarity", lambda a, b: F.cosine_similarity(a, b), [normal(3, 4), normal(3, 4)], "functional", "CosineSimilarity",
       {"x1": inp(0), "x2": inp(1)})
s.case("cosine_similarity_dim_last_broadcast", lambda a, b: F.cosine_similarity(a, b, dim=-1), [normal(2, 3, 5), normal(3, 5)], "functional",
       "CosineSimilarity", {"x1": inp(0), "x2": inp(1), "dim": -1})
s.case("cosine_similarity_1d", lambda a, b: F.cosine_similarity(a, b, dim=0), [normal(6), normal(6)], "functional", "CosineSimilarity",
       {"x1": inp(0), "x2": inp(1), "dim": 0})
s.case("pairwise_distance", lambda a, b: F.pairwise_distance(a, b), [normal(4, 3), normal(4, 3)], "functional", "PairwiseDistance",
       {"x1": inp(0), "x2": inp(1)})
s.case("pairwise_distance_p1_keepdim", lambda a, b: F.pairwise_distance(a, b, p=1.0, keepdim=True), [normal(4, 3), normal(4, 3)],
       "functional", "PairwiseDistance", {"x1": inp(0), "x2": inp(1), "p": 1.0, "keepDim": True})
s.case("pairwise_distance_p3_broadcast", lambda a, b: F.pairwise_distance(a, b, p=3.0), [normal(2, 5), normal(5)], "functional",
       "PairwiseDistance", {"x1": inp(0), "x2": inp(1), "p": 3.0})

s.write()
