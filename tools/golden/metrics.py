#!/usr/bin/python3
"""Golden values for SharpGrad.Training.Metrics, computed with plain NumPy formulas (no scikit-learn, and not the
algorithms the C# side uses: top-k by argsort, AUC by counting every positive/negative pair, per-class scores from a
confusion matrix built with np.add.at). Writes tests/golden/metrics/metrics.json. Run: /usr/bin/python3 tools/golden/metrics.py
"""
import json
import os

import numpy as np

rng = np.random.default_rng(17)
cases = []


def classification(name, n, c, k, never_predicted=None):
    scores = rng.normal(size=(n, c))
    if never_predicted is not None:
        scores[:, never_predicted] -= 100.0  # this class is never the argmax: its precision is 0/0 -> 0
    target = rng.integers(0, c, size=n)
    pred = scores.argmax(axis=1)
    topk = np.argsort(-scores, axis=1)[:, :k]
    cm = np.zeros((c, c), dtype=np.int64)
    np.add.at(cm, (target, pred), 1)
    tp = np.diag(cm).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    actual = cm.sum(axis=1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros(c), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(c), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(c), where=denom > 0)
    cases.append(dict(kind="classification", name=name, n=n, c=c, k=k, scores=scores.ravel().tolist(), target=target.tolist(),
                      accuracy=float((pred == target).mean()), topk=float((topk == target[:, None]).any(axis=1).mean()),
                      confusion=cm.ravel().tolist(), precision=precision.tolist(), recall=recall.tolist(), f1=f1.tolist(),
                      support=actual.astype(np.int64).tolist(), macro_precision=float(precision.mean()),
                      macro_recall=float(recall.mean()), macro_f1=float(f1.mean())))


def regression(name, n, k):
    target = rng.normal(size=(n, k)) * 3 + 1
    pred = target + rng.normal(size=(n, k))
    err = pred - target
    r2 = [1 - ((target[:, j] - pred[:, j]) ** 2).sum() / ((target[:, j] - target[:, j].mean()) ** 2).sum() for j in range(k)]
    cases.append(dict(kind="regression", name=name, n=n, k=k, prediction=pred.ravel().tolist(), target=target.ravel().tolist(),
                      mae=float(np.abs(err).mean()), rmse=float(np.sqrt((err ** 2).mean())), r2=float(np.mean(r2))))


def auc(name, n, decimals):
    target = rng.integers(0, 2, size=n)
    scores = np.round(rng.normal(size=n) + 0.8 * target, decimals)  # rounding makes ties
    pos, neg = scores[target == 1], scores[target == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    cases.append(dict(kind="auc", name=name, n=n, scores=scores.tolist(), target=target.tolist(),
                      auc=float(wins / (len(pos) * len(neg)))))


classification("four_classes", 50, 4, 2)
classification("five_classes_one_never_predicted", 40, 5, 3, never_predicted=4)
regression("one_output", 40, 1)
regression("three_outputs", 30, 3)
auc("ties", 60, 1)
auc("no_ties", 45, 6)

out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "metrics", "metrics.json")
with open(out, "w") as f:
    json.dump(cases, f)
print(f"{len(cases)} cases -> {os.path.normpath(out)}")
