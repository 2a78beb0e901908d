"""``Adamax``: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.adam import _check_adam_options
from glassgrad.optim.optimizer import Optimizer, effective_grad, lerp_, new_step, step_counter
from glassgrad.tensor import Tensor

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, as ``torch.optim.Adamax`` (same options, defaults, state and numbers).

    ``m = β1·m + (1-β1)·g``, ``u = max(β2·u, |g| + eps)`` and ``θ -= lr/(1-β1ᵗ) · m/u``;
    ``weight_decay`` adds ``λθ`` to the gradient, ``maximize`` ascends. ``foreach``,
    ``differentiable`` and ``capturable`` are accepted, as in ``SGD``.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.Adamax([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()  # the first step moves every coordinate by about lr
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_adam_options(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p in params:
            pd = p._data
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["exp_avg"] = Tensor._make(np.zeros_like(pd))
                state["exp_inf"] = Tensor._make(np.zeros_like(pd))
            step = step_counter(state)
            g = effective_grad(pd, p._grad._data, maximize, wd)  # type: ignore[union-attr]
            exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
            lerp_(exp_avg, g, 1 - beta1)
            norm = np.abs(g)
            norm += eps
            exp_inf *= beta2
            np.maximum(exp_inf, norm, out=exp_inf)
            clr = lr / (1 - beta1**step)
            update = np.multiply(exp_avg, -clr)  # addcdiv_(m, u, value=-clr)
            update /= exp_inf
            pd += update
