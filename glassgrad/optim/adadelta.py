"""``Adadelta``: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.optimizer import Optimizer, effective_grad, new_step, step_counter
from glassgrad.tensor import Tensor

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta`` (same options, defaults, state and numbers).

    ``v = ρv + (1-ρ)g²``, ``Δ = √(u + eps) / √(v + eps) · g``, ``u = ρu + (1-ρ)Δ²`` and
    ``θ -= lr·Δ``; ``weight_decay`` adds ``λθ`` to the gradient, ``maximize`` ascends.
    ``foreach``, ``capturable`` and ``differentiable`` are accepted, as in ``SGD``.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0], requires_grad=True)
    >>> opt = optim.Adadelta([w], lr=1.0, rho=0.0, eps=1e-6)
    >>> w.grad = gg.tensor([2.0])
    >>> opt.step()  # ρ = 0: Δ = √1e-6 / √(4 + 1e-6) · 2 ≈ 1e-3
    >>> round(w.item(), 6)
    0.999
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p in params:
            pd = p._data
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["square_avg"] = Tensor._make(np.zeros_like(pd))
                state["acc_delta"] = Tensor._make(np.zeros_like(pd))
            step_counter(state)
            g = effective_grad(pd, p._grad._data, maximize, wd)  # type: ignore[union-attr]
            square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
            tmp = np.multiply(g, 1 - rho)  # addcmul_(g, g, value=1-ρ): ((1-ρ)·g)·g
            tmp *= g
            square_avg *= rho
            square_avg += tmp
            std = np.add(square_avg, eps)
            np.sqrt(std, out=std)
            delta = np.add(acc_delta, eps)
            np.sqrt(delta, out=delta)
            delta /= std
            delta *= g
            np.multiply(delta, 1 - rho, out=tmp)
            tmp *= delta
            acc_delta *= rho
            acc_delta += tmp
            delta *= -lr  # add_(delta, alpha=-lr)
            pd += delta
