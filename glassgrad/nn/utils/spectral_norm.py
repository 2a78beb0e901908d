"""``torch.nn.utils.spectral_norm`` (the older, hook-based API): ``weight`` recomputed from
``weight_orig`` and the power-iteration buffers ``weight_u``/``weight_v`` before every call.

>>> from glassgrad import nn
>>> m = spectral_norm(nn.Linear(4, 3))
>>> list(m.state_dict())
['bias', 'weight_orig', 'weight_u', 'weight_v']
"""

from __future__ import annotations

from typing import Any, TypeVar

from glassgrad.autograd.grad_mode import no_grad
from glassgrad.nn.module import Module, Parameter
from glassgrad.nn.utils.parametrizations import _default_dim, _normalize_, _to_matrix
from glassgrad.nn.utils.weight_norm import _check_initialized
from glassgrad.tensor import Tensor

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]

T_module = TypeVar("T_module", bound=Module)


class SpectralNorm:
    """The forward pre-hook that sets ``module.<name>`` to weight_orig / sigma before each call
    (one power iteration first in training mode)."""

    _version: int = 1

    def __init__(
        self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but "
                f"got n_power_iterations={n_power_iterations}"
            )
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        return _to_matrix(weight, self.dim)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:  # in place on the buffers, outside the graph
            w = weight_mat._data
            for _ in range(self.n_power_iterations):
                _normalize_(v._data, w.T @ u._data, self.eps)
                _normalize_(u._data, w @ v._data, self.eps)
            u, v = Tensor._make(u._data.copy()), Tensor._make(v._data.copy())
        sigma = (u * weight_mat.mv(v)).sum()
        return weight / sigma

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))

    @staticmethod
    def apply(
        module: Module, name: str, n_power_iterations: int, dim: int, eps: float
    ) -> SpectralNorm:
        from glassgrad.creation import randn

        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two spectral_norm hooks on the same parameter {name}"
                )
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        _check_initialized("SpectralNorm", weight)
        h, w = fn.reshape_weight_to_matrix(weight).shape
        u, v = randn(h, dtype=weight.dtype), randn(w, dtype=weight.dtype)
        _normalize_(u._data, u._data, eps)
        _normalize_(v._data, v._data, eps)
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(
    module: T_module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> T_module:
    """Divide ``module.<name>`` by its spectral norm before each forward, estimated by power
    iteration on the buffers ``<name>_u``/``<name>_v`` (the parameter is ``<name>_orig``)."""
    SpectralNorm.apply(
        module, name, n_power_iterations, _default_dim(module) if dim is None else dim, eps
    )
    return module


def remove_spectral_norm(module: T_module, name: str = "weight") -> T_module:
    """Replace ``<name>_orig`` and the buffers by one parameter holding weight / sigma."""
    for k, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
