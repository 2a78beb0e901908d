"""``torch.nn.utils.parametrizations``: ``weight_norm`` and ``spectral_norm`` as
parametrizations (PyTorch's current API), with PyTorch's state-dict keys.

>>> from glassgrad import nn
>>> m = weight_norm(nn.Linear(4, 3))
>>> [k for k in m.state_dict()]
['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.nn.module import Module
from glassgrad.nn.utils import parametrize
from glassgrad.tensor import Tensor

__all__ = ["spectral_norm", "weight_norm"]


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dim but ``dim``, shaped to broadcast against ``v``
    (``torch.norm_except_dim``); ``dim=-1``: the norm of all of ``v``, 0-d."""
    if dim == -1:
        return v.norm(pow)
    n = v.ndim
    if dim == 0:
        return v.reshape(v.shape[0], -1).norm(pow, dim=1).reshape(v.shape[0], *[1] * (n - 1))
    if dim == n - 1:
        return v.reshape(-1, v.shape[-1]).norm(pow, dim=0).reshape(*[1] * (n - 1), v.shape[-1])
    return norm_except_dim(v.transpose(0, dim), pow, 0).transpose(0, dim)


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """``g * v / ||v||`` with the norm over every dim but ``dim`` (``torch._weight_norm``)."""
    return v * (g / norm_except_dim(v, 2, dim))


class _WeightNorm(Module):
    """weight = g v / ||v||: magnitude ``original0`` (g) and direction ``original1`` (v)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as g v / ||v|| (Salimans & Kingma), decoupling each
    output unit's magnitude from its direction; ``dim=None``: one norm for the whole tensor."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def _weight_norm_compat_hook(state_dict: Any, prefix: str, *args: Any) -> None:
        """A state dict of the older ``weight_norm`` (``weight_g``, ``weight_v``) loads too."""
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


def _normalize_(out: np.ndarray, x: np.ndarray, eps: float) -> None:
    """``F.normalize(x, dim=0, eps, out=out)`` on arrays: x / max(||x||, eps) into ``out``."""
    np.divide(x, max(np.sqrt(np.dot(x, x)), eps), out=out)


def _to_matrix(weight: Tensor, dim: int) -> Tensor:
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.reshape(weight.shape[0], -1)


class _SpectralNorm(Module):
    """weight / sigma, sigma the largest singular value estimated by power iteration on the
    buffers ``_u`` and ``_v`` (one more iteration per forward in training mode)."""

    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                "Dimension out of range (expected to be in range of "
                f"[-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but "
                f"got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            from glassgrad.creation import randn

            self.n_power_iterations = n_power_iterations
            h, w = _to_matrix(weight, self.dim).shape
            u, v = randn(h, dtype=weight.dtype), randn(w, dtype=weight.dtype)
            _normalize_(u._data, u._data, eps)
            _normalize_(v._data, v._data, eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(_to_matrix(weight, self.dim), 15)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        """Update ``_u`` and ``_v`` in place (outside the graph), as PyTorch does."""
        w, u, v = weight_mat._data, self._u._data, self._v._data
        for _ in range(n_power_iterations):
            _normalize_(u, w @ v, self.eps)
            _normalize_(v, w.T @ u, self.eps)

    def forward(self, weight: Tensor) -> Tensor:
        from glassgrad.nn.functional.norm import normalize

        if weight.ndim == 1:
            out: Tensor = normalize(weight, dim=0, eps=self.eps)
            return out
        weight_mat = _to_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = Tensor._make(self._u._data.copy())
        v = Tensor._make(self._v._data.copy())
        sigma = (u * weight_mat.mv(v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def _default_dim(module: Module) -> int:
    from glassgrad.nn.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

    return 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Reparametrize ``module.<name>`` as weight / sigma(weight), its spectral norm estimated
    by power iteration (Miyato et al.): keeps a GAN discriminator 1-Lipschitz."""
    weight: Any = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    d = _default_dim(module) if dim is None else dim
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, d, eps)
    )
    return module
