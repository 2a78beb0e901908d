"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.optimizer import Optimizer, check_fused, effective_grad
from glassgrad.tensor import Tensor

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD`` (same options, defaults and numbers).

    With ``momentum`` μ, ``dampening`` τ and ``weight_decay`` λ, each step computes
    ``g = ∇ + λθ``, ``b = μb + (1-τ)g`` (``b = g`` on the first step), then
    ``θ -= lr·(g + μb)`` if ``nesterov`` else ``θ -= lr·b``; ``maximize`` ascends instead.
    ``foreach``, ``differentiable`` and ``fused`` are accepted (and kept in the param groups, as
    torch does) but there is one NumPy implementation: the step is never part of a graph.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    >>> round(w.item(), 4)  # 1 - 0.2 = 0.8, then 0.8 - 0.1·(0.9·2 + 1.6)
    0.46
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for p in params:
            pd = p._data
            g = p._grad._data  # type: ignore[union-attr]
            d_p = effective_grad(pd, g, maximize, wd)
            if momentum != 0:
                state = self.state[p]
                buf_t = state.get("momentum_buffer")
                if buf_t is None:
                    buf = np.array(d_p, copy=True)
                    state["momentum_buffer"] = Tensor._make(buf)
                else:
                    buf = buf_t._data
                    buf *= momentum
                    if dampening == 0:
                        buf += d_p
                    else:
                        buf += np.multiply(d_p, 1 - dampening)
                if nesterov:
                    d_p = np.add(d_p, np.multiply(buf, momentum))  # grad + momentum·buf
                else:
                    d_p = buf
            # param.add_(d_p, alpha=-lr): θ + (-lr)·d_p, one temporary
            step = np.multiply(d_p, -lr)
            pd += step
