"""Convolution and pooling layers: ``Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d
ConvTranspose3d MaxPool1d MaxPool2d AvgPool1d AvgPool2d AdaptiveAvgPool1d AdaptiveAvgPool2d``,
with PyTorch's arguments, attributes and defaults.

>>> import glassgrad as gg
>>> conv = Conv2d(1, 8, 3, padding=1)
>>> conv(gg.ones(2, 1, 8, 8)).shape, conv.weight.shape
(torch.Size([2, 8, 8, 8]), torch.Size([8, 1, 3, 3]))
"""

from __future__ import annotations

from typing import Any

from glassgrad.nn import functional as F
from glassgrad.nn.linear import check_positive, empty_parameter, reset_fan_in_uniform
from glassgrad.nn.module import Module
from glassgrad.tensor import Tensor

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(layer: str, name: str, v: Any, d: int) -> tuple[int, ...]:
    t = tuple(v) if isinstance(v, (tuple, list)) else (v,) * d
    if len(t) != d or not all(isinstance(x, int) and not isinstance(x, bool) for x in t):
        raise ValueError(f"{layer}: {name} must be an int or a tuple of {d} ints, got {v!r}")
    return t


class _ConvNd(Module):
    """What Conv1d and Conv2d share: argument checks, weight/bias, init, padding modes."""

    _d = 0
    transposed = False

    def __init__(
        self,
        in_channels: int,
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
        super().__init__()
        name, d = type(self).__name__, self._d
        check_positive(name, in_channels=in_channels, out_channels=out_channels)
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"in_channels must be divisible by groups ({in_channels}, {groups})")
        if out_channels % groups:
            raise ValueError(f"out_channels must be divisible by groups ({out_channels}, {groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                f"padding_mode='{padding_mode}'"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(name, "kernel_size", kernel_size, d)
        self.stride = _ntuple(name, "stride", stride, d)
        self.dilation = _ntuple(name, "dilation", dilation, d)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of ['valid', 'same']"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding: Any = padding
        else:
            self.padding = _ntuple(name, "padding", padding, d)
        self.output_padding = (0,) * d
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's argument for non-zero padding modes: last dim first, (left, right) each
        pads: list[int] = []
        for i in reversed(range(d)):
            if self.padding == "valid":
                lo = hi = 0
            elif self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                lo, hi = total // 2, total - total // 2
            else:
                lo = hi = self.padding[i]
            pads += [lo, hi]
        self._reversed_padding_repeated_twice = pads
        if self.transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = empty_parameter(shape, dtype, device)
        if bias:
            self.bias = empty_parameter((out_channels,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_fan_in_uniform(self.weight, self.bias)

    def _conv(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        conv = (F.conv1d, F.conv2d, F.conv3d)[self._d - 1]
        if self.padding_mode != "zeros":
            x = F.pad(input, tuple(self._reversed_padding_repeated_twice), mode=self.padding_mode)
            return conv(x, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        d = self._d
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * d:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * d:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * d:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) inputs; weight (C_out, C_in/groups, k)."""

    _d = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) inputs; weight (C_out, C_in/groups, kH, kW)."""

    _d = 2


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) inputs; weight (C_out, C_in/groups, kD, kH, kW)."""

    _d = 3


class _ConvTransposeNd(_ConvNd):
    """Transposed convolutions: weight (C_in, C_out/groups, *kernel), only zero padding, and
    ``output_padding`` (or ``output_size=`` in forward) to pick among the output sizes a
    strided convolution maps to the same input size."""

    transposed = True

    def __init__(
        self,
        in_channels: int,
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
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be ints, got {padding!r}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self.output_padding = _ntuple(
            type(self).__name__, "output_padding", output_padding, self._d
        )

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, ...]:
        """The output_padding that gives ``output_size`` (PyTorch's rule and errors)."""
        if output_size is None:
            return self.output_padding
        d = self._d
        lead = 2 if input.ndim == d + 2 else 1
        size = [int(v) for v in output_size]
        if len(size) == lead + d:
            size = size[lead:]
        if len(size) != d:
            raise ValueError(
                f"ConvTranspose{d}D: for {input.ndim}D input, output_size must have {d} or "
                f"{lead + d} elements (got {len(size)})"
            )
        lo = [
            (input.shape[i + lead] - 1) * self.stride[i]
            - 2 * self.padding[i]
            + self.dilation[i] * (self.kernel_size[i] - 1)
            + 1
            for i in range(d)
        ]
        hi = [lo[i] + self.stride[i] - 1 for i in range(d)]
        for i in range(d):
            if not lo[i] <= size[i] <= hi[i]:
                raise ValueError(
                    f"requested an output size of {size}, but valid sizes range from {lo} to "
                    f"{hi} (for an input of {list(input.shape[lead:])})"
                )
        return tuple(size[i] - lo[i] for i in range(d))

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self._d - 1]
        output_padding = self._output_padding(input, output_size)
        return conv(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution of (N, C_in, L); weight (C_in, C_out/groups, k)."""

    _d = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution of (N, C_in, H, W): the upsampling layer of DCGAN generators
    and U-Net decoders; weight (C_in, C_out/groups, kH, kW)."""

    _d = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution of (N, C_in, D, H, W); weight (C_in, C_out/groups, kD, kH, kW)."""

    _d = 3


class _MaxPoolNd(Module):
    _fn: Any = None

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Any:
        return type(self)._fn(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of a (N, C, L) input."""

    _fn: Any = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """Max over sliding windows of a (N, C, H, W) input; ``stride`` defaults to the kernel."""

    _fn: Any = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """Max over sliding windows of a (N, C, D, H, W) input; ``stride`` defaults to the kernel."""

    _fn: Any = staticmethod(F.max_pool3d)


class AvgPool1d(Module):
    """Mean over sliding windows of a (N, C, L) input."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        # PyTorch keeps AvgPool1d's sizes as 1-tuples (and prints them so)
        self.kernel_size = _ntuple("AvgPool1d", "kernel_size", kernel_size, 1)
        self.stride = _ntuple(
            "AvgPool1d", "stride", stride if stride is not None else kernel_size, 1
        )
        self.padding = _ntuple("AvgPool1d", "padding", padding, 1)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over sliding windows of a (N, C, H, W) input; ``stride`` defaults to the kernel."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(AvgPool2d):
    """Mean over sliding windows of a (N, C, D, H, W) input; ``stride`` defaults to the kernel."""

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class _MaxUnpoolNd(Module):
    _d = 1

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        name, d = type(self).__name__, self._d
        self.kernel_size = _ntuple(name, "kernel_size", kernel_size, d)
        self.stride = _ntuple(name, "stride", stride if stride is not None else kernel_size, d)
        self.padding = _ntuple(name, "padding", padding, d)

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        fn = getattr(F, f"max_unpool{self._d}d")
        return fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of MaxPool1d: values back at their indices, zeros elsewhere."""

    _d = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of MaxPool2d: values back at their indices, zeros elsewhere."""

    _d = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of MaxPool3d: values back at their indices, zeros elsewhere."""

    _d = 3


class _LPPoolNd(Module):
    _d = 1

    def __init__(
        self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
    ) -> None:
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        fn = getattr(F, f"lp_pool{self._d}d")
        return fn(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )


class LPPool1d(_LPPoolNd):
    """(Σ x^p over each window of (N, C, L))^(1/p)."""

    _d = 1


class LPPool2d(_LPPoolNd):
    """(Σ x^p over each window of (N, C, H, W))^(1/p)."""

    _d = 2


class LPPool3d(_LPPoolNd):
    """(Σ x^p over each window of (N, C, D, H, W))^(1/p)."""

    _d = 3


class AdaptiveAvgPool1d(Module):
    """Average-pool a (N, C, L) input to length ``output_size``."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    """Average-pool a (N, C, H, W) input to ``output_size`` (an int, a pair, or None to keep)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool1d(Module):
    """Max-pool a (N, C, L) input to length ``output_size`` (optionally with the indices)."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(AdaptiveMaxPool1d):
    """Max-pool a (N, C, H, W) input to ``output_size`` (an int, a pair, or None to keep)."""

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool3d(AdaptiveMaxPool1d):
    """Max-pool a (N, C, D, H, W) input to ``output_size`` (an int, a triple, None to keep)."""

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class AdaptiveAvgPool3d(AdaptiveAvgPool1d):
    """Average-pool a (N, C, D, H, W) input to ``output_size`` (an int, a triple, None to keep)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool3d(input, self.output_size)
