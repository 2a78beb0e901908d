"""``Adafactor``: Adam-like steps from a factored second moment (row and column means)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.optimizer import Optimizer, lerp_, new_step, step_counter
from glassgrad.tensor import Tensor

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor, as ``torch.optim.Adafactor`` (PyTorch 2.5+: same options, state and numbers).

    For a parameter of 2 or more dims the second moment of the last two dims is kept as its row
    means ``row_var`` (…, R, 1) and column means ``col_var`` (…, 1, C), blended in with weight
    ``stepᵇ`` (``b = beta2_decay``); vectors keep a full ``variance``. The step is
    ``θ -= max(eps2, rms(θ)) · min(lr, 1/√step) · u / max(1, rms(u)/d)``, ``u = g/√v̂``.
    ``weight_decay`` multiplies ``θ`` by ``1 - lr·λ`` first; ``foreach`` is accepted.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([[1.0, -1.0], [2.0, 0.5]], requires_grad=True)
    >>> opt = optim.Adafactor([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> sorted(opt.state[w])
    ['col_var', 'row_var', 'step']
    """

    _state_like_params = False  # row_var / col_var are reductions of their parameter

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not lr >= 0.0:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not beta2_decay <= 0.0:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not eps[0] >= 0.0:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not eps[1] >= 0.0:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not d >= 1.0:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": eps,
            "d": d,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr = float(group["lr"])
        eps1, eps2 = group["eps"]
        wd, d, decay = group["weight_decay"], group["d"], group["beta2_decay"]
        for p in params:
            pd = p._data
            if pd.dtype.kind == "c":
                raise RuntimeError("Adafactor does not support complex parameters")
            grad = p._grad._data  # type: ignore[union-attr]
            g = np.negative(grad) if group["maximize"] else grad
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                if g.ndim > 1:
                    state["row_var"] = Tensor._make(np.zeros((*g.shape[:-1], 1), g.dtype))
                    state["col_var"] = Tensor._make(
                        np.zeros((*g.shape[:-2], 1, g.shape[-1]), g.dtype)
                    )
                else:
                    state["variance"] = Tensor._make(np.zeros_like(g))
            e1 = float(np.finfo(pd.dtype).eps) if eps1 is None else eps1
            step = step_counter(state)
            weight = step**decay  # 1 - β2 at this step
            rho = min(lr, 1 / step**0.5)
            alpha = max(eps2, float(np.linalg.norm(pd.reshape(-1))) / pd.size**0.5) * rho
            if wd != 0:
                pd *= 1 - lr * wd
            if g.ndim > 1:
                row_var, col_var = state["row_var"]._data, state["col_var"]._data
                lerp_(
                    row_var,
                    np.square(np.sqrt((g * g).sum(-1, keepdims=True))) / g.shape[-1],
                    weight,
                )
                lerp_(
                    col_var,
                    np.square(np.sqrt((g * g).sum(-2, keepdims=True))) / g.shape[-2],
                    weight,
                )
                var = np.matmul(row_var, col_var)
                var /= np.maximum(row_var.mean(-2, keepdims=True), e1)
            else:
                variance = state["variance"]._data
                lerp_(variance, g * g, weight)
                var = variance.copy()
            np.maximum(var, e1 * e1, out=var)
            update = 1 / np.sqrt(var)
            update *= g
            denom = max(1.0, float(np.linalg.norm(update.reshape(-1))) / (update.size**0.5 * d))
            pd += update * (-alpha / denom)
