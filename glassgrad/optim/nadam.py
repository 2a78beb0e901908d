"""``NAdam`` and ``RAdam``: Adam with Nesterov momentum, and Adam with a rectified variance."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.adam import _check_adam_options
from glassgrad.optim.optimizer import (
    Optimizer,
    effective_grad,
    lerp_,
    new_scalar,
    new_step,
    step_counter,
)
from glassgrad.tensor import Tensor

__all__ = ["NAdam", "RAdam"]


def _moments(state: dict[str, Any], g: np.ndarray, beta1: float, beta2: float) -> None:
    """``m = lerp(m, g, 1-β1)`` and ``v = β2·v + ((1-β2)·g)·g``, in place."""
    lerp_(state["exp_avg"]._data, g, 1 - beta1)
    exp_avg_sq = state["exp_avg_sq"]._data
    tmp = np.multiply(g, 1 - beta2)
    tmp *= g
    exp_avg_sq *= beta2
    exp_avg_sq += tmp


def _decay(pd: np.ndarray, grad: np.ndarray, group: dict[str, Any]) -> Any:
    """The gradient after weight decay: L2 (added to it) or decoupled (``θ *= 1 - lr·λ``)."""
    wd, maximize = group["weight_decay"], group["maximize"]
    if wd != 0 and group["decoupled_weight_decay"]:
        pd *= 1 - group["lr"] * wd
        return effective_grad(pd, grad, maximize, 0)
    return effective_grad(pd, grad, maximize, wd)


class NAdam(Optimizer):
    """NAdam, as ``torch.optim.NAdam`` (same options, defaults, state and numbers).

    Adam whose update looks ahead along the momentum: with ``μₜ = β1(1 - ½·0.96^(t·ψ))``
    (ψ = ``momentum_decay``) and their running product ``Πμ`` (state ``mu_product``),
    ``θ -= lr·(1-μₜ)/(1-Πμ) · g/d + lr·μₜ₊₁/(1-Πμ·μₜ₊₁) · m/d`` with
    ``d = √(v/(1-β2ᵗ)) + eps``. ``decoupled_weight_decay`` makes it NAdamW. ``foreach``,
    ``capturable`` and ``differentiable`` are accepted, as in ``SGD``.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0], requires_grad=True)
    >>> opt = optim.NAdam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(w.item(), 4)
    0.8944
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_adam_options(lr, betas, eps, weight_decay)
        if not momentum_decay >= 0.0:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        momentum_decay = group["momentum_decay"]
        for p in params:
            pd = p._data
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["mu_product"] = new_scalar(1.0)
                state["exp_avg"] = Tensor._make(np.zeros_like(pd))
                state["exp_avg_sq"] = Tensor._make(np.zeros_like(pd))
            step = step_counter(state)
            bias_correction2 = 1 - beta2**step
            g = _decay(pd, p._grad._data, group)  # type: ignore[union-attr]
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
            mu_product_arr = state["mu_product"]._data
            mu_product_arr *= mu  # in the state's own dtype, as torch does
            mu_product = mu_product_arr.item()
            _moments(state, g, beta1, beta2)
            denom = np.divide(state["exp_avg_sq"]._data, bias_correction2)
            np.sqrt(denom, out=denom)
            denom += eps
            mu_product_next = mu_product * mu_next
            update = np.multiply(g, -lr * (1.0 - mu) / (1.0 - mu_product))
            update /= denom
            pd += update
            np.multiply(state["exp_avg"]._data, (-lr * mu_next) / (1.0 - mu_product_next), update)
            update /= denom
            pd += update


class RAdam(Optimizer):
    """RAdam, as ``torch.optim.RAdam`` (same options, defaults, state and numbers).

    Adam whose adaptive term is switched on only once the variance of its estimate is tractable:
    with ``ρ∞ = 2/(1-β2) - 1`` and ``ρₜ = ρ∞ - 2tβ2ᵗ/(1-β2ᵗ)``, the step is
    ``lr·m̂·r·√(1-β2ᵗ)/(√v + eps)`` (``r`` the rectification) when ``ρₜ > 5``, else plain
    momentum ``lr·m̂``. ``decoupled_weight_decay`` makes it RAdamW. ``foreach``, ``capturable``
    and ``differentiable`` are accepted, as in ``SGD``.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0], requires_grad=True)
    >>> opt = optim.RAdam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()  # ρ₁ ≤ 5: a momentum step, lr·g
    >>> w
    tensor([0.8000], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_adam_options(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for p in params:
            pd = p._data
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["exp_avg"] = Tensor._make(np.zeros_like(pd))
                state["exp_avg_sq"] = Tensor._make(np.zeros_like(pd))
            step = step_counter(state)
            g = _decay(pd, p._grad._data, group)  # type: ignore[union-attr]
            _moments(state, g, beta1, beta2)
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            update = np.divide(state["exp_avg"]._data, bias_correction1)
            update *= lr
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            if rho_t > 5.0:
                rect = (
                    (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                ) ** 0.5
                adaptive = np.sqrt(state["exp_avg_sq"]._data)
                adaptive += eps
                np.reciprocal(adaptive, out=adaptive)  # torch's scalar / tensor
                adaptive *= bias_correction2**0.5
                update *= adaptive
                update *= rect
            pd -= update
