"""Normalisation layers: ``BatchNorm1d BatchNorm2d LayerNorm``.

BatchNorm keeps ``running_mean``/``running_var``/``num_batches_tracked`` buffers, uses batch
statistics in training (updating the running ones) and the running ones in ``eval()``;
weights start at ones and biases at zeros, as in PyTorch.

>>> import glassgrad as gg
>>> bn = BatchNorm1d(3)
>>> _ = bn(gg.randn(8, 3))
>>> int(bn.num_batches_tracked)
1
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.autograd.state import bump_version
from glassgrad.nn import functional as F
from glassgrad.nn import init
from glassgrad.nn.linear import check_positive, empty_parameter
from glassgrad.nn.module import Module
from glassgrad.tensor import Tensor

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "SyncBatchNorm"]


def add_affine_parameters(
    module: Module, shape: tuple[int, ...], affine: bool, bias: bool, dtype: Any, device: Any
) -> None:
    """A norm layer's optional per-channel ``weight`` and ``bias`` (registered as None if off)."""
    module.register_parameter("weight", empty_parameter(shape, dtype, device) if affine else None)
    has_bias = affine and bias
    module.register_parameter("bias", empty_parameter(shape, dtype, device) if has_bias else None)


def reset_affine_parameters(module: Module) -> None:
    """Weight 1 and bias 0: the norm starts as a plain standardisation."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _NormBase(Module):
    """What batch and instance norms share (PyTorch's ``_NormBase``): the optional affine
    parameters and running statistics, their names, initial values and resets."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_positive(type(self).__name__, num_features=num_features)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        add_affine_parameters(self, (num_features,), affine, bias, dtype, device)
        if track_running_stats:
            d = dtypes.as_dtype(dtype)
            self.register_buffer("running_mean", Tensor._make(np.zeros(num_features, d)))
            self.register_buffer("running_var", Tensor._make(np.ones(num_features, d)))
            self.register_buffer("num_batches_tracked", Tensor._make(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._data.fill(0)
            self.running_var._data.fill(1)
            self.num_batches_tracked._data.fill(0)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        reset_affine_parameters(self)


class _BatchNorm(_NormBase):
    """What BatchNorm1d and BatchNorm2d share; they differ only in the input dims they accept."""

    _dims: tuple[int, ...] = ()

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(
                f"{type(self).__name__}: expected {want} input (got {input.ndim}D input of "
                f"shape {tuple(input.shape)})"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            bump_version(self.num_batches_tracked)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if keep else None,
            self.running_var if keep else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs over N (and L), per channel C."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs over N, H and W, per channel C."""

    _dims = (4,)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation whose statistics span every process of a group; glassgrad runs one
    process, so it is BatchNorm over the local batch (any input of 2 or more dims)."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: Any = None,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )
        self.process_group = process_group

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2:
            raise ValueError(
                f"SyncBatchNorm: expected at least 2D input (got {input.ndim}D input of shape "
                f"{tuple(input.shape)})"
            )
        self._dims = (input.ndim,)
        return super().forward(input)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every BatchNorm*d inside it replaced by a SyncBatchNorm holding the
        same parameters, running statistics and mode (the module itself if it is none)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
                bias=module.bias is not None,
            )
            if module.affine:
                out.weight = module.weight
                if module.bias is not None:
                    out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs over N, D, H and W, per channel C."""

    _dims = (5,)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift elementwise."""

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = empty_parameter(self.normalized_shape, dtype, device)
            if bias:
                self.bias = empty_parameter(self.normalized_shape, dtype, device)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )
