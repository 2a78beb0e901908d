"""``ASGD``: averaged stochastic gradient descent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.optimizer import (
    Optimizer,
    effective_grad,
    new_scalar,
    new_step,
    scalar_dtype,
    step_counter,
)
from glassgrad.tensor import Tensor

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged SGD, as ``torch.optim.ASGD`` (same options, defaults, state and numbers).

    Each step decays ``θ *= 1 - λη`` and moves ``θ -= η·g``; the state ``ax`` averages the
    iterates (a copy of ``θ`` until step ``t0``, then a running mean with weight ``μ``), with
    ``η = lr / (1 + λ·lr·t)^α`` and ``μ = 1/max(1, t - t0)``. As in torch, ``eta`` and ``mu``
    are 0-d state tensors of the default scalar dtype. ``foreach``, ``differentiable`` and
    ``capturable`` are accepted, as in ``SGD``.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0], requires_grad=True)
    >>> opt = optim.ASGD([w], lr=0.25, lambd=0.0)
    >>> w.grad = gg.tensor([2.0])
    >>> opt.step()
    >>> w
    tensor([0.5000], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p in params:
            pd = p._data
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["eta"] = new_scalar(lr)
                state["mu"] = new_scalar(1.0)
                state["ax"] = Tensor._make(np.zeros_like(pd))
            step = step_counter(state)
            g = effective_grad(pd, p._grad._data, maximize, wd)  # type: ignore[union-attr]
            eta_arr, mu_arr, ax = state["eta"]._data, state["mu"]._data, state["ax"]._data
            eta = eta_arr.item()
            pd *= 1 - lambd * eta  # decay
            pd += np.multiply(g, -eta)  # add_(g, alpha=-eta)
            mu = mu_arr.item()
            if mu != 1:
                diff = np.subtract(pd, ax)
                diff *= mu
                ax += diff
            else:
                np.copyto(ax, pd)
            # torch.as_tensor(number): rounded to the default dtype, whatever the state's dtype
            eta_arr[...] = scalar_dtype()(lr / ((1 + lambd * lr * step) ** alpha))
            mu_arr[...] = scalar_dtype()(1 / max(1, step - t0))
