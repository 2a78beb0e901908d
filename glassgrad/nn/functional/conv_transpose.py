"""Transposed convolutions (``conv_transpose1d/2d/3d``): the adjoint of a convolution.

A transposed convolution of ``x`` with ``w`` is the input gradient of the convolution whose
output ``x`` is (same weight, stride, padding, dilation, groups): its forward is conv's
``input_grad`` (col2im), its input gradient is that convolution's forward, and its weight
gradient is conv's weight gradient with the roles of input and output gradient swapped. So it
reuses ``conv``'s kernels and inherits their closure under differentiation; PyTorch records it
as ``ConvolutionBackward0``, as here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.nn.functional._windows import Window, ntuple
from glassgrad.nn.functional.conv import ConvSpec, _conv, _weight_grad
from glassgrad.ops._common import Node, Tensor, as_tensor
from glassgrad.ops.registry import FUNCTIONAL, TORCH, functional
from glassgrad.ops.shape import reshape


class ConvTranspose(Node):
    """x (N, C_in, *L), w (C_in, C_out/groups, *k) -> (N, C_out, *L'), conv's input gradient."""

    op_name = "Convolution"
    __slots__ = ("spec",)
    spec: ConvSpec

    @staticmethod
    def forward(ctx: Any, x: Any, w: Any, b: Any, spec: ConvSpec) -> Any:
        if type(ctx) is ConvTranspose:
            ctx.spec = spec
            ctx.save_for_backward(x, w)
        out = spec.input_grad(x, w)  # a view into col2im's padded buffer
        if b is None:
            return np.ascontiguousarray(out)
        res = np.empty(out.shape, out.dtype)  # contiguous, as PyTorch's; the bias in the copy
        return np.add(out, b.reshape((1, -1) + (1,) * (out.ndim - 2)), out=res)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.next[:3]
        spec = ctx.spec
        gx = _conv(g, w, spec) if nx is not None else None
        gw = _weight_grad(g, x, spec) if nw is not None else None
        gb = np.sum(g, axis=spec.bias_axes) if nb is not None else None
        return gx, gw, gb, None


def output_size(
    size: tuple[int, ...],
    kernel: Any,
    stride: Any,
    padding: Any,
    output_padding: Any,
    dilation: Any,
) -> tuple[int, ...]:
    """(L - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1, per dim."""
    return tuple(
        (n - 1) * s - 2 * p + dl * (k - 1) + op + 1
        for n, k, s, p, op, dl in zip(size, kernel, stride, padding, output_padding, dilation)
    )


def _conv_transposend(
    op: str,
    d: int,
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: Any,
    dilation: Any,
) -> Tensor:
    x, w = as_tensor(input), as_tensor(weight)
    if x.ndim not in (d + 1, d + 2):
        raise RuntimeError(
            f"{op}: Expected {d + 1}D (unbatched) or {d + 2}D (batched) input to {op}, but got "
            f"input of size: {list(x.shape)}"
        )
    if w.ndim != d + 2:
        raise RuntimeError(
            f"{op}: expected a {d + 2}-D weight (in_channels, out_channels/groups, *{d} kernel "
            f"sizes), but got weight of size {list(w.shape)}"
        )
    if x._data.dtype != w._data.dtype:
        raise RuntimeError(
            f"{op}: Input type ({x.dtype}) and weight type ({w.dtype}) should be the same"
        )
    if not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported (groups={groups!r})")
    unbatched = x.ndim == d + 1
    if unbatched:
        x = reshape(x, (1, *x.shape))
    if x.shape[1] != w.shape[0]:
        raise RuntimeError(
            f"{op}: Given transposed=1, weight of size {list(w.shape)}, expected input"
            f"{list(x.shape)} to have {w.shape[0]} channels, but got {x.shape[1]} channels instead"
        )
    if w.shape[0] % groups:
        raise RuntimeError(
            f"{op}: Given groups={groups}, expected weight to be divisible by {groups} at "
            f"dimension 0, but got weight of size {list(w.shape)} instead"
        )
    st, pd = ntuple(op, "stride", stride, d), ntuple(op, "padding", padding, d)
    op_, dl = ntuple(op, "output_padding", output_padding, d), ntuple(op, "dilation", dilation, d)
    if min(st) <= 0 or min(dl) <= 0 or min(pd) < 0 or min(op_) < 0:
        raise RuntimeError(
            f"{op}: stride and dilation must be positive, padding and output_padding "
            f"non-negative (stride={st}, dilation={dl}, padding={pd}, output_padding={op_})"
        )
    if any(o >= s and o >= t for o, s, t in zip(op_, st, dl)):
        raise RuntimeError(
            f"{op}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={op_}, stride={st}, dilation={dl}"
        )
    c_out = w.shape[1] * groups
    out = output_size(x.shape[2:], w.shape[2:], st, pd, op_, dl)
    if min(out, default=1) <= 0:
        raise RuntimeError(
            f"{op}: the computed output size {list(out)} is too small (input {list(x.shape)}, "
            f"weight {list(w.shape)})"
        )
    # the convolution this one is the adjoint of: input (N, C_out, *out) -> output x; its
    # window is given x's size (output_padding >= stride, allowed below the dilation, leaves
    # positions no window reads: they get zero, as in PyTorch)
    pads = tuple((p, p) for p in pd)
    win = Window(out, tuple(w.shape[2:]), st, dl, pads, tuple(x.shape[2:]))
    spec = ConvSpec(win, int(groups), c_out, tuple(w.shape))
    if bias is not None:
        b = as_tensor(bias)
        if b.shape != (c_out,):
            raise RuntimeError(
                f"{op}: Given transposed=1, weight of size {list(w.shape)}, expected bias to be "
                f"1-dimensional with {c_out} elements, but got bias of size {list(b.shape)} instead"
            )
        if b._data.dtype != x._data.dtype:
            raise RuntimeError(
                f"{op}: Input type ({x.dtype}) and bias type ({b.dtype}) should be the same"
            )
        bias = b
    y = ConvTranspose.apply(x, w, bias, spec)
    return y.squeeze(0) if unbatched else y


@functional(namespaces=(TORCH, FUNCTIONAL))
def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """1-D transposed convolution of (N, C_in, L) with (C_in, C_out/groups, k)."""
    return _conv_transposend(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


@functional(namespaces=(TORCH, FUNCTIONAL))
def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """2-D transposed convolution ("deconvolution") of (N, C_in, H, W) with a weight
    (C_in, C_out/groups, kH, kW): the adjoint of ``conv2d``, which upsamples by ``stride``.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.conv_transpose2d(gg.ones(1, 1, 2, 2), gg.ones(1, 1, 2, 2), stride=2).shape
    torch.Size([1, 1, 4, 4])
    """
    return _conv_transposend(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


@functional(namespaces=(TORCH, FUNCTIONAL))
def conv_transpose3d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """3-D transposed convolution of (N, C_in, D, H, W) with (C_in, C_out/groups, kD, kH, kW)."""
    return _conv_transposend(
        "conv_transpose3d",
        3,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
