"""Reverse-mode autodiff: ``backward``, ``grad``, custom ``Function``s, checks, anomalies."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.autograd import node as _recording
from glassgrad.autograd.anomaly import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from glassgrad.autograd.custom_function import Function
from glassgrad.autograd.engine import run_backward
from glassgrad.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from glassgrad.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from glassgrad.autograd.record import BackwardRecord, BackwardStep, record_backward
from glassgrad.autograd.state import state
from glassgrad.variable import Variable

__all__ = [
    "Function",
    "GradcheckError",
    "Variable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "record_backward",
    "set_detect_anomaly",
    "set_grad_enabled",
]


def _tensor_cls() -> Any:
    return _recording.Tensor  # set by glassgrad.tensor at import (no import on every backward)


def _root_grad(out: Any, gradient: Any, create_graph: bool, what: str) -> Any:
    """The seed gradient for one output: 1 for a scalar, else the user's (shape-checked)."""
    Tensor = _tensor_cls()
    if not out.requires_grad:
        raise RuntimeError(
            f"{what}: element 0 of tensors does not require grad and does not have a grad_fn "
            f"(shape {tuple(out.shape)}). Did you forget requires_grad=True on an input, or run "
            "the forward pass under no_grad()?"
        )
    if gradient is None:
        if out._data.size != 1:
            raise RuntimeError(
                f"{what}: grad can be implicitly created only for scalar outputs; the output has "
                f"shape {tuple(out.shape)}. Pass `gradient=` (a tensor of that shape), or reduce "
                "it first, e.g. loss.sum().backward()"
            )
        if out._data.dtype.kind == "c":
            raise RuntimeError(
                f"{what}: grad can be implicitly created only for real scalar outputs but got "
                f"{dtypes.name(out.dtype)}; take a real loss first (e.g. out.abs() or out.real)"
            )
        g = np.ones(out._data.shape, out._data.dtype)
    else:
        g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient, out.dtype)
        if g.shape != out.shape:
            raise RuntimeError(
                f"{what}: Mismatch in shape: grad_output has a shape of {tuple(g.shape)} and "
                f"output has a shape of {tuple(out.shape)}"
            )
        if g.dtype != out.dtype:
            g = g.astype(out.dtype)
    if create_graph:
        if isinstance(gradient, Tensor) and gradient.shape == out.shape:
            return gradient if gradient.dtype == out.dtype else gradient.to(out.dtype)
        return Tensor._make(g)
    return g


def _as_list(x: Any) -> list[Any]:
    Tensor = _tensor_cls()
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of every leaf they depend on."""
    outs = _as_list(tensors)
    grads = [None] * len(outs) if grad_tensors is None else _as_list(grad_tensors)
    if len(grads) != len(outs):
        raise RuntimeError(f"backward: got {len(outs)} tensors but {len(grads)} gradients")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_root_grad(o, g, create_graph, "backward") for o, g in zip(outs, grads)]
    if inputs is not None:
        ins = _as_list(inputs)
        # a non-leaf that retains its grad gets it from the walk itself: not a second time here
        walked = [t.grad_fn is not None and getattr(t, "_retains_grad", False) for t in ins]
        got = run_backward(outs, seeds, retain_graph, create_graph, capture=ins)
        for t, g, done in zip(ins, got or [], walked):
            if g is None or done:
                continue
            if t.grad_fn is not None:
                t._retains_grad = True
            gt = g if isinstance(g, _tensor_cls()) else _tensor_cls()._make(np.array(g))
            t._grad = gt if t._grad is None else t._grad + gt
        return
    run_backward(outs, seeds, retain_graph, create_graph)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Any, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` is untouched).

    >>> import glassgrad as gg
    >>> x = gg.tensor(3.0, requires_grad=True)
    >>> (dx,) = gg.autograd.grad(x**2, x)
    >>> dx
    tensor(6.)
    """
    if not only_inputs:
        warnings.warn(
            "only_inputs argument is deprecated and is ignored now (defaults to True). To "
            "accumulate gradient for other parts of the graph, please use "
            "glassgrad.autograd.backward.",
            FutureWarning,
            stacklevel=2,
        )
    if is_grads_batched:
        raise NotImplementedError(
            "grad(is_grads_batched=True): not supported; call grad once per row of "
            "grad_outputs, or use glassgrad.func.vmap over glassgrad.func.vjp"
        )
    Tensor = _tensor_cls()
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(
                f"grad: input {i} does not require grad (it cannot be differentiated)"
            )
    grads: Sequence[Any] = [None] * len(outs) if grad_outputs is None else _as_list(grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_root_grad(o, g, create_graph, "grad") for o, g in zip(outs, grads)]
    got = run_backward(outs, seeds, retain_graph, create_graph, capture=ins) or []
    result: list[Any] = []
    for i, (t, g) in enumerate(zip(ins, got)):
        if g is None:
            if materialize_grads:
                g = np.zeros(t.shape, t.dtype)
            elif not allow_unused:
                raise RuntimeError(
                    f"grad: one of the differentiated Tensors (input {i}, shape "
                    f"{tuple(t.shape)}) appears to not have been used in the graph. Set "
                    "allow_unused=True if this is the desired behavior."
                )
            else:
                result.append(None)
                continue
        if isinstance(g, Tensor):
            result.append(g)
        else:
            result.append(Tensor._make(np.array(g, copy=True)))
    return tuple(result)


_ = state


_SUBMODULES = (
    "forward_ad",
    "functional",
    "function",
    "graph",
    "profiler",
    "profiler_util",
)  # torch.autograd.<name> after ``import torch``


def __getattr__(name: str) -> Any:
    # these import Tensor, whose module imports this package: each is loaded on first use
    # (``torch.autograd.function.once_differentiable`` with no import of its own)
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"glassgrad.autograd.{name}")
    raise AttributeError(f"module 'glassgrad.autograd' has no attribute {name!r}")
