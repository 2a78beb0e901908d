"""Stochastic weight averaging and EMA models, as ``torch.optim.swa_utils``.

``AveragedModel`` keeps a copy of a model whose parameters are a running average of the
model's (equal weights by default, or an exponential moving average with
``multi_avg_fn=get_ema_multi_avg_fn(decay)``); ``SWALR`` anneals each group's lr to a constant
``swa_lr``; ``update_bn`` recomputes BatchNorm statistics for the averaged weights.

>>> import glassgrad as gg
>>> from glassgrad import nn
>>> from glassgrad.optim.swa_utils import AveragedModel
>>> model = nn.Linear(1, 1, bias=False)
>>> swa = AveragedModel(model)
>>> for w in (1.0, 2.0, 6.0):
...     with gg.no_grad():
...         _ = model.weight.fill_(w)
...     swa.update_parameters(model)
>>> swa.module.weight
Parameter containing:
tensor([[3.]], requires_grad=True)
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from glassgrad.autograd.grad_mode import no_grad
from glassgrad.autograd.state import bump_version
from glassgrad.nn.module import Module
from glassgrad.nn.norm import _BatchNorm
from glassgrad.optim.lr_scheduler import LRScheduler, _format_param
from glassgrad.optim.optimizer import Optimizer, lerp_
from glassgrad.tensor import Tensor

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]

ParamList = Sequence[Tensor]


def _n(num_averaged: Tensor | int) -> int:
    return int(num_averaged._data) if isinstance(num_averaged, Tensor) else int(num_averaged)


def _assign(target: Tensor, value: np.ndarray) -> None:
    np.copyto(target._data, value, casting="unsafe")
    bump_version(target)


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[ParamList, ParamList, Any], None]:
    """An in-place EMA update of lists of tensors: ``ema = lerp(ema, current, 1 - decay)``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )

    def ema_update(ema_param_list: ParamList, current_param_list: ParamList, _: Any) -> None:
        for p_ema, p_model in zip(ema_param_list, current_param_list):
            if p_ema._data.dtype.kind in "fc":
                lerp_(p_ema._data, p_model._data, 1 - decay)
                bump_version(p_ema)
            else:
                _assign(p_ema, p_ema._data * decay + p_model._data * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable[[ParamList, ParamList, Any], None]:
    """An in-place equal-weight running average of lists of tensors (weight ``1/(n+1)``).

    As in torch, a tensor ``num_averaged`` (what ``AveragedModel`` passes) makes the weight a
    float32 number.
    """

    def swa_update(
        averaged_param_list: ParamList, current_param_list: ParamList, num_averaged: Any
    ) -> None:
        n = _n(num_averaged)
        weight = (
            float(np.float32(1) / np.float32(n + 1))
            if isinstance(num_averaged, Tensor)
            else 1 / (n + 1)
        )
        for p_avg, p_model in zip(averaged_param_list, current_param_list):
            if p_avg._data.dtype.kind in "fc":
                lerp_(p_avg._data, p_model._data, weight)
                bump_version(p_avg)
            else:
                diff = p_model._data - p_avg._data
                _assign(p_avg, p_avg._data + diff / (n + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[[Tensor, Tensor, Any], Tensor]:
    """An EMA of one tensor: returns ``decay·ema + (1-decay)·current``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable[[Tensor, Tensor, Any], Tensor]:
    """An equal-weight running average of one tensor: ``avg + (current - avg)/(n + 1)``."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (_n(num_averaged) + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters average the model's over ``update_parameters``
    calls, as ``torch.optim.swa_utils.AveragedModel``.

    The first update copies the weights; later ones average them with equal weights, or with
    ``avg_fn(averaged, current, n)`` (returns the new tensor) or ``multi_avg_fn(averaged_list,
    current_list, n)`` (updates in place; e.g. ``get_ema_multi_avg_fn(0.999)``). Buffers are
    copied from the model, or averaged like parameters with ``use_buffers=True``. ``n_averaged``
    is an int64 buffer; ``device`` is accepted (CPU only).
    """

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: Callable[[Tensor, Tensor, Any], Tensor] | None = None,
        multi_avg_fn: Callable[[ParamList, ParamList, Any], None] | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", Tensor._make(np.array(0, np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters (and buffers) into the average."""
        if self.use_buffers:
            self_params = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            model_params = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            self_params, model_params = list(self.parameters()), list(model.parameters())
        pairs = list(zip(self_params, model_params))
        n_averaged = self.n_averaged
        with no_grad():
            if int(n_averaged._data) == 0:
                for p_avg, p_model in pairs:
                    _assign(p_avg, p_model._data)
            else:
                averaged = [a for a, _ in pairs]
                current = [Tensor._make(m._data) for _, m in pairs]
                if self.multi_avg_fn is not None:
                    self.multi_avg_fn(averaged, current, n_averaged)
                elif self.avg_fn is None:  # torch's CPU default: avg + (cur - avg)/(n + 1)
                    n = int(n_averaged._data)
                    for p_avg, p_model in zip(averaged, current):
                        diff = p_model._data - p_avg._data
                        _assign(p_avg, p_avg._data + diff / (n + 1))
                else:
                    for p_avg, p_model in zip(averaged, current):
                        new = self.avg_fn(Tensor._make(p_avg._data), p_model, n_averaged)
                        _assign(p_avg, new._data if isinstance(new, Tensor) else np.asarray(new))
            if not self.use_buffers:
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    _assign(b_swa, b_model._data)
            n_averaged._data += 1
            bump_version(n_averaged)


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute every BatchNorm's running statistics with one pass over ``loader``.

    The statistics are reset and accumulated as a cumulative average (``momentum=None``); a
    batch that is a list or tuple contributes its first item. The model's train/eval mode and
    the momenta are restored afterwards.
    """
    with no_grad():
        momenta: dict[_BatchNorm, Any] = {}
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                module.reset_running_stats()
                momenta[module] = module.momentum
        if not momenta:
            return
        was_training = model.training
        model.train()
        for module in momenta:
            module.momentum = None
        for input in loader:
            if isinstance(input, (list, tuple)):
                input = input[0]
            if device is not None:
                input = input.to(device)
            model(input)
        for bn_module, momentum in momenta.items():
            bn_module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr to ``swa_lr`` over ``anneal_epochs`` epochs (``"cos"`` or
    ``"linear"``), then hold it, as ``torch.optim.swa_utils.SWALR``.

    >>> import glassgrad as gg
    >>> from glassgrad.optim import SGD
    >>> opt = SGD([gg.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = SWALR(opt, swa_lr=0.1, anneal_epochs=2, anneal_strategy="linear")
    >>> lrs = []
    >>> for _ in range(3):
    ...     opt.step()
    ...     sched.step()
    ...     lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs  # halfway after one epoch, swa_lr from the second
    [0.55, 0.1, 0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [
            self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
            for group in self.optimizer.param_groups
        ]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [
            group["swa_lr"] * alpha + lr * (1 - alpha)
            for group, lr in zip(self.optimizer.param_groups, prev_lrs)
        ]

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
