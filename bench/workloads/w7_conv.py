"""W7: one SGD step of a small conv net on 8x8 images, batch 64.

conv 3x3, 1 -> 16 channels, padding 1 -> ReLU -> flatten -> linear 1024 -> 10 -> cross-entropy.
The NumPy version does the convolution as im2col (``sliding_window_view``) + batched matmul,
forward and backward by hand; the input needs no gradient, so nobody computes one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._mlp import LR, norms, torch_module

TITLE = "W7 SGD step, conv3x3(1->16)+ReLU+linear, 8x8, batch 64"
KIND = "time"
TARGET = {"kind": "ratio", "vs": "numpy", "max": 1.1}
COMPILED_TARGET = {"vs": "numpy", "max": 1.0}  # issue 14
N, C, H, W, O, K, CLASSES = 64, 1, 8, 8, 16, 3, 10


def setup() -> dict[str, Any]:
    rng = np.random.default_rng(7)
    b1, b2 = 1.0 / np.sqrt(C * K * K), 1.0 / np.sqrt(O * H * W)
    params = [
        rng.uniform(-b1, b1, (O, C, K, K)).astype(np.float32),
        rng.uniform(-b1, b1, O).astype(np.float32),
        rng.uniform(-b2, b2, (CLASSES, O * H * W)).astype(np.float32),
        rng.uniform(-b2, b2, CLASSES).astype(np.float32),
    ]
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    y = rng.integers(0, CLASSES, N).astype(np.int64)
    return {"params": params, "x": x, "y": y}


class NumpyConvNet:
    def __init__(self, data: dict[str, Any]) -> None:
        self.params = [p.copy() for p in data["params"]]
        self.x, self.y = data["x"], data["y"]
        self.rows = np.arange(N)
        self.timers = {"step": self.step}

    def _forward_backward(self) -> tuple[float, list[Any]]:
        w1, b1, w2, b2 = self.params
        n, c, h, w = self.x.shape
        # im2col: cols[n, (c, kh, kw), (i, j)] = x_padded[n, c, i + kh, j + kw]
        xp = np.zeros((n, c, h + 2, w + 2), np.float32)
        xp[:, :, 1:-1, 1:-1] = self.x
        win = sliding_window_view(xp, (K, K), axis=(2, 3))  # (n, c, h, w, K, K), a view
        cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * K * K, h * w)
        a = np.matmul(w1.reshape(O, -1), cols)  # (n, O, h*w): already NCHW order
        a += b1[:, None]
        np.maximum(a, 0, out=a)
        flat = a.reshape(n, -1)
        logits = flat @ w2.T
        logits += b2
        # cross-entropy, fused softmax gradient
        z = logits - logits.max(axis=1, keepdims=True)
        z_target = z[self.rows, self.y]
        e = np.exp(z, out=z)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) - z_target))
        g = e
        g /= s
        g[self.rows, self.y] -= 1
        g *= np.float32(1.0 / n)
        gw2 = g.T @ flat
        gb2 = g.sum(axis=0)
        ga = (g @ w2).reshape(a.shape)
        ga *= a > 0
        gb1 = ga.sum(axis=(0, 2))
        gw1 = np.matmul(ga, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w1.shape)
        return loss, [gw1, gb1, gw2, gb2]

    def step(self) -> None:
        _, grads = self._forward_backward()
        for p, g in zip(self.params, grads):
            p -= LR * g

    def check(self) -> dict[str, Any]:
        loss, grads = self._forward_backward()
        return {"loss": loss, "grad_norms": norms(grads)}


class _LibConvNet:
    """glassgrad and torch run the same user program."""

    def __init__(self, lib: Any, F: Any, params: list[Any], x: Any, y: Any) -> None:
        self.lib, self.F, self.params, self.x, self.y = lib, F, params, x, y
        self.timers = {"step": self.step}

    def loss(self) -> Any:
        F = self.F
        w1, b1, w2, b2 = self.params
        h = F.relu(F.conv2d(self.x, w1, b1, padding=1))
        logits = F.linear(h.reshape(h.shape[0], -1), w2, b2)
        return F.cross_entropy(logits, self.y)

    def step(self) -> None:
        self.loss().backward()
        with self.lib.no_grad():
            for p in self.params:
                p -= LR * p.grad
                p.grad = None

    def check(self) -> dict[str, Any]:
        loss = self.loss()
        loss.backward()
        out = {
            "loss": float(loss.item()),
            "grad_norms": norms([np.asarray(p.grad) for p in self.params]),
        }
        for p in self.params:
            p.grad = None
        return out


def build(impl: str, data: dict[str, Any]) -> Any:
    if impl == "numpy":
        return NumpyConvNet(data)
    if impl == "glassgrad":
        import glassgrad as gg
        import glassgrad.nn.functional as F

        lib = gg
    else:
        lib = torch_module()
        F = lib.nn.functional
    params = [lib.tensor(p, requires_grad=True) for p in data["params"]]
    return _LibConvNet(lib, F, params, lib.tensor(data["x"]), lib.tensor(data["y"]))
