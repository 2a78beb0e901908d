"""``Adagrad``: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.optimizer import (
    Optimizer,
    check_fused,
    effective_grad,
    new_step,
    step_counter,
)
from glassgrad.tensor import Tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad`` (same options, defaults, state and numbers).

    ``s += g²``, ``θ -= lr/(1 + (t-1)·lr_decay) · g / (√s + eps)``; the sum starts at
    ``initial_accumulator_value``. State is created for every parameter at construction.
    ``foreach``, ``differentiable`` and ``fused`` are accepted, as in ``SGD``.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([3.0], requires_grad=True)
    >>> opt = optim.Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()  # g = 6, s = 36: θ = 3 - 0.5·6/6
    >>> w
    tensor([2.5000], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not lr_decay >= 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not initial_accumulator_value >= 0.0:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state[p]
        state["step"] = new_step(group.get("fused"))
        state["sum"] = Tensor._make(np.full_like(p._data, group["initial_accumulator_value"]))
        return state

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p in params:
            pd = p._data
            state = self.state[p]
            if len(state) == 0:  # a group added after construction (torch raises KeyError)
                state = self._init_state(p, group)
            step = step_counter(state)
            g = effective_grad(pd, p._grad._data, maximize, wd)  # type: ignore[union-attr]
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = state["sum"]._data
            std = np.multiply(g, g)  # addcmul_(g, g, value=1): s + (1·g)·g
            state_sum += std
            np.sqrt(state_sum, out=std)
            std += eps
            update = np.multiply(g, -clr)  # addcdiv_(g, std, value=-clr)
            update /= std
            pd += update
