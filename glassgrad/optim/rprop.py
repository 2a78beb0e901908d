"""``Rprop``: resilient backpropagation, per-coordinate steps driven by the gradient's sign."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.optimizer import Optimizer, new_step, step_counter
from glassgrad.tensor import Tensor

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop, as ``torch.optim.Rprop`` (same options, defaults, state and numbers).

    Each coordinate keeps a step size (starting at ``lr``): multiplied by ``etas[1]`` while the
    gradient keeps its sign, by ``etas[0]`` when it flips (and that coordinate then skips one
    update), clamped to ``step_sizes``; ``θ -= sign(g)·step``. ``foreach``, ``capturable`` and
    ``differentiable`` are accepted, as in ``SGD``.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.Rprop([w], lr=0.1)
    >>> w.grad = gg.tensor([3.0, -0.5])
    >>> opt.step()  # only the signs count
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": tuple(etas),
            "step_sizes": tuple(step_sizes),
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        for p in params:
            pd = p._data
            g = p._grad._data  # type: ignore[union-attr]
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state["prev"] = Tensor._make(np.zeros_like(pd))
                lr = group["lr"]
                fill = complex(lr, lr) if pd.dtype.kind == "c" else lr
                state["step_size"] = Tensor._make(np.full_like(g, fill))
            step_counter(state)
            prev, step_size = state["prev"]._data, state["step_size"]._data
            if pd.dtype.kind == "c":  # real and imaginary parts are independent coordinates
                pd, g = pd.view(pd.real.dtype), g.view(g.real.dtype)
                prev, step_size = prev.view(pd.dtype), step_size.view(pd.dtype)
            grad = np.negative(g) if group["maximize"] else np.array(g, copy=True)
            sign = np.sign(np.multiply(grad, prev))
            sign[sign > 0] = etaplus
            sign[sign < 0] = etaminus
            sign[sign == 0] = 1
            step_size *= sign
            np.clip(step_size, step_size_min, step_size_max, out=step_size)
            grad[sign == etaminus] = 0
            update = np.sign(grad)  # addcmul_(sign(g), step_size, value=-1)
            update *= -1
            update *= step_size
            pd += update
            np.copyto(prev, grad)
