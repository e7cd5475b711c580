#!/usr/bin/python3
"""PyTorch 1.13 reference of `sharpgrad lm` (issue 14): the same character-level language models, trained the same way
on the same words, printing the same JSON keys (model, params, steps, train_loss, val_loss, tokens_per_s, samples,
seconds). Run with the system interpreter, one model at a time:

    /usr/bin/python3 bench/reference/lm.py --model transformer --steps 3000 --json
    dotnet src/SharpGrad.Cli/bin/Release/net10.0/SharpGrad.Cli.dll lm --model transformer --steps 3000 --json

What is the same as SharpGrad (src/SharpGrad/NN/Models.CharLm.cs), and how:
- The split. SharpGrad shuffles the kept words with its own Generator (SplitMix64-seeded xoshiro256**, Lemire's
  unbiased bounded integers, Fisher-Yates from the top; documented in src/SharpGrad/Tensors/Generator.cs) and puts the
  last ceil(0.1 n) into validation. That generator is reimplemented here bit for bit (`Xoshiro`), so with the same
  --seed both sides train and validate on exactly the same words (`--print-split` shows counts, the first validation
  words and a digest of both lists to compare with `sharpgrad lm` text output / CharLmData).
- The batches. Chunks (CharLmData.Sequences: every word's first K tokens, positions after its end ignored, plus one
  K-token chunk per prediction beyond the first K, only its last position scored) are drawn with the same generator
  and seed (seed + 2), so both sides see the same chunks in the same order.
- The models, with PyTorch's own default initialisation, which is SharpGrad's scheme (Linear and the recurrent
  layers U(-1/sqrt(fan), 1/sqrt(fan)), Embedding N(0, 1), MultiheadAttention Xavier-uniform in_proj and zero
  biases, TransformerEncoder layers deep copies of one layer), and the GPT-2 style N(0, 0.02) token and position
  embeddings of CharTransformer. The random streams differ (torch's Mersenne Twister), so the initial weights are
  different draws from the same distributions.
- Training: AdamW (lr 1e-3 for the transformer, 3e-3 for the others, betas 0.9/0.999, eps 1e-8, weight decay 0.01 on every parameter), cosine annealing to 0
  over the steps (stepped after every optimizer step), global gradient-norm clipping at 1.0, batch 64 chunks, the
  loss the mean cross-entropy over every scored position of the batch.
- Validation: the mean cross-entropy over every next-character prediction of the validation words (each scored
  once, in the same chunks), in eval mode.
"""
import argparse, hashlib, json, math, sys, time

MASK = (1 << 64) - 1


class Xoshiro:
    """SharpGrad's Generator: xoshiro256** seeded through SplitMix64."""

    def __init__(self, seed):
        x = seed & MASK
        s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            s.append(z ^ (z >> 31))
        self.s = s

    def next_u64(self):
        s0, s1, s2, s3 = self.s
        r = (((((s1 * 5) & MASK) << 7 | ((s1 * 5) & MASK) >> 57) & MASK) * 9) & MASK
        t = (s1 << 17) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & MASK
        self.s = [s0, s1, s2, s3]
        return r

    def next_double(self):
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))

    def next_int(self, n):
        threshold = ((1 << 64) - n) % n
        while True:
            p = self.next_u64() * n
            low = p & MASK
            if low >= n or low >= threshold:
                return p >> 64

    def permutation(self, n):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.next_int(i + 1)
            p[i], p[j] = p[j], p[i]
        return p


def is_kept(w):
    return len(w) > 0 and all(("a" <= c <= "z") or ("A" <= c <= "Z") or c == "'" for c in w)


def load_words(path, seed, fraction=0.1):
    words, dropped = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.strip()
            if not w:
                continue
            if is_kept(w):
                words.append(w)
            else:
                dropped += 1
    perm = Xoshiro(seed).permutation(len(words))
    n_val = max(1, math.ceil(fraction * len(words)))
    n_train = len(words) - n_val
    train = [words[perm[i]] for i in range(n_train)]
    val = [words[perm[i]] for i in range(n_train, len(words))]
    alphabet = "." + "".join(sorted(set("".join(words))))
    return alphabet, train, val, dropped


def sequences(words, index, k):
    """CharLmData.Sequences: inputs and targets, lists of K-token chunks; -1 marks a position that is not scored."""
    xs, ys = [], []
    for w in words:
        seq = [0] + [index[c] for c in w] + [0]
        last = len(seq) - 1
        x, y = [0] * k, [-1] * k
        for j in range(min(k, last)):
            x[j], y[j] = seq[j], seq[j + 1]
        xs.append(x)
        ys.append(y)
        for t in range(k + 1, last + 1):
            xs.append(seq[t - k:t])
            y = [-1] * k
            y[k - 1] = seq[t]
            ys.append(y)
    return xs, ys


def build(name, vocab, k, dropout):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class CharMlp(nn.Module):
        def __init__(self, emb=24, hidden=512):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb)
            self.hidden = nn.Linear(k * emb, hidden)
            self.head = nn.Linear(hidden, vocab)
            # Position j's window: inputs j-K+1 .. j of the chunk left-padded with K-1 boundary tokens.
            self.register_buffer("win", torch.arange(k).view(k, 1) + torch.arange(k).view(1, k))

        def forward(self, x):
            b = x.shape[0]
            padded = torch.cat([torch.zeros(b, k - 1, dtype=x.dtype), x], 1)
            windows = padded[:, self.win]  # [b, K, K]
            e = self.embedding(windows).reshape(b, k, -1)
            return self.head(torch.tanh(self.hidden(e)))

    class CharRnn(nn.Module):
        def __init__(self, cell, emb=64, hidden=256, layers=2):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb)
            self.rnn = cell(emb, hidden, layers, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, x):
            h, _ = self.rnn(self.embedding(x))
            return self.head(h)

    class CharTransformer(nn.Module):
        def __init__(self, d=128, heads=4, layers=4):
            super().__init__()
            self.tok_emb = nn.Embedding(vocab, d)
            self.pos_emb = nn.Embedding(k, d)
            nn.init.normal_(self.tok_emb.weight, 0, 0.02)
            nn.init.normal_(self.pos_emb.weight, 0, 0.02)
            layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout, activation="gelu", batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.head_bias = nn.Parameter(torch.zeros(vocab))
            self.register_buffer("positions", torch.arange(k))
            self.register_buffer("causal", torch.triu(torch.full((k, k), float("-inf")), 1))

        def forward(self, x):
            h = self.tok_emb(x) + self.pos_emb(self.positions)
            h = self.encoder(h, mask=self.causal)
            return F.linear(self.norm(h), self.tok_emb.weight, self.head_bias)

    if name == "transformer":
        return CharTransformer()
    if name == "lstm":
        return CharRnn(nn.LSTM)
    if name == "gru":
        return CharRnn(nn.GRU)
    if name == "mlp":
        return CharMlp()
    raise SystemExit(f"--model: unknown model '{name}' (expected transformer, lstm, gru, mlp)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="transformer")
    ap.add_argument("--data", default="/usr/share/dict/american-english")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--context", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=None, help="default 1e-3 for the transformer, 3e-3 for the others (as sharpgrad lm)")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--val-words", type=int, default=0)
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--print-split", action="store_true", help="print the split's sizes and digests and exit")
    a = ap.parse_args()

    clock = time.perf_counter()
    alphabet, train, val, dropped = load_words(a.data, a.seed)
    if a.print_split:
        digest = lambda ws: hashlib.sha256("\n".join(ws).encode()).hexdigest()[:16]
        print(f"{len(train)} train / {len(val)} validation words ({dropped} dropped), vocabulary {len(alphabet)} {alphabet}")
        print(f"first validation words: {' '.join(val[:8])}")
        print(f"sha256 train {digest(train)} validation {digest(val)}")
        return

    import torch
    import torch.nn.functional as F
    torch.set_num_threads(a.torch_threads)
    torch.manual_seed(a.seed + 1)
    index = {c: i for i, c in enumerate(alphabet)}
    k, b, v = a.context, a.batch_size, len(alphabet)
    model = build(a.model, v, k, a.dropout)
    params = list(model.parameters())
    n_params = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=a.lr if a.lr is not None else (1e-3 if a.model == "transformer" else 3e-3), betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.steps)

    xs, ys = sequences(train, index, k)
    X, Y = torch.tensor(xs, dtype=torch.long), torch.tensor(ys, dtype=torch.long)
    rng = Xoshiro(a.seed + 2)
    rows = [[rng.next_int(len(xs)) for _ in range(b)] for _ in range(a.steps)]  # the same draws as SharpGrad's sampler
    losses, scored = [], 0
    model.train()
    start = time.perf_counter()
    for step in range(a.steps):
        idx = torch.tensor(rows[step])
        x, y = X[idx], Y[idx]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).reshape(-1, v), y.reshape(-1), ignore_index=-1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        scored += int((y != -1).sum())
    train_seconds = time.perf_counter() - start

    words = val[:a.val_words] if a.val_words > 0 else val
    vx, vy = sequences(words, index, k)
    VX, VY = torch.tensor(vx, dtype=torch.long), torch.tensor(vy, dtype=torch.long)
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(vx), 256):
            x, y = VX[s:s + 256], VY[s:s + 256]
            total += F.cross_entropy(model(x).reshape(-1, v), y.reshape(-1), ignore_index=-1, reduction="sum").item()
            count += int((y != -1).sum())
        g = torch.Generator().manual_seed(a.seed + 3)
        samples = []
        for _ in range(a.samples):
            seq = [0]
            while len(seq) - 1 < 30:
                n = min(k, len(seq))
                window = torch.zeros(1, k, dtype=torch.long)
                window[0, :n] = torch.tensor(seq[-n:])
                p = torch.softmax(model(window)[0, n - 1].double(), 0)
                t = int(torch.multinomial(p, 1, generator=g))
                if t == 0:
                    break
                seq.append(t)
            samples.append("".join(alphabet[t] for t in seq[1:]))
    tail = min(a.steps, 50)
    out = {"model": a.model, "params": n_params, "steps": a.steps, "train_loss": sum(losses[-tail:]) / tail,
           "val_loss": total / count, "tokens_per_s": scored / train_seconds, "samples": samples,
           "seconds": time.perf_counter() - clock}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"{len(train)} train / {len(val)} validation words, vocabulary {v}; {a.model}, {n_params:,} parameters")
        print(f"train loss (last {tail} steps) {out['train_loss']:.4f}, validation loss {out['val_loss']:.4f} nats/char, "
              f"{out['tokens_per_s']:.0f} tokens/s, {out['seconds']:.1f} s")
        print("samples: " + " ".join(samples))


if __name__ == "__main__":
    main()
