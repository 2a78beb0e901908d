"""``glassgrad.nn.utils``: gradient clipping and flat parameter vectors, as in PyTorch;
``glassgrad.nn.utils.rnn`` packs and pads variable-length sequences; ``parametrize`` and
``parametrizations`` (``weight_norm``, ``spectral_norm``) reparametrize a module's weights, as do
the older hook-based ``weight_norm`` and ``spectral_norm`` here.

Clipping works in place on the gradient arrays with NumPy ufuncs (it sits on the training
hot path) and returns the total norm as a tensor.

>>> import glassgrad as gg
>>> w = gg.tensor([3.0, 4.0], requires_grad=True)
>>> w.grad = gg.tensor([3.0, 4.0])
>>> clip_grad_norm_([w], max_norm=1.0)
tensor(5.)
>>> w.grad
tensor([0.6000, 0.8000])
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from glassgrad.autograd.state import bump_version
from glassgrad.nn.utils import fusion, parametrizations, parametrize, prune, rnn, stateless
from glassgrad.nn.utils.fusion import (
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)
from glassgrad.nn.utils.spectral_norm import remove_spectral_norm, spectral_norm
from glassgrad.nn.utils.weight_norm import remove_weight_norm, weight_norm
from glassgrad.tensor import Tensor

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "count_parameters",
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
    "fusion",
    "get_total_norm",
    "parameters_to_vector",
    "parametrizations",
    "parametrize",
    "prune",
    "remove_spectral_norm",
    "remove_weight_norm",
    "rnn",
    "skip_init",
    "spectral_norm",
    "vector_to_parameters",
    "weight_norm",
]


def _as_list(op: str, tensors: Any) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        return [tensors]
    out = list(tensors)
    for i, t in enumerate(out):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected tensors, but item {i} is a {type(t).__name__}")
    return out


def _grads(op: str, parameters: Any) -> list[np.ndarray]:
    return [p._grad._data for p in _as_list(op, parameters) if p._grad is not None]


def _norm(g: np.ndarray, p: float) -> Any:
    """The p-norm of one array, without the temporaries np.linalg.norm would make."""
    flat = g.reshape(-1)
    if p == 2.0:
        return np.sqrt(np.dot(flat, flat))
    if p == math.inf:
        return np.max(np.abs(flat)) if flat.size else np.zeros((), g.dtype)
    if p == -math.inf:
        return np.min(np.abs(flat)) if flat.size else np.zeros((), g.dtype)
    if p == 1.0:
        return np.sum(np.abs(flat))
    if p == 0.0:
        return np.asarray(np.count_nonzero(flat), g.dtype)
    return np.sum(np.abs(flat) ** p) ** (1.0 / p)


def get_total_norm(
    tensors: Any, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach: Any = None
) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together (the norm of their norms)."""
    arrays = [t._data for t in _as_list("get_total_norm", tensors)]
    p = float(norm_type)
    if not arrays:
        return Tensor._make(np.zeros((), np.float32))
    # the result type of the dtypes, not of the arrays: the same answer (NEP 50), and a function
    # glassgrad.compile can record (it cannot record a call that returns a dtype)
    dtype = np.result_type(*(a.dtype for a in arrays))
    norms = np.array([_norm(a, p) for a in arrays], dtype=dtype)
    total = _norm(norms, p)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(np.asarray(total))


def clip_grads_with_norm_(
    parameters: Any, max_norm: float, total_norm: Any, foreach: Any = None
) -> None:
    """Scale the gradients by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = _grads("clip_grads_with_norm_", parameters)
    if not grads:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    coef = np.minimum(float(max_norm) / (total + 1e-6), 1.0)
    for g in grads:
        np.multiply(g, coef.astype(g.dtype), out=g)


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: Any = None,
) -> Tensor:
    """Rescale the gradients in place so that their total norm is at most ``max_norm``;
    returns the total norm before clipping (a 0-d tensor)."""
    params = _as_list("clip_grad_norm_", parameters)
    grads = [p._grad for p in params if p._grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: Any = None,
) -> Tensor:
    """Deprecated: ``clip_grad_norm_``, the name PyTorch 0.3-era scripts call (it warns)."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Any, clip_value: float, foreach: Any = None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    v = float(clip_value)
    for g in _grads("clip_grad_value_", parameters):
        np.clip(g, -v, v, out=g)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    from glassgrad.ops.joining import cat

    params = _as_list("parameters_to_vector", parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: expected a non-empty list of parameters")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected vec to be a Tensor, but got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D, got shape {tuple(vec.shape)}")
    params = _as_list("vector_to_parameters", parameters)
    need = sum(p.numel() for p in params)
    if vec.numel() != need:
        raise ValueError(
            f"vector_to_parameters: vec has {vec.numel()} elements but the parameters hold {need}"
        )
    start = 0
    for p in params:
        n = p.numel()
        np.copyto(p._data, vec._data[start : start + n].reshape(p.shape), casting="unsafe")
        bump_version(p)
        start += n


def count_parameters(module: Any, trainable_only: bool = False) -> int:
    """How many numbers a module learns (``sum(p.numel() for p in module.parameters())``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def skip_init(module_cls: Any, *args: Any, **kwargs: Any) -> Any:
    """``module_cls(*args, **kwargs)`` with uninitialised parameters and buffers, for code
    that initialises them itself (PyTorch builds it on ``meta``; here it is built, then emptied)."""
    from glassgrad.nn.module import Module

    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    device = kwargs.pop("device", "cpu")
    return module_cls(*args, **kwargs).to_empty(device=device)
