"""``Adam`` and ``AdamW``: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.optimizer import (
    Optimizer,
    check_fused,
    effective_grad,
    lerp_,
    new_step,
    step_counter,
)
from glassgrad.tensor import Tensor

__all__ = ["Adam", "AdamW"]


def _check_adam_options(
    lr: float, betas: tuple[float, float], eps: float, weight_decay: float
) -> None:
    if not lr >= 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not eps >= 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not weight_decay >= 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (same options, defaults, state and numbers).

    ``m = β1·m + (1-β1)·g``, ``v = β2·v + (1-β2)·g²`` and
    ``θ -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps)``; ``amsgrad`` uses the running maximum of ``v``.
    ``weight_decay`` adds ``λθ`` to the gradient (L2), or with ``decoupled_weight_decay=True``
    (that is ``AdamW``) multiplies ``θ`` by ``1 - lr·λ`` first. ``foreach``, ``capturable``,
    ``differentiable`` and ``fused`` are accepted, as in ``SGD`` (``fused`` also makes ``step``
    float32, as torch's fused kernels keep it).

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()  # the first step moves every coordinate by about lr
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_adam_options(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        for p in params:
            pd = p._data
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step(group["fused"])
                state["exp_avg"] = Tensor._make(np.zeros_like(pd))
                state["exp_avg_sq"] = Tensor._make(np.zeros_like(pd))
                if amsgrad:
                    state["max_exp_avg_sq"] = Tensor._make(np.zeros_like(pd))
            step = step_counter(state)
            if wd != 0 and decoupled:
                pd *= 1 - lr * wd
                g = effective_grad(pd, p._grad._data, maximize, 0)  # type: ignore[union-attr]
            else:
                g = effective_grad(pd, p._grad._data, maximize, wd)  # type: ignore[union-attr]
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            lerp_(exp_avg, g, 1 - beta1)
            tmp = np.multiply(g, 1 - beta2)  # addcmul_(g, g, value=1-β2): v·β2 + ((1-β2)·g)·g
            tmp *= g
            exp_avg_sq *= beta2
            exp_avg_sq += tmp

            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2**0.5
            if amsgrad:
                max_sq = state["max_exp_avg_sq"]._data
                np.maximum(max_sq, exp_avg_sq, out=max_sq)
                denom = np.sqrt(max_sq, out=tmp)
            else:
                denom = np.sqrt(exp_avg_sq, out=tmp)
            denom /= bias_correction2_sqrt
            denom += eps
            # addcdiv_(m, denom, value=-step_size): θ + ((-step_size)·m) / denom
            update = np.multiply(exp_avg, -step_size)
            update /= denom
            pd += update


class AdamW(Adam):
    """Adam with decoupled weight decay (``θ *= 1 - lr·λ`` each step), as ``torch.optim.AdamW``.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0], requires_grad=True)
    >>> opt = optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = gg.zeros(1)
    >>> opt.step()  # zero gradient: only the decay acts, 1 - 0.1·0.5
    >>> w
    tensor([0.9500], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
