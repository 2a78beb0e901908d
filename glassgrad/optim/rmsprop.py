"""``RMSprop``: divide the gradient by a running root mean square (optionally centered)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.optimizer import Optimizer, effective_grad, lerp_, new_step, step_counter
from glassgrad.tensor import Tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (same options, defaults, state and numbers).

    ``v = α·v + (1-α)·g²``; with ``centered`` the running mean ``ḡ`` of ``g`` is tracked and
    ``v - ḡ²`` used instead; ``θ -= lr · g / (√v + eps)``, or through a ``momentum`` buffer
    ``b = μb + g / (√v + eps)``, ``θ -= lr·b``. ``capturable``, ``foreach`` and
    ``differentiable`` are accepted, as in ``SGD``.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0], requires_grad=True)
    >>> opt = optim.RMSprop([w], lr=0.01, alpha=0.75)
    >>> (w * w).sum().backward()
    >>> opt.step()  # g = 2, v = 0.25·4 = 1: θ = 1 - 0.01·2/1
    >>> w
    tensor([0.9800], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not momentum >= 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not alpha >= 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
        maximize = group["maximize"]
        for p in params:
            pd = p._data
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["square_avg"] = Tensor._make(np.zeros_like(pd))
                if momentum > 0:
                    state["momentum_buffer"] = Tensor._make(np.zeros_like(pd))
                if centered:
                    state["grad_avg"] = Tensor._make(np.zeros_like(pd))
            step_counter(state)
            g = effective_grad(pd, p._grad._data, maximize, wd)  # type: ignore[union-attr]
            square_avg = state["square_avg"]._data
            avg = np.multiply(g, 1 - alpha)  # addcmul_(g, g, value=1-α): ((1-α)·g)·g
            avg *= g
            square_avg *= alpha
            square_avg += avg
            if centered:
                grad_avg = state["grad_avg"]._data
                lerp_(grad_avg, g, 1 - alpha)
                np.multiply(grad_avg, -1, out=avg)  # addcmul(ḡ, ḡ, value=-1): v + ((-1)·ḡ)·ḡ
                avg *= grad_avg
                avg += square_avg
                np.sqrt(avg, out=avg)
            else:
                np.sqrt(square_avg, out=avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                buf += np.divide(g, avg)  # addcdiv_(g, avg): b + (1·g)/avg
                pd += np.multiply(buf, -lr)
            else:
                update = np.multiply(g, -lr)  # addcdiv_(g, avg, value=-lr)
                update /= avg
                pd += update
