#!/usr/bin/python3
"""Exports small PyTorch 1.13 models with torch.onnx.export, with an input batch and PyTorch's outputs, into
tests/golden/onnx/<name>/{model.onnx, input.npy, output.npy}. The tests load each model with OnnxModel.Load, check
it reproduces output.npy, and fine-tune it.

Run with Debian's python3-torch:  /usr/bin/python3 tools/onnx/export_torch.py
The sequence models read a Fashion-MNIST image as 28 steps of 28 pixels (input [batch, 28, 28]), so the tests can
fine-tune them on Fashion-MNIST as the image models are.
"""
import os
import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "onnx")


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


class Cnn(nn.Module):
    """Conv-BN-ReLU-MaxPool twice, then a classifier: the shape of SharpGrad's Models.Cnn at a smaller width."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(8 * 7 * 7, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class ResidualCnn(nn.Module):
    """A residual block with average pooling, global average pooling, GELU-free activations and a softmax head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 6, 5, stride=2, padding=2)
        self.block = nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6), nn.LeakyReLU(0.1), nn.Conv2d(6, 6, 3, padding=1))
        self.pool = nn.AvgPool2d(2)
        self.head = nn.Linear(6, 10)

    def forward(self, x):
        h = torch.tanh(self.stem(x))
        h = self.pool(h + self.block(h))
        return torch.log_softmax(self.head(h.mean(dim=(2, 3))), dim=1)


class Transformer(nn.Module):
    """A 2-layer post-norm transformer encoder (GELU, batch_first) over the image rows, mean-pooled, then a classifier."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(28, 16)
        layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.1, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)).mean(dim=1))


class Recurrent(nn.Module):
    """A 2-layer bidirectional LSTM or GRU over the image rows; the last step's output goes to a classifier."""

    def __init__(self, kind):
        super().__init__()
        self.rnn = getattr(nn, kind)(28, 12, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(24, 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def export(name, model, shape):
    torch.manual_seed(1)
    model.train()
    with torch.no_grad():  # non-trivial BatchNorm running statistics
        for _ in range(3):
            model(torch.randn(16, *shape))
    model.eval()
    x = torch.randn(4, *shape)
    with torch.no_grad():
        y = model(x)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    torch.onnx.export(model, (x,), os.path.join(d, "model.onnx"), input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=17,
                      do_constant_folding=True)
    np.save(os.path.join(d, "input.npy"), x.numpy())
    np.save(os.path.join(d, "output.npy"), y.numpy())
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, output {tuple(y.shape)}")


if __name__ == "__main__":
    torch.manual_seed(0)
    export("mlp", Mlp(), (1, 28, 28))
    torch.manual_seed(0)
    export("cnn", Cnn(), (1, 28, 28))
    torch.manual_seed(0)
    export("residual_cnn", ResidualCnn(), (1, 28, 28))
    torch.manual_seed(0)
    export("transformer", Transformer(), (28, 28))
    torch.manual_seed(0)
    export("lstm", Recurrent("LSTM"), (28, 28))
    torch.manual_seed(0)
    export("gru", Recurrent("GRU"), (28, 28))
