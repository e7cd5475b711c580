#!/usr/bin/python3
"""Reference side of the SharpGrad benchmarks: the same workloads as bench/SharpGrad.Bench (Workloads.cs),
with the same data (Debian's Fashion-MNIST IDX files), models, hyper-parameters and step counts.

PyTorch (mlp-epoch, cnn-epoch, mlp-batch1) and NumPy (xor, sgd-logreg). Run with the system interpreter:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/reference/workloads.py --workload mlp-epoch --torch-threads 1
Prints one JSON line, like the C# runner.
"""
import argparse, gzip, json, os, time
import numpy as np

DATA = os.environ.get("SHARPGRAD_DATA", "/usr/share/datasets/fashion-mnist")


def load_train(limit=None):
    def read(name):
        path = os.path.join(DATA, name)
        opener = gzip.open if os.path.exists(path + ".gz") else open
        with opener(path + (".gz" if os.path.exists(path + ".gz") else ""), "rb") as f:
            raw = f.read()
        dims = raw[3]
        shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    x = read("train-images-idx3-ubyte")
    y = read("train-labels-idx1-ubyte")
    if limit:
        x, y = x[:limit], y[:limit]
    return x, y.astype(np.int64)


def torch_epoch(kind, limit, model_name="issue"):
    import torch
    torch.manual_seed(0)
    x, y = load_train(limit)
    if kind == "mlp":
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                    torch.nn.ReLU(), torch.nn.Linear(128, 10))
    elif model_name == "results":
        # The CNN of RESULTS.md (Models.StagedCnn([[32], [64], [96]], dropout: 0.3)): 83,242 parameters.
        nn = torch.nn
        layers, c = [], 1
        for out in (32, 64, 96):
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
            c = out
        model = nn.Sequential(*layers, nn.Flatten(), nn.Dropout(0.3), nn.Linear(96 * 3 * 3, 10))
    elif model_name == "padded":
        # The CNN of RESULTS.md before session 4 (Models.Cnn(dropout: 0.3, batchNorm: true, padding: 2)): 83,658 parameters.
        nn = torch.nn
        model = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 5, padding=2), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, 10))
    else:
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(32, 64, 5),
                                    torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(1024, 10))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(y)
    order = np.random.default_rng(1).permutation(n)

    def step(idx):
        xb = torch.from_numpy(x[idx].astype(np.float32) / 255.0).reshape(len(idx), 1, 28, 28)
        yb = torch.from_numpy(y[idx])
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(np.arange(64))  # warm-up, as the C# side
    t, cpu = time.perf_counter(), time.process_time()
    for s in range(0, n, 64):
        step(order[s:s + 64])
    return time.perf_counter() - t, time.process_time() - cpu


def torch_batch1(steps):
    import torch
    torch.manual_seed(0)
    x, y = load_train(steps)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xs = [torch.from_numpy(x[i:i + 1].astype(np.float32) / 255.0) for i in range(steps)]
    ys = [torch.from_numpy(y[i:i + 1]) for i in range(steps)]

    def step(i):
        loss = loss_fn(model(xs[i]), ys[i])
        opt.zero_grad()
        loss.backward()
        opt.step()

    for i in range(20):
        step(i)
    t = time.perf_counter()
    for i in range(steps):
        step(i)
    return time.perf_counter() - t


def numpy_xor(epochs):
    """2-2-1 ReLU net, squared loss (mean), full-batch gradient descent with lr 0.1, gradients by hand."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([[-1], [1], [1], [-1]], dtype=np.float64)
    rng = np.random.default_rng(3)
    u, w = rng.standard_normal((2, 2)), rng.standard_normal((2, 1))
    b1, b2 = np.zeros(2), np.zeros(1)
    t = time.perf_counter()
    for _ in range(epochs):
        h_pre = x @ u + b1
        h = np.maximum(h_pre, 0)
        out = h @ w + b2
        g_out = 2 * (out - y) / out.size
        g_w, g_b2 = h.T @ g_out, g_out.sum(0)
        g_h = (g_out @ w.T) * (h_pre > 0)
        g_u, g_b1 = x.T @ g_h, g_h.sum(0)
        u -= 0.1 * g_u; b1 -= 0.1 * g_b1; w -= 0.1 * g_w; b2 -= 0.1 * g_b2
    return time.perf_counter() - t


def numpy_sgd_logreg(limit):
    """Multinomial logistic regression, one SGD update (lr 0.01) per image, stable softmax, gradients by hand."""
    x, y = load_train(limit)
    x = x.reshape(len(y), -1).astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(784)
    W = rng.uniform(-bound, bound, (10, 784)).astype(np.float32)
    b = rng.uniform(-bound, bound, 10).astype(np.float32)
    order = np.random.default_rng(1).permutation(len(y))
    t = time.perf_counter()
    for i in order:
        xi = x[i]
        z = W @ xi + b
        z -= z.max()
        p = np.exp(z)
        p /= p.sum()
        p[y[i]] -= 1
        W -= 0.01 * np.outer(p, xi)
        b -= 0.01 * p
    return time.perf_counter() - t


# transformer-step (issue 14): begin
def torch_transformer_step(steps, warmup, data="/usr/share/dict/american-english"):
    """Training steps of bench/reference/lm.py's transformer (its model, data, batches and recipe: AdamW, cosine
    schedule, gradient-norm clip 1.0, mean cross-entropy over every scored position), warm-up steps excluded.
    Returns (seconds, CPU seconds) per timed step and the last loss."""
    import torch
    import torch.nn.functional as F
    from lm import Xoshiro, build, load_words, sequences
    k, b, seed = 16, 64, 0
    alphabet, train, _, _ = load_words(data, seed)
    torch.manual_seed(seed + 1)
    v = len(alphabet)
    model = build("transformer", v, k, 0.0)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=3e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=warmup + steps)
    xs, ys = sequences(train, {c: i for i, c in enumerate(alphabet)}, k)
    X, Y = torch.tensor(xs, dtype=torch.long), torch.tensor(ys, dtype=torch.long)
    rng = Xoshiro(seed + 2)  # the batches of the first steps of `sharpgrad lm` and lm.py
    rows = [torch.tensor([rng.next_int(len(xs)) for _ in range(b)]) for _ in range(warmup + steps)]
    model.train()
    last = 0.0

    def step(i):
        x, y = X[rows[i]], Y[rows[i]]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).reshape(-1, v), y.reshape(-1), ignore_index=-1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        return loss.item()

    for i in range(warmup):
        last = step(i)
    t, cpu = time.perf_counter(), time.process_time()
    for i in range(warmup, warmup + steps):
        last = step(i)
    return (time.perf_counter() - t) / steps, (time.process_time() - cpu) / steps, last
# transformer-step: end


# --- issue 14: lstm-step (bench/SharpGrad.Bench/LstmStep.cs) ---
def torch_lstm_step(steps, warmup=5):
    """One training step of `lm --model lstm`'s default model: 64-d embedding of 54 tokens -> 2-layer LSTM, hidden 256,
    batch first -> Linear head; batch 64 x 16 random tokens, cross-entropy over every position, backward, global
    gradient-norm clip 1.0, AdamW (lr 3e-3, weight decay 0.01). Seconds and CPU seconds of the `steps` timed steps
    (warm-up excluded)."""
    import torch
    torch.manual_seed(0)
    vocab, batch, context = 54, 64, 16
    nn = torch.nn

    class CharRnn(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, 64)
            self.rnn = nn.LSTM(64, 256, 2, batch_first=True)
            self.head = nn.Linear(256, vocab)

        def forward(self, x):
            return self.head(self.rnn(self.embedding(x))[0])

    model = CharRnn()
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, 3e-3, weight_decay=0.01)
    loss_fn = nn.CrossEntropyLoss()
    xs = [torch.randint(0, vocab, (batch, context)) for _ in range(warmup + steps)]
    ys = [torch.randint(0, vocab, (batch * context,)) for _ in range(warmup + steps)]
    model.train()

    def step(i):
        opt.zero_grad()
        loss = loss_fn(model(xs[i]).reshape(batch * context, vocab), ys[i])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    for i in range(warmup):
        step(i)
    t, cpu = time.perf_counter(), time.process_time()
    for i in range(warmup, warmup + steps):
        step(i)
    return time.perf_counter() - t, time.process_time() - cpu
# --- end lstm-step ---


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", required=True)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--steps", type=int, default=None, help="mlp-batch1: 2000 by default; lstm-step: 50")
    ap.add_argument("--epochs", type=int, default=10000)
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=5)  # transformer-step
    ap.add_argument("--model", default="issue", choices=["issue", "results", "padded"], help="cnn-epoch: the issue's CNN, RESULTS.md's, or the padded one before it")
    a = ap.parse_args()
    threads = a.torch_threads
    if a.workload in ("mlp-epoch", "cnn-epoch", "mlp-batch1", "transformer-step", "lstm-step"):
        import torch
        torch.set_num_threads(a.torch_threads)
    if a.workload in ("mlp-epoch", "cnn-epoch"):
        s, cpu = torch_epoch(a.workload[:3], a.limit, a.model)
        out = {"seconds": s, "cpu_seconds": cpu}
    elif a.workload == "mlp-batch1":
        steps = a.steps or 2000
        s = torch_batch1(steps)
        out = {"seconds": s, "steps": steps, "steps_per_s": steps / s}
    elif a.workload == "transformer-step":  # transformer-step (issue 14): seconds are per step, --steps of them timed
        steps = a.steps or 30
        s, cpu, last = torch_transformer_step(steps, a.warmup)
        out = {"steps": steps, "seconds": s, "cpu_seconds": cpu, "last_loss": last}
    elif a.workload == "lstm-step":  # issue 14
        steps = a.steps or 50
        s, cpu = torch_lstm_step(steps)
        out = {"steps": steps, "seconds": s, "cpu_seconds": cpu, "ms_per_step": 1000 * s / steps}
    elif a.workload == "xor":
        out = {"seconds": numpy_xor(a.epochs)}
        threads = 1
    elif a.workload == "sgd-logreg":
        out = {"seconds": numpy_sgd_logreg(a.limit)}
        threads = 1
    else:
        raise SystemExit(f"unknown workload {a.workload}")
    from gemm import blas_core  # bench/reference/gemm.py: the OpenBLAS kernel set NumPy (and PyTorch's BLAS calls) ran
    out["blas_core"] = blas_core()
    print(json.dumps({"workload": a.workload, "threads": threads, **{k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}}))


if __name__ == "__main__":
    main()
