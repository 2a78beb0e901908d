"""The ReLU MLP + mean cross-entropy shared by W1, W2, W4 and W5, written three times.

All three start from the same arrays (``mlp_data``): weights ``(out, in)`` and biases drawn like
``torch.nn.Linear``'s default init, standard-normal inputs and random integer targets.
Every ``step``/``forward``/``forward_backward`` returns None, so freeing the graph and the
temporaries is timed too.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

LR = 0.01


def mlp_data(sizes: tuple[int, ...], batch: int, seed: int = 0) -> dict[str, Any]:
    """Initial weights, biases, inputs and targets, in float32."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return {"params": params, "x": x, "y": y}


def torch_module() -> Any:
    """Import torch limited to 2 intra-op threads (the environment variables are set too)."""
    import torch

    torch.set_num_threads(2)
    return torch


def norms(arrays: list[Any]) -> list[float]:
    return [float(np.linalg.norm(np.asarray(a, dtype=np.float64))) for a in arrays]


# ---- hand-written NumPy: no graph, hand-derived backward --------------------------------------


class NumpyMLP:
    """What a skilled NumPy programmer writes: in-place bias/ReLU, fused softmax-CE gradient."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.params = [p.copy() for p in data["params"]]
        self.x, self.y = data["x"], data["y"]
        self.rows = np.arange(len(self.y))
        self.grads: list[Any] | None = None

    def _forward(self) -> tuple[float, list[Any], Any]:
        p = self.params
        n_layers = len(p) // 2
        acts = [self.x]
        h = self.x
        for i in range(n_layers):
            h = h @ p[2 * i].T
            h += p[2 * i + 1]
            if i < n_layers - 1:
                np.maximum(h, 0, out=h)
            acts.append(h)
        # log-softmax cross-entropy, stable; z is reused in place for exp(z)
        z = h - h.max(axis=1, keepdims=True)
        z_target = z[self.rows, self.y]
        e = np.exp(z, out=z)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) - z_target))
        acts.pop()  # the logits are not needed any more
        return loss, acts, (e, s)

    def _backward(self, acts: list[Any], softmax: tuple[Any, Any]) -> list[Any]:
        p = self.params
        e, s = softmax
        g = e
        g /= s  # softmax probabilities, in place
        g[self.rows, self.y] -= 1
        g *= np.float32(1.0 / len(self.y))  # dL/dlogits = (p - onehot) / N
        grads: list[Any] = [None] * len(p)
        for i in reversed(range(len(p) // 2)):
            a = acts.pop()  # each activation is freed once its layer is done, as autograd does
            grads[2 * i] = g.T @ a
            grads[2 * i + 1] = g.sum(axis=0)
            if i > 0:
                g = g @ p[2 * i]
                g *= a > 0  # ReLU mask from the saved ReLU output
        return grads

    def forward(self) -> None:
        self._forward()

    def forward_backward(self) -> None:
        _, acts, sm = self._forward()
        self.grads = self._backward(acts, sm)

    def step(self) -> None:
        _, acts, sm = self._forward()
        for w, g in zip(self.params, self._backward(acts, sm)):
            w -= LR * g

    def run(self) -> None:  # memory workload: forward + backward, gradients kept
        self.forward_backward()

    def reset(self) -> None:
        self.grads = None

    def check(self) -> dict[str, Any]:
        loss, acts, sm = self._forward()
        return {"loss": loss, "grad_norms": norms(self._backward(acts, sm))}


# ---- glassgrad, used the way a user would ------------------------------------------------------


class GlassgradMLP:
    def __init__(self, data: dict[str, Any]) -> None:
        import glassgrad as gg
        import glassgrad.nn.functional as F

        self.gg, self.F = gg, F
        self.params = [gg.tensor(p, requires_grad=True) for p in data["params"]]
        self.x, self.y = gg.tensor(data["x"]), gg.tensor(data["y"])

    def loss(self) -> Any:
        F, p = self.F, self.params
        n_layers = len(p) // 2
        h = self.x
        for i in range(n_layers):
            h = F.linear(h, p[2 * i], p[2 * i + 1])
            if i < n_layers - 1:
                h = F.relu(h)
        return F.cross_entropy(h, self.y)

    def forward(self) -> None:
        self.loss()

    def forward_backward(self) -> None:
        self.loss().backward()
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        self.loss().backward()
        with self.gg.no_grad():
            for p in self.params:
                p -= LR * p.grad
                p.grad = None

    def run(self) -> None:
        self.loss().backward()

    def reset(self) -> None:
        for p in self.params:
            p.grad = None

    def check(self) -> dict[str, Any]:
        loss = self.loss()
        loss.backward()
        out = {"loss": float(loss.item()), "grad_norms": norms([p.grad for p in self.params])}
        self.reset()
        return out


# ---- PyTorch CPU -------------------------------------------------------------------------------


class TorchMLP:
    def __init__(self, data: dict[str, Any]) -> None:
        torch = self.torch = torch_module()
        self.F = torch.nn.functional
        self.params = [torch.tensor(p, requires_grad=True) for p in data["params"]]
        self.x, self.y = torch.from_numpy(data["x"].copy()), torch.from_numpy(data["y"].copy())

    def loss(self) -> Any:
        F, p = self.F, self.params
        n_layers = len(p) // 2
        h = self.x
        for i in range(n_layers):
            h = F.linear(h, p[2 * i], p[2 * i + 1])
            if i < n_layers - 1:
                h = F.relu(h)
        return F.cross_entropy(h, self.y)

    def forward(self) -> None:
        self.loss()

    def forward_backward(self) -> None:
        self.loss().backward()
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        self.loss().backward()
        with self.torch.no_grad():
            for p in self.params:
                p -= LR * p.grad
                p.grad = None

    def run(self) -> None:
        self.loss().backward()

    def reset(self) -> None:
        for p in self.params:
            p.grad = None

    def check(self) -> dict[str, Any]:
        loss = self.loss()
        loss.backward()
        out = {
            "loss": float(loss.item()),
            "grad_norms": norms([p.grad.numpy() for p in self.params]),
        }
        self.reset()
        return out


MLP_CLASSES = {"glassgrad": GlassgradMLP, "numpy": NumpyMLP, "torch": TorchMLP}
