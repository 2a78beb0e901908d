"""Lazy layers (``LazyLinear``, ``LazyConv2d``, ``LazyBatchNorm1d``...): the input size is
inferred at the first call, as in PyTorch.

Until then the parameters are ``UninitializedParameter`` placeholders. The first forward
materialises them in place (the same objects, so an optimizer built before the first call
trains them), initialises them as the non-lazy layer would, and turns the module into that
layer (``cls_to_become``): afterwards it is an ordinary ``Linear``, ``Conv2d``...

>>> import glassgrad as gg
>>> m = LazyLinear(3)
>>> m.has_uninitialized_params()
True
>>> m(gg.ones(2, 5)).shape, m
(torch.Size([2, 3]), Linear(in_features=5, out_features=3, bias=True))
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from glassgrad._errors import guarded
from glassgrad.autograd.grad_mode import no_grad
from glassgrad.nn.conv import (
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
)
from glassgrad.nn.linear import Linear, check_positive
from glassgrad.nn.module import Module
from glassgrad.nn.norm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from glassgrad.nn.normalization import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from glassgrad.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from glassgrad.tensor import Tensor

__all__ = [
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "LazyLinear",
    "LazyModuleMixin",
]


def _initialize_parameters(module: Any, *args: Any) -> None:
    module.initialize_parameters(*args)


# errors of the first call's materialisation worded under the layer's name, as its forward's are
_initialize = guarded(_initialize_parameters, None)


class LazyModuleMixin:
    """What every lazy layer shares: a forward pre-hook that calls ``initialize_parameters``
    on the first input, then becomes ``cls_to_become``."""

    cls_to_become: type[Module] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._load_hook = True  # materialise from a state dict until the first forward
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters)  # type: ignore[attr-defined]

    def _lazy_load_hook(self, state_dict: Mapping[str, Any], prefix: str) -> None:
        """Loading a state dict into an uninitialised layer gives it the saved shapes."""
        for name, param in itertools.chain(
            self._parameters.items(),  # type: ignore[attr-defined]
            self._buffers.items(),  # type: ignore[attr-defined]
        ):
            key = prefix + name
            if key in state_dict and is_lazy(param) and not is_lazy(state_dict[key]):
                with no_grad():
                    param.materialize(tuple(state_dict[key].shape))

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Materialise and initialise the parameters from the first input (per layer)."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {self.__class__.__name__}"
        )

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer is still a placeholder."""
        regs = itertools.chain(self._parameters.values(), self._buffers.values())  # type: ignore[attr-defined]
        return any(is_lazy(t) for t in regs)

    def _infer_parameters(self, module: Any, args: tuple[Any, ...]) -> None:
        _initialize(module, *args)
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        del module._initialize_hook
        del module._load_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become


def _first_input(module: Any, input: Any, min_ndim: int) -> Tensor:
    """The first call's input, checked before its sizes are read."""
    name = type(module).__name__
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < min_ndim:
        raise ValueError(
            f"{name}: cannot infer the input size from an input of shape "
            f"{tuple(input.shape)} (expected at least {min_ndim} dims)"
        )
    return input


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last dim of its first input."""

    cls_to_become = Linear

    def __init__(
        self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(0, 0, False)
        check_positive(type(self).__name__, out_features=out_features)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:  # type: ignore[override]
        input = _first_input(self, input, 1)
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(
                    f"The in_features inferred from input: {input.shape[-1]} is not equal to "
                    f"in_features from self.weight: {self.weight.shape[-1]}"
                )
            self.in_features = input.shape[-1]


class _LazyConvXdMixin(LazyModuleMixin):
    """Lazy convolutions: ``in_channels`` is the channel dim of the first input."""

    _d: int
    groups: int
    transposed: bool
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    weight: Any
    bias: Any

    def _lazy_init(self, out_channels: int, bias: bool, device: Any, dtype: Any) -> None:
        check_positive(type(self).__name__, out_channels=out_channels)
        if out_channels % self.groups:
            raise ValueError(
                f"out_channels must be divisible by groups ({out_channels}, {self.groups})"
            )
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()  # type: ignore[misc]

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if not self.has_uninitialized_params():
            return
        self.in_channels = self._get_in_channels(input)
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        k, g = self.kernel_size, self.groups
        with no_grad():
            if self.transposed:
                self.weight.materialize((self.in_channels, self.out_channels // g, *k))
            else:
                self.weight.materialize((self.out_channels, self.in_channels // g, *k))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()

    def _get_in_channels(self, input: Tensor) -> int:
        input = _first_input(self, input, 0)
        unbatched, batched = self._d + 1, self._d + 2
        if input.ndim not in (unbatched, batched):
            raise RuntimeError(
                f"Expected {unbatched}D (unbatched) or {batched}D (batched) input to "
                f"{self.__class__.__name__}, but got input of size: {input.shape}"
            )
        return input.shape[1] if input.ndim == batched else input.shape[0]


def _conv_init(
    self: Any,
    out_channels: int,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    bias: bool,
    padding_mode: str,
    device: Any,
    dtype: Any,
) -> None:
    # bias False: no tensor that would soon be replaced by the placeholder
    super(_LazyConvXdMixin, self).__init__(
        0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device, dtype
    )
    self._lazy_init(out_channels, bias, device, dtype)


def _conv_transpose_init(
    self: Any,
    out_channels: int,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    bias: bool,
    dilation: Any,
    padding_mode: str,
    device: Any,
    dtype: Any,
) -> None:
    super(_LazyConvXdMixin, self).__init__(
        0,
        0,
        kernel_size,
        stride,
        padding,
        output_padding,
        groups,
        False,
        dilation,
        padding_mode,
        device,
        dtype,
    )
    self._lazy_init(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConvXdMixin, Conv1d):
    """``Conv1d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = Conv1d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _conv_init(
            self, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device, dtype,
        )  # fmt: skip


class LazyConv2d(_LazyConvXdMixin, Conv2d):
    """``Conv2d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = Conv2d
    __init__ = LazyConv1d.__init__


class LazyConv3d(_LazyConvXdMixin, Conv3d):
    """``Conv3d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = Conv3d
    __init__ = LazyConv1d.__init__


class LazyConvTranspose1d(_LazyConvXdMixin, ConvTranspose1d):
    """``ConvTranspose1d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = ConvTranspose1d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _conv_transpose_init(
            self, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
            dilation, padding_mode, device, dtype,
        )  # fmt: skip


class LazyConvTranspose2d(_LazyConvXdMixin, ConvTranspose2d):
    """``ConvTranspose2d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = ConvTranspose2d
    __init__ = LazyConvTranspose1d.__init__


class LazyConvTranspose3d(_LazyConvXdMixin, ConvTranspose3d):
    """``ConvTranspose3d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = ConvTranspose3d
    __init__ = LazyConvTranspose1d.__init__


class _LazyNormBase(LazyModuleMixin):
    """Lazy batch and instance norms: ``num_features`` is the channel dim of the first input
    (affine and running statistics on by default, for instance norms too, as in PyTorch)."""

    num_features: int
    affine: bool
    track_running_stats: bool
    weight: Any
    bias: Any
    running_mean: Any
    running_var: Any

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            from glassgrad.creation import tensor

            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = tensor(0)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()  # type: ignore[misc]

    def initialize_parameters(self, input: Tensor) -> None:  # type: ignore[override]
        if not self.has_uninitialized_params():
            return
        self.num_features = _first_input(self, input, 2).shape[1]
        with no_grad():
            shape = (self.num_features,)
            if self.affine:
                self.weight.materialize(shape)
                if self.bias is not None:
                    self.bias.materialize(shape)
            if self.track_running_stats:
                self.running_mean.materialize(shape)
                self.running_var.materialize(shape)
            self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """``BatchNorm1d`` whose ``num_features`` comes from the first input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """``BatchNorm2d`` whose ``num_features`` comes from the first input."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """``BatchNorm3d`` whose ``num_features`` comes from the first input."""

    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNormBase, InstanceNorm1d):
    """``InstanceNorm1d`` whose ``num_features`` comes from the first input."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNormBase, InstanceNorm2d):
    """``InstanceNorm2d`` whose ``num_features`` comes from the first input."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNormBase, InstanceNorm3d):
    """``InstanceNorm3d`` whose ``num_features`` comes from the first input."""

    cls_to_become = InstanceNorm3d
