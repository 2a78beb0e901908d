"""``Optimizer``: the base every update rule shares (param groups, state, checkpoints, one hook).

A subclass validates its options, passes them as ``defaults`` and implements one method,
``_step_group(group, params)``: update the parameters of one group that have a gradient. The base
class owns everything else, exactly as ``torch.optim.Optimizer`` lays it out:

- ``param_groups``: a list of dicts, each with ``"params"`` (a list of tensors) and every option
  (``lr``, ``weight_decay``...); options missing from a group come from ``defaults``.
- ``state``: per-parameter dicts (``state[p]["exp_avg"]``...) holding Tensors and numbers only, so
  a checkpoint can store them without pickle.
- ``state_dict()`` / ``load_state_dict()``: torch's layout, parameters named by their position
  (``{"state": {0: {...}}, "param_groups": [{"lr": 0.1, ..., "params": [0, 1]}]}``).

Updates work on the parameters' NumPy arrays in place (``out=`` ufuncs), outside the graph, and
follow the arithmetic of torch's default single-tensor implementations step by step so that
trajectories agree with PyTorch to rounding.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.autograd.grad_mode import enable_grad, no_grad
from glassgrad.autograd.state import bump_version
from glassgrad.tensor import Tensor

__all__ = ["Optimizer"]

StateDict = dict[str, Any]
_UNORDERED = (
    "optimizer parameters need to be organized in ordered collections, but the ordering of "
    "tensors in sets will change between runs. Please use a list instead."
)


class Optimizer:
    """Base class of all optimizers; subclasses implement ``_step_group``.

    >>> import glassgrad as gg
    >>> from glassgrad import optim
    >>> w = gg.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.5)
    >>> (w * w).sum().backward()  # grad = 2w
    >>> opt.step()
    >>> w
    tensor([0., 0.], requires_grad=True)
    """

    #: whether per-parameter state arrays have their parameter's shape (checked on load)
    _state_like_params = True

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got a Tensor (wrap it in a list: [t])"
            )
        if isinstance(params, (set, frozenset)):  # torch accepts this one; the order is random
            raise TypeError(_UNORDERED)
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._structure_version = (
            0  # bumped when groups or state are replaced (compiled code checks)
        )
        self._opt_called = False
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ---- the step hook ------------------------------------------------------------------------
    def _step_group(self, group: dict[str, Any], params: list[Tensor]) -> None:
        """Update ``params`` (those of ``group`` whose ``.grad`` is not None) in place."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _step_group")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss.

        Parameters whose ``.grad`` is None are skipped (their state is left untouched).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._opt_called = True  # lets a scheduler warn when it is stepped first
        with no_grad():
            for group in self.param_groups:
                params = [p for p in group["params"] if p._grad is not None]
                if params:
                    if any(p._data.ndim == 0 for p in params):
                        self._step_with_scalars(group, params)
                    else:
                        self._step_group(group, params)
                    for p in params:
                        bump_version(p)  # a graph that saved the old value now raises
        return loss

    def _step_with_scalars(self, group: dict[str, Any], params: list[Tensor]) -> None:
        """``_step_group`` with each 0-d parameter, its gradient and its state seen through
        1-element views: NumPy's ufuncs give scalars, not arrays, for 0-d operands, and the
        update's in-place arithmetic needs arrays (CLIP's ``logit_scale`` is 0-d)."""
        scalars = [(p, p._data, p._grad._data) for p in params if p._data.ndim == 0]  # type: ignore[union-attr]
        for p, data, grad in scalars:
            p._data, p._grad._data = data.reshape(1), grad.reshape(1)  # type: ignore[union-attr]
            for t in self.state.get(p, {}).values():  # (``get``: no empty entry made)
                if isinstance(t, Tensor) and t._data.ndim == 0:
                    t._data = t._data.reshape(1)
        try:
            self._step_group(group, params)
        finally:
            for p, data, grad in scalars:
                p._data, p._grad._data = data, grad  # type: ignore[union-attr]
                for t in self.state.get(p, {}).values():
                    if isinstance(t, Tensor) and t._data.shape == (1,):
                        t._data = t._data.reshape(())

    # ---- parameters ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    g.grad_fn, g.requires_grad = None, False
                    g._data.fill(0)
                    bump_version(g)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing ones come from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry (the tensors to optimize)")
        self._structure_version = getattr(self, "_structure_version", 0) + 1
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED)
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        tensors = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            param_group["param_names"] = names
        param_group["params"] = tensors
        for i, p in enumerate(tensors):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but params[{i}] of the group is "
                    f"{type(p).__name__}"
                )
            if p.grad_fn is not None and not p.retains_grad:
                raise ValueError(f"can't optimize a non-leaf Tensor (params[{i}] of the group)")
            if p._data.dtype.kind not in "fc":
                raise TypeError(
                    f"optimizer can only optimize floating-point Tensors, but params[{i}] has "
                    f"dtype {dtypes.name(p._data.dtype)}"
                )
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this "
                "will cause an error; see github.com/pytorch/pytorch/issues/40967 for more "
                "information",
                stacklevel=3,
            )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {which} to the optimizer"
                )
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> StateDict:
        """The optimizer's state in torch's layout, parameters replaced by integer positions.

        Like torch, the returned dict refers to the live state tensors (not copies): save it or
        ``copy.deepcopy`` it before stepping again if you need a snapshot.
        """
        index: dict[int, int] = {}
        start = 0

        def pack_group(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Load a ``state_dict()``: options per group, and copies of the per-parameter state.

        Parameters are matched by position, so the groups must have the same sizes as when the
        state was saved. Floating-point state is cast to its parameter's dtype (``step`` is kept).
        """
        self._structure_version = getattr(self, "_structure_version", 0) + 1
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                "optimizer state dict must be a dict with 'state' and 'param_groups' entries, "
                f"got {type(state_dict).__name__}"
                + (
                    f" with keys {sorted(map(str, state_dict))}"
                    if isinstance(state_dict, dict)
                    else ""
                )
            )
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups ({len(saved_groups)}"
                f", the optimizer has {len(groups)})"
            )
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of "
                    f"optimizer's group (group {i}: {len(s['params'])} saved parameters, "
                    f"{len(g['params'])} in the optimizer)"
                )
        id_map = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
            )
        )
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            key = int(k) if isinstance(k, str) and k.isdigit() else k  # JSON turns keys to str
            if key in id_map:
                param = id_map[key]
                state[param] = {
                    name: _cast(param, key, name, val, self._state_like_params)
                    for name, val in v.items()
                }
            else:
                state[key] = copy.deepcopy(v)
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            for name, val in s.items():  # tuples (betas) may come back as lists from a file
                if isinstance(g.get(name), tuple) and isinstance(val, list):
                    s[name] = tuple(val)
            for name, default in self.defaults.items():  # options added since it was saved
                s.setdefault(name, g.get(name, default))
        self.state = state
        self.param_groups = saved_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def _cast(param: Tensor, index: Any, name: str, value: Any, like_param: bool = True) -> Any:
    """A copy of one loaded state value, floating arrays cast to the parameter's dtype.

    As in torch, ``step`` keeps its dtype and every other floating array (0-d ones such as
    NAdam's ``mu_product`` included) takes the parameter's. With ``like_param`` (every optimizer
    but LBFGS) an array that is not 0-d must have the parameter's shape.
    """
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, index, name, v, like_param) for v in value)
    if isinstance(value, (Tensor, np.ndarray)):
        arr = value._data if isinstance(value, Tensor) else value
        if name != "step":
            if arr.dtype.kind == "f":
                arr = arr.astype(param._data.dtype)
            if like_param and arr.ndim > 0 and arr.shape != param._data.shape:
                raise ValueError(
                    f"loaded state dict: state {name!r} of parameter {index} has shape "
                    f"{tuple(arr.shape)} but the parameter has shape {tuple(param._data.shape)}"
                )
        return Tensor._make(np.array(arr, copy=True))
    return copy.deepcopy(value)


# ---- helpers shared by the update rules ---------------------------------------------------------
def step_counter(state: dict[str, Any]) -> float:
    """Increment ``state["step"]`` (a 0-d Tensor, as in torch) and return it as a float."""
    t = state["step"]._data
    t += 1
    return t.item()  # (a float; while glassgrad.compile records, one it follows)


def scalar_dtype(fused: bool | None = None) -> type[np.floating[Any]]:
    """torch's dtype of scalar state (``step``...): float64 when that is the default dtype, else
    float32 (always float32 with ``fused=True``)."""
    if not fused and dtypes.default_float() == np.float64:
        return np.float64
    return np.float32


def new_step(fused: bool | None = None) -> Tensor:
    """torch's initial ``step``: a 0-d zero of ``scalar_dtype(fused)``."""
    return Tensor._make(np.zeros((), scalar_dtype(fused)))


def new_scalar(value: float) -> Tensor:
    """A 0-d state Tensor of ``scalar_dtype()`` (NAdam's ``mu_product``, ASGD's ``eta``...)."""
    return Tensor._make(np.array(value, scalar_dtype()))


def check_fused(fused: bool | None, foreach: bool | None, differentiable: bool) -> None:
    """torch's checks of ``fused`` against the other implementation flags."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def effective_grad(p: np.ndarray, g: np.ndarray, maximize: bool, weight_decay: float) -> Any:
    """``g`` (negated to maximize) plus ``weight_decay * p``; never writes into ``g``.

    Returns ``g`` itself (``p.grad``'s array) when there is nothing to add, so callers never
    modify the result in place.
    """
    if weight_decay != 0:
        out = np.multiply(p, weight_decay)
        # (-g) + wd*p and wd*p - g are the same IEEE number: no separate negation pass.
        return np.subtract(out, g, out=out) if maximize else np.add(out, g, out=out)
    return np.negative(g) if maximize else g


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start.lerp_(end, weight)`` with torch's two formulas (small and large weights)."""
    diff = np.subtract(end, start)
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= weight - 1
        np.add(end, diff, out=start)
