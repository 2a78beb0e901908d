"""``Muon``: momentum, then the update orthogonalised by Newton-Schulz iterations, as
``torch.optim.Muon`` (for 2-D parameters: the weights of hidden layers).

PyTorch runs the Newton-Schulz iterations in bfloat16. NumPy has no bfloat16, so the iterations
here keep float32 arrays holding bfloat16 values: every op computes in float32 (as PyTorch's CPU
kernels do for bfloat16) and rounds its result to bfloat16 (nearest, ties to even). That gives
PyTorch's numbers wherever the float32 sums of a matrix product agree; PyTorch's bfloat16 GEMM
sums in its BLAS's order (bfloat16 dot-product instructions where the CPU has them), so now and
then, more often for larger matrices, an entry differs in its last bfloat16 bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.optim.optimizer import Optimizer, lerp_
from glassgrad.tensor import Tensor

__all__ = ["Muon"]

EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.775
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


def _bf16(x: Any) -> np.ndarray:
    """Round to the nearest bfloat16 (ties to even), held in float32; from float64 directly (one
    rounding, as ``tensor.bfloat16()``)."""
    x = np.asarray(x)
    if x.dtype == np.float64:
        u = x.view(np.uint64)
        r = (u + np.uint64(0x0FFFFFFFFFFF) + ((u >> np.uint64(45)) & np.uint64(1))) & np.uint64(
            0xFFFFE00000000000
        )
        out = r.view(np.float64).astype(np.float32)
    else:
        x = x.astype(np.float32, copy=False)
        u = x.view(np.uint32)
        r = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
        out = r.view(np.float32)
    return np.where(np.isnan(x), np.float32(np.nan), out)


def _zeropower_via_newtonschulz(
    grad: np.ndarray, ns_coefficients: tuple[float, float, float], ns_steps: int, eps: float
) -> np.ndarray:
    """An approximately orthogonal matrix with the singular vectors of ``grad``: the quintic
    Newton-Schulz iteration X <- aX + (bA + cA²)X with A = XXᵀ, on X = G/‖G‖, in bfloat16."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (np.float32(v) for v in ns_coefficients)
    x = _bf16(grad)
    tall = grad.shape[0] > grad.shape[1]
    if tall:
        x = x.T
    norm = _bf16(np.sqrt(np.sum(np.square(x), dtype=np.float32)))
    x = _bf16(x / np.maximum(norm, _bf16(np.float32(eps))))
    f64 = np.float64
    for _ in range(ns_steps):
        gram = _bf16(x @ x.T)
        # addmm(A, A, A, beta=b, alpha=c): c·(A @ A) rounded, then b·A added by a fused
        # multiply-add; addmm(X, B, X, beta=a): a·X + B @ X with one rounding (as PyTorch's
        # bfloat16 kernels on this CPU: they agree on far more matrices than plain float32 ops)
        scaled = (c * (gram @ gram)).astype(f64)
        gram_update = _bf16((scaled + f64(b) * gram).astype(np.float32))
        x = _bf16((f64(a) * x + (gram_update @ x).astype(f64)).astype(np.float32))
    return x.T if tall else x


def _adjust_lr(lr: float, adjust_lr_fn: str | None, param_shape: Any) -> float:
    """Scale ``lr`` so that updates of rectangular matrices have a comparable RMS."""
    A, B = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, A / B))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(A, B))
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    """Muon (MomentUm Orthogonalized by Newton-Schulz), as ``torch.optim.Muon``.

    Each step: ``B = μB + (1-μ)g`` (a lerp), the update ``lerp(g, B, μ)`` with ``nesterov``
    else ``B``, orthogonalised by ``ns_steps`` Newton-Schulz iterations; then decoupled weight
    decay ``θ *= 1 - lr·λ`` and ``θ -= lr'·O`` with ``lr'`` from ``adjust_lr_fn`` ("original":
    ``lr·sqrt(max(1, A/B))``; "match_rms_adamw": ``0.2·lr·sqrt(max(A, B))``). Only 2-D
    parameters: biases and embeddings belong to another optimizer such as AdamW.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.ones(2, 2, requires_grad=True)
    >>> opt = optim.Muon([w], lr=0.1, weight_decay=0.0)
    >>> (w * gg.tensor([[1.0, 0.0], [0.0, 2.0]])).sum().backward()
    >>> opt.step()
    >>> w.shape
    torch.Size([2, 2])
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B, DEFAULT_C),
        eps: float = EPS,
        ns_steps: int = DEFAULT_NS_STEPS,
        adjust_lr_fn: str | None = None,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not lr >= 0.0:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not momentum >= 0.0:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_coefficients": ns_coefficients,
            "eps": eps,
            "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        "Muon only supports 2D parameters whereas we found a parameter with "
                        f"size: {p.size()}"
                    )

    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr = group["lr"]
        lr = float(lr.item()) if isinstance(lr, Tensor) else lr
        wd, momentum = group["weight_decay"], group["momentum"]
        for p in params:
            if p.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
            if p._grad.is_sparse:  # type: ignore[union-attr]
                raise RuntimeError("Muon does not support sparse gradients")
        for p in params:
            pd, g = p._data, p._grad._data  # type: ignore[union-attr]
            if g.ndim != 2:
                raise ValueError("Param gradient must be a 2D matrix")
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = Tensor._make(np.zeros_like(g))
            buf = state["momentum_buffer"]._data
            lerp_(buf, g, 1 - momentum)
            if group["nesterov"]:
                update = np.array(g, copy=True)
                lerp_(update, buf, momentum)
            else:
                update = buf
            ortho = _zeropower_via_newtonschulz(
                update, group["ns_coefficients"], group["ns_steps"], group["eps"]
            )
            adjusted_lr = _adjust_lr(lr, group["adjust_lr_fn"], p.shape)
            pd *= pd.dtype.type(1 - lr * wd)
            pd += np.multiply(ortho.astype(pd.dtype), pd.dtype.type(-adjusted_lr))
