"""``SparseAdam``: Adam for embeddings trained with sparse gradients (``Embedding(sparse=True)``).

PyTorch hands SparseAdam a sparse gradient holding only the rows a batch looked up; those rows
alone are updated, and their moments alone decay. glassgrad's gradients are dense, so the rows
a step touched are the rows whose gradient is not all zero (an embedding row no index selected
gets an exact zero): the same trajectory as PyTorch's on the real sparse gradients.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.optimizer import Optimizer
from glassgrad.tensor import Tensor

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """Lazy Adam, as ``torch.optim.SparseAdam``: each step updates only the rows (first-dim
    slices) with a gradient, and only their moments decay; same options, state and numbers.

    >>> import glassgrad as gg
    >>> from glassgrad import nn, optim
    >>> emb = nn.Embedding(4, 2, sparse=True)
    >>> before = emb.weight.detach().clone()
    >>> opt = optim.SparseAdam(emb.parameters(), lr=0.1)
    >>> emb(gg.tensor([1])).sum().backward()
    >>> opt.step()
    >>> (emb.weight != before).any(dim=1).tolist()  # only the looked-up row moved
    [False, True, False, False]
    """

    _state_like_params = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        maximize: bool = False,
    ) -> None:
        if not lr > 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps > 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        complex_params = [
            [i, j]
            for i, group in enumerate(self.param_groups)
            for j, p in enumerate(group["params"])
            if p._data.dtype.kind == "c"
        ]
        if complex_params:
            raise ValueError(
                f"Complex params at indices {complex_params}: SparseAdam does not support "
                "complex parameters"
            )

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for p in params:
            state = self.state[p]
            if len(state) == 0:
                state["step"] = 0
                state["exp_avg"] = Tensor._make(np.zeros_like(p._data))
                state["exp_avg_sq"] = Tensor._make(np.zeros_like(p._data))
            state["step"] += 1
            step = state["step"]
            g = p._grad._data  # type: ignore[union-attr]
            if group["maximize"]:
                g = -g
            if g.ndim == 0:
                rows: Any = () if g != 0 else None
            else:  # the rows PyTorch's coalesced sparse gradient would index
                touched = g.reshape(g.shape[0], -1).any(axis=1)
                rows = np.flatnonzero(touched) if touched.any() else None
            if rows is None:  # an empty sparse gradient: nothing moves
                continue
            values = g[rows]
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            # old <- old + (1 - b) * (new - old), on the touched rows only (torch's arithmetic)
            old_m = m[rows]
            upd_m = (values - old_m) * (1 - beta1)
            m[rows] += upd_m
            old_v = v[rows]
            upd_v = (values**2 - old_v) * (1 - beta2)
            v[rows] += upd_v
            numer = upd_m + old_m
            denom = np.sqrt(upd_v + old_v) + eps
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            step_size = lr * math.sqrt(bias_correction2) / bias_correction1
            p._data[rows] += -step_size * (numer / denom)
