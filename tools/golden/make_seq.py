#!/usr/bin/python3
# Golden data for SharpGrad's sequence layers (RNN, LSTM, GRU and their cells, Embedding) and gradient clipping,
# computed by PyTorch 1.13 in float64. Run with the system Python:
#
#     /usr/bin/python3 tools/golden/make_seq.py
#
# For each case, tests/golden/seq/<case>/ holds: param.<name>.npy (the state dict, PyTorch's names), in.<k>.npy (the
# inputs: x, h0, c0 or indices), out.<k>.npy (the outputs: output, h_n, c_n), w.<k>.npy (fixed random weights: the loss
# is sum(out_k * w_k)), grad.in.<k>.npy and grad.param.<name>.npy (its gradients), and case.json (module and
# arguments). tests/SharpGrad.Tests/NN/SequenceGoldenTests.cs loads the state dict into the same SharpGrad module and
# compares everything. Deterministic: re-running rewrites the same bytes.
import json
import os
import shutil
import zlib

import numpy as np
import torch

torch.set_num_threads(1)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "golden", "seq")
torch.set_default_dtype(torch.float64)


def save(d, name, t):
    np.save(os.path.join(d, name + ".npy"), t.detach().numpy())


def run(case, module, inputs, outputs_fn, meta):
    d = os.path.join(OUT, case)
    os.makedirs(d)
    g = torch.Generator().manual_seed(zlib.crc32(case.encode("utf-8")))
    for name, p in module.state_dict().items():
        save(d, "param." + name, p)
    for k, x in inputs.items():
        save(d, "in." + k, x)
    outs = outputs_fn(**inputs)
    loss = 0
    for k, y in outs.items():
        save(d, "out." + k, y)
        if y.dtype.is_floating_point:
            w = torch.randn(y.shape, generator=g)
            save(d, "w." + k, w)
            loss = loss + (y * w).sum()
    loss.backward()
    for k, x in inputs.items():
        if x.dtype.is_floating_point:
            save(d, "grad.in." + k, x.grad if x.grad is not None else torch.zeros_like(x))
    for name, p in module.named_parameters():
        save(d, "grad.param." + name, p.grad if p.grad is not None else torch.zeros_like(p))
    meta = dict(meta, inputs=list(inputs), outputs=list(outs))
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


def randn(*shape, grad=True, seed=0):
    t = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    return t.requires_grad_(grad)


if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)
torch.manual_seed(2024)

# Recurrent networks: (case, class, ctor kwargs, input shape, with states)
nets = [
    ("lstm_2layer_bidir", torch.nn.LSTM, dict(input_size=5, hidden_size=4, num_layers=2, bidirectional=True), (6, 3, 5), True),
    ("lstm_batchfirst_nobias", torch.nn.LSTM, dict(input_size=3, hidden_size=6, num_layers=1, bias=False, batch_first=True), (2, 5, 3), False),
    ("gru_2layer_bidir", torch.nn.GRU, dict(input_size=5, hidden_size=4, num_layers=2, bidirectional=True), (6, 3, 5), True),
    ("gru_batchfirst", torch.nn.GRU, dict(input_size=4, hidden_size=3, num_layers=3, batch_first=True), (2, 7, 4), False),
    ("rnn_tanh_2layer", torch.nn.RNN, dict(input_size=4, hidden_size=5, num_layers=2), (5, 2, 4), True),
    ("rnn_relu_bidir", torch.nn.RNN, dict(input_size=3, hidden_size=4, num_layers=1, nonlinearity="relu", bidirectional=True), (4, 2, 3), False),
]
for i, (case, cls, kw, shape, states) in enumerate(nets):
    m = cls(**kw)
    d = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1)
    batch = shape[0] if kw.get("batch_first") else shape[1]
    inputs = {"x": randn(*shape, seed=10 * i)}
    if states:
        inputs["h0"] = randn(L * d, batch, kw["hidden_size"], seed=10 * i + 1)
        if cls is torch.nn.LSTM:
            inputs["c0"] = randn(L * d, batch, kw["hidden_size"], seed=10 * i + 2)
    if cls is torch.nn.LSTM:
        def fn(x, h0=None, c0=None, m=m):
            y, (h, c) = m(x, None if h0 is None else (h0, c0))
            return {"output": y, "h_n": h, "c_n": c}
    else:
        def fn(x, h0=None, m=m):
            y, h = m(x, h0)
            return {"output": y, "h_n": h}
    run(case, m, inputs, fn, dict(module=cls.__name__, kwargs=kw))

# Cells
for i, (case, cls, kw) in enumerate([("lstmcell", torch.nn.LSTMCell, dict(input_size=5, hidden_size=3)),
                                     ("grucell", torch.nn.GRUCell, dict(input_size=5, hidden_size=3)),
                                     ("rnncell_relu", torch.nn.RNNCell, dict(input_size=5, hidden_size=3, nonlinearity="relu"))]):
    m = cls(**kw)
    inputs = {"x": randn(4, 5, seed=100 + i), "h0": randn(4, 3, seed=110 + i)}
    if cls is torch.nn.LSTMCell:
        inputs["c0"] = randn(4, 3, seed=120 + i)
        run(case, m, inputs, lambda x, h0, c0, m=m: dict(zip(("h", "c"), m(x, (h0, c0)))), dict(module=cls.__name__, kwargs=kw))
    else:
        run(case, m, inputs, lambda x, h0, m=m: {"h": m(x, h0)}, dict(module=cls.__name__, kwargs=kw))

# Embedding with a padding row and repeated indices
emb = torch.nn.Embedding(7, 3, padding_idx=2)
idx = torch.tensor([[0, 2, 5, 5], [2, 6, 1, 0]])
run("embedding_padding", emb, {"indices": idx}, lambda indices: {"y": emb(indices)},
    dict(module="Embedding", kwargs=dict(num_embeddings=7, embedding_dim=3, padding_idx=2)))

# Gradient clipping: gradients before, after, and the total norm
for case, max_norm, norm_type in [("clip_norm_2", 0.7, 2.0), ("clip_norm_inf", 0.5, float("inf")), ("clip_norm_1", 3.0, 1.0), ("clip_norm_noop", 100.0, 2.0)]:
    d = os.path.join(OUT, case)
    os.makedirs(d)
    ps = [torch.zeros(3, 4, requires_grad=True), torch.zeros(5, requires_grad=True)]
    for j, p in enumerate(ps):
        p.grad = torch.randn(p.shape, generator=torch.Generator().manual_seed(200 + j))
        save(d, f"grad_before.{j}", p.grad)
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
    for j, p in enumerate(ps):
        save(d, f"grad_after.{j}", p.grad)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(dict(module="clip_grad_norm", max_norm=max_norm, norm_type="inf" if norm_type == float("inf") else norm_type,
                       total=float(total), count=len(ps)), f, indent=1, sort_keys=True)
print("written", sorted(os.listdir(OUT)))

# Multi-head attention: PyTorch's module with its state dict; masks in its convention (True = ignore).
mha_cases = [
    ("mha_self_weights", dict(embed_dim=8, num_heads=2), (5, 3, 8), (5, 3, 8), True, None, None),
    ("mha_cross_batchfirst_padding", dict(embed_dim=6, num_heads=3, batch_first=True), (2, 4, 6), (2, 7, 6), False, "padding", None),
    ("mha_bool_attnmask_weights", dict(embed_dim=4, num_heads=1), (3, 2, 4), (6, 2, 4), True, None, "bool"),
    ("mha_float_attnmask_padding", dict(embed_dim=8, num_heads=4), (4, 2, 8), (4, 2, 8), False, "padding", "float"),
]
for i, (case, kw, qshape, kshape, need, kpm, am) in enumerate(mha_cases):
    m = torch.nn.MultiheadAttention(**kw)
    batch = qshape[0] if kw.get("batch_first") else qshape[1]
    L, S = (qshape[1], kshape[1]) if kw.get("batch_first") else (qshape[0], kshape[0])
    inputs = {"query": randn(*qshape, seed=300 + i), "key": randn(*kshape, seed=310 + i), "value": randn(*kshape, seed=320 + i)}
    r = np.random.default_rng(330 + i)
    if kpm:
        pad = r.standard_normal((batch, S)) > 0.3
        pad[:, 0] = False
        inputs["key_padding_mask"] = torch.tensor(pad)
    if am == "bool":
        mask = r.standard_normal((L, S)) > 0.5
        mask[:, 0] = False
        inputs["attn_mask"] = torch.tensor(mask)
    elif am == "float":
        inputs["attn_mask"] = torch.tensor(r.standard_normal((L, S)))

    def fn(query, key, value, key_padding_mask=None, attn_mask=None, m=m, need=need):
        y, w = m(query, key, value, key_padding_mask=key_padding_mask, attn_mask=attn_mask, need_weights=need)
        return {"output": y, "weights": w} if need else {"output": y}
    if am == "float":
        inputs["attn_mask"].requires_grad_(False)
    run(case, m, inputs, fn, dict(module="MultiheadAttention", kwargs=kw, need_weights=need))
print("mha cases written")

# Transformer layers (dropout 0, training mode so PyTorch 1.13 takes its plain path, not the inference fast path).
tcases = [
    ("encoder_postnorm_relu", "TransformerEncoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0), False),
    ("encoder_prenorm_gelu_batchfirst", "TransformerEncoderLayer", dict(d_model=6, nhead=3, dim_feedforward=10, dropout=0.0, activation="gelu", batch_first=True, norm_first=True), True),
    ("encoder_stack_causal", "TransformerEncoder", dict(d_model=8, nhead=4, dim_feedforward=12, dropout=0.0, num_layers=2), False),
    ("decoder_postnorm", "TransformerDecoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0), False),
    ("decoder_prenorm_gelu", "TransformerDecoderLayer", dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, activation="gelu", norm_first=True), True),
]
for i, (case, kind, kw, padded) in enumerate(tcases):
    bf = kw.get("batch_first", False)
    L, B, E = 5, 3, kw["d_model"]
    shape = (B, L, E) if bf else (L, B, E)
    inputs = {"src": randn(*shape, seed=400 + i)}
    r = np.random.default_rng(410 + i)
    if kind == "TransformerDecoderLayer":
        inputs["memory"] = randn(*((B, 7, E) if bf else (7, B, E)), seed=420 + i)
    if padded:
        pad = r.standard_normal((B, L)) > 0.4
        pad[:, 0] = False
        inputs["src_key_padding_mask"] = torch.tensor(pad)
    if kind == "TransformerEncoderLayer":
        m = torch.nn.TransformerEncoderLayer(**kw)
        fn = lambda src, src_key_padding_mask=None, m=m: {"y": m(src, src_key_padding_mask=src_key_padding_mask)}
    elif kind == "TransformerEncoder":
        kw2 = dict(kw)
        n = kw2.pop("num_layers")
        layer = torch.nn.TransformerEncoderLayer(**kw2)
        m = torch.nn.TransformerEncoder(layer, n, norm=torch.nn.LayerNorm(kw2["d_model"]), enable_nested_tensor=False)
        causal = torch.nn.Transformer.generate_square_subsequent_mask(L).to(torch.float64)
        inputs["mask"] = causal
        fn = lambda src, mask, m=m: {"y": m(src, mask=mask)}
    else:
        m = torch.nn.TransformerDecoderLayer(**kw)
        fn = lambda src, memory, src_key_padding_mask=None, m=m: {"y": m(src, memory, tgt_key_padding_mask=src_key_padding_mask,
                                                                            tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(src.shape[1 if bf else 0]).to(torch.float64))}
    m.train()
    if "mask" in inputs:
        inputs["mask"].requires_grad_(False)
    run(case, m, inputs, fn, dict(module=kind, kwargs=kw))
print("transformer cases written")
