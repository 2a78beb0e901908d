"""Convolutions (``conv1d``, ``conv2d``, ``conv3d``); pooling, from ``pooling``, is re-exported.

im2col: every window of the padded input becomes one column of a matrix (a strided view, copied
once), the whole batch's columns side by side, so a convolution is one matmul with the weight
per group (small ones: a batch of per-image matmuls, see ``ConvSpec``). The input gradient is
col2im (a matmul, then each kernel offset's block is added back: a loop over kernel offsets
only, a few images at a time), the weight gradient a matmul of g with the columns. Depthwise
convolutions skip im2col (``_depthwise``), and so do 1x1 kernels without padding.

Higher derivatives: a convolution is bilinear in (input, weight). Its two gradients are ops of
their own, ``ConvInputGrad`` (a transposed convolution) and ``ConvWeightGrad``, whose gradients
are convolutions or each other, so the three are closed under differentiation at any order.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from glassgrad.nn.functional import _depthwise as depthwise
from glassgrad.nn.functional._windows import Window, hashable, ntuple
from glassgrad.ops._common import Node, Tensor, as_tensor
from glassgrad.ops.registry import FUNCTIONAL, TORCH, functional
from glassgrad.ops.shape import reshape

# What one group of images' input-gradient columns may take when they are made and folded at
# once: col2im then adds blocks still in cache (L2-L3 sized), and BLAS still gets a few big
# products (resnet 3x3 64->64 on 32x32, batch 32: the input gradient 62 -> 45 ms on one core).
CHUNK_BYTES = 8 << 20


def image_chunks(n: int, per_image: int) -> list[slice]:
    """Slices of the batch of about CHUNK_BYTES of ``per_image`` bytes each (one if small)."""
    step = max(1, CHUNK_BYTES // max(per_image, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


# Below this many multiply-adds per image and group (O/G x C/G*kernel x L), a convolution runs
# as a batch of per-image products: OpenBLAS runs such small products on one thread anyway, and
# they need no copies to merge the batch and split it again (W7's 16 x 9 x 64: 75 against 97 us
# forward). Above it, the batch is merged into one product (see ``ConvSpec``).
SMALL_PRODUCT = 1 << 16
# Columns shorter than this (RGB layers: 3 channels x 4x4 = 48) also run per image: each image's
# weight-gradient product is small, and merging the batch would copy output-sized arrays three
# more times for a product with few rows (DCGAN's 3->64 and T64->3: 62 -> 36, 46 -> 37 ms on one
# core, forward and backward).
FEW_ROWS = 64


class ConvSpec:
    """Everything about one convolution but the arrays: window geometry, groups, channel counts,
    and the way its three array kernels run (``mode``):

    - "batched": the batch is folded into the columns, so each kernel is one matrix product per
      group over the whole batch. A per-image product is N BLAS calls; with 2 BLAS threads on a
      busy machine each call waits for both threads, and resnet layers ran 3-6x slower that way.
      Between (N, O, L) and (O/G, N*L) only whole rows of L positions move: cheap copies.
    - "per_image": small products (below SMALL_PRODUCT), short columns (below FEW_ROWS), and
      1x1 kernels without padding, whose input is its own columns (a view at stride 1: no
      im2col copy at all).
    - "depthwise": one channel per group, stride 1 (``_depthwise``, no im2col).
    """

    __slots__ = (
        "bias_axes",
        "c_in",
        "c_out",
        "cgk",
        "groups",
        "length",
        "mode",
        "og",
        "pointwise",
        "w_shape",
        "win",
    )

    def __init__(self, win: Window, groups: int, c_in: int, w_shape: tuple[int, ...]) -> None:
        self.win, self.groups, self.c_in, self.w_shape = win, groups, c_in, w_shape
        self.c_out = w_shape[0]
        self.og = self.c_out // groups  # out channels per group
        self.length = math.prod(
            win.out_shape
        )  # output positions per image (explicit sizes in reshapes:
        # it is ambiguous for empty arrays)
        self.cgk = math.prod(w_shape[1:])  # one group's column length: in_channels/groups * kernel
        self.bias_axes = (0, *range(2, 2 + len(win.kernel)))
        self.pointwise = win.size == 1 and not any(map(any, win.pads))
        if depthwise.fits(win, groups, c_in, self.og):
            self.mode = "depthwise"
        elif (
            self.pointwise
            or self.cgk < FEW_ROWS
            or self.og * self.cgk * self.length < SMALL_PRODUCT
        ):
            self.mode = "per_image"
        else:
            self.mode = "batched"

    # ---- the three array kernels -------------------------------------------------------------
    def im2col(self, x: np.ndarray) -> np.ndarray:
        """The columns: one per output position, row (channel, kernel offset), copied from the
        window view an output row at a time. "batched": (G, C/G * kernel, N*L); "per_image":
        (N, G, C/G * kernel, L); "depthwise": the padded image, flattened."""
        win, n = self.win, x.shape[0]
        if self.mode == "depthwise":
            return depthwise.im2col(self, x)
        view = win.view(win.pad(x), kernel_first=True)  # (N, C, *kernel, *out)
        if self.mode == "per_image":
            return view.reshape(n, self.groups, self.cgk, self.length)
        view = np.moveaxis(view, 0, 1 + len(win.kernel))  # (C, *kernel, N, *out)
        return view.reshape(self.groups, self.cgk, n * self.length)

    def _grad_columns(self, g: np.ndarray) -> np.ndarray:
        """The output gradient (N, O, *out) as (G, O/G, N*L)."""
        n, gr, og, length = g.shape[0], self.groups, self.og, self.length
        return g.reshape(n, gr, og, length).transpose(1, 2, 0, 3).reshape(gr, og, n * length)

    def forward(self, x: np.ndarray, w: np.ndarray, b: Any, cols: Any = None) -> np.ndarray:
        n, gr, og, length = x.shape[0], self.groups, self.og, self.length
        if cols is None:
            cols = self.im2col(x)
        if self.mode == "depthwise":
            return depthwise.forward(self, cols, w, b, n)
        wm = w.reshape(gr, og, self.cgk)
        if self.mode == "per_image":
            out = np.matmul(wm, cols)  # (N, G, O/G, L): already NCHW
            if b is not None:
                out += b.reshape(gr, og, 1)
        else:
            res = np.matmul(wm, cols)  # (G, O/G, N*L)
            nchw = res.reshape(gr, og, n, length).transpose(2, 0, 1, 3)
            out = np.empty((n, gr, og, length), res.dtype)
            if b is None:
                out[...] = nchw
            else:  # the bias is added in the copy that puts the batch first
                np.add(nchw, b.reshape(gr, og, 1), out=out)
        return out.reshape((n, self.c_out) + self.win.out_shape)

    def input_grad(self, g: np.ndarray, w: np.ndarray) -> np.ndarray:
        if self.mode == "depthwise":
            return depthwise.input_grad(self, g, w)
        win, gr, og, n, d = self.win, self.groups, self.og, g.shape[0], len(self.win.kernel)
        wt = w.reshape(gr, og, self.cgk).transpose(0, 2, 1)
        dtype = np.result_type(g, w)
        if self.mode == "per_image":
            gcols = np.matmul(wt, g.reshape(n, gr, og, self.length))  # (N, G, C/G*kernel, L)
            if self.pointwise and win.out_shape == win.in_shape:  # 1x1, stride 1
                return gcols.reshape((n, self.c_in) + win.in_shape)
            gcols = gcols.reshape((n, self.c_in) + win.kernel + win.out_shape)
            return win.fold(gcols, (n, self.c_in), dtype)
        gcol = self._grad_columns(g).reshape(gr, og, n, self.length)
        out = np.zeros((n, self.c_in) + win.padded_shape, dtype)
        for part in image_chunks(n, self.c_in * win.size * self.length * dtype.itemsize):
            m = part.stop - part.start
            gcols = np.matmul(wt, gcol[:, :, part].reshape(gr, og, m * self.length))
            gcols = gcols.reshape((self.c_in, *win.kernel, m, *win.out_shape))
            win.fold(np.moveaxis(gcols, 1 + d, 0), (m, self.c_in), dtype, out[part])
        return out[win.inner]

    def weight_grad(self, x: np.ndarray, g: np.ndarray, cols: Any = None) -> np.ndarray:
        if cols is None:
            cols = self.im2col(x)
        if self.mode == "depthwise":
            return depthwise.weight_grad(self, cols, g)
        if self.mode == "per_image":  # per-image products (O/G, L) by (L, C/G*kernel), summed
            gm = g.reshape(g.shape[0], self.groups, self.og, self.length)
            return np.sum(np.matmul(gm, cols.swapaxes(-1, -2)), axis=0).reshape(self.w_shape)
        gw = np.matmul(self._grad_columns(g), cols.transpose(0, 2, 1))  # (G, O/G, C/G*kernel)
        return gw.reshape(self.w_shape)


# ---- the ops and their gradients, closed under differentiation ---------------------------------


def _conv(x: Any, w: Any, spec: ConvSpec) -> Any:
    """Convolution without bias, on arrays or (recorded) on Tensors."""
    if isinstance(x, Tensor) or isinstance(w, Tensor):
        return Conv.apply(x, w, None, spec)
    return spec.forward(x, w, None)


def _input_grad(g: Any, w: Any, spec: ConvSpec) -> Any:
    if isinstance(g, Tensor) or isinstance(w, Tensor):
        return ConvInputGrad.apply(g, w, spec)
    return spec.input_grad(g, w)


def _weight_grad(x: Any, g: Any, spec: ConvSpec, cols: Any = None) -> Any:
    if isinstance(x, Tensor) or isinstance(g, Tensor):
        return ConvWeightGrad.apply(x, g, spec)
    return spec.weight_grad(x, g, cols)


class Conv(Node):
    op_name = "Convolution"  # PyTorch's one node for every convolution
    # NOTE: ``cols`` caches the im2col matrix for the weight gradient: it is used only on the
    # first-order (array) path and dropped after; under create_graph the rule recomputes it
    # from the saved input, so higher derivatives never treat it as a constant.
    __slots__ = ("cols", "spec")
    cols: Any
    spec: ConvSpec

    @staticmethod
    def forward(ctx: Any, x: Any, w: Any, b: Any, spec: ConvSpec) -> Any:
        cols = spec.im2col(x)
        recording = type(ctx) is Conv  # not the shared no-grad context: keep nothing there
        if recording:
            ctx.spec = spec
            ctx.save_for_backward(x, w)
            ctx.cols = cols if ctx.next[1] is not None else None
        return spec.forward(x, w, b, cols)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.next[:3]
        spec, cols = ctx.spec, ctx.cols
        ctx.cols = None
        gx = _input_grad(g, w, spec) if nx is not None else None
        gw = _weight_grad(x, g, spec, cols) if nw is not None else None
        gb = np.sum(g, axis=spec.bias_axes) if nb is not None else None
        return gx, gw, gb, None


class ConvInputGrad(Node):
    """g, w -> the input gradient (a transposed convolution); linear in each of g and w."""

    __slots__ = ("spec",)
    spec: ConvSpec

    @staticmethod
    def forward(ctx: Any, g: Any, w: Any, spec: ConvSpec) -> Any:
        ctx.spec = spec
        ctx.save_for_backward(g, w)
        return spec.input_grad(g, w)

    @staticmethod
    def backward(ctx: Any, gg: Any) -> Any:
        g, w = ctx.saved_tensors
        ng, nw = ctx.next[:2]
        spec = ctx.spec
        dg = _conv(gg, w, spec) if ng is not None else None
        dw = _weight_grad(gg, g, spec) if nw is not None else None
        return dg, dw, None


class ConvWeightGrad(Node):
    """x, g -> the weight gradient; <ggw, it> = <conv(x, ggw), g> gives both of its gradients."""

    __slots__ = ("spec",)
    spec: ConvSpec

    @staticmethod
    def forward(ctx: Any, x: Any, g: Any, spec: ConvSpec) -> Any:
        ctx.spec = spec
        ctx.save_for_backward(x, g)
        return spec.weight_grad(x, g)

    @staticmethod
    def backward(ctx: Any, ggw: Any) -> Any:
        x, g = ctx.saved_tensors
        nx, ng = ctx.next[:2]
        spec = ctx.spec
        dx = _input_grad(g, ggw, spec) if nx is not None else None
        dg = _conv(x, ggw, spec) if ng is not None else None
        return dx, dg, None


# ---- argument checking, once per distinct set of arguments -------------------------------------


def _sizes(vals: Any) -> str:
    return " x ".join(str(v) for v in vals)


@functools.lru_cache(maxsize=256)
def _conv_spec(
    op: str,
    d: int,
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
) -> ConvSpec:
    if len(w_shape) != d + 2:
        raise RuntimeError(
            f"{op}: expected a {d + 2}-D weight (out_channels, in_channels/groups, "
            f"*{d} kernel sizes), but got weight of size {list(w_shape)}"
        )
    if not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported (groups={groups!r})")
    c_out, cg, kernel = w_shape[0], w_shape[1], w_shape[2:]
    c_in, spatial = x_shape[1], x_shape[2:]
    if c_out % groups:
        raise RuntimeError(
            f"{op}: Given groups={groups}, expected weight to be divisible by {groups} at "
            f"dimension 0, but got weight of size {list(w_shape)} instead"
        )
    if c_in != cg * groups:
        raise RuntimeError(
            f"{op}: Given groups={groups}, weight of size {list(w_shape)}, expected "
            f"input{list(x_shape)} to have {cg * groups} channels, but got {c_in} channels "
            "instead"
        )
    if min(kernel, default=1) <= 0:
        raise RuntimeError(f"{op}: kernel sizes must be positive, got weight {list(w_shape)}")
    stride = ntuple(op, "stride", stride, d)
    dilation = ntuple(op, "dilation", dilation, d)
    if min(stride) <= 0:
        raise RuntimeError(f"{op}: non-positive stride is not supported (stride={stride})")
    if min(dilation) <= 0:
        raise RuntimeError(f"{op}: non-positive dilation is not supported (dilation={dilation})")
    span = tuple(dl * (k - 1) + 1 for dl, k in zip(dilation, kernel))
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * d
        elif padding == "same":
            if max(stride) != 1:
                raise RuntimeError(
                    f"{op}: padding='same' is not supported for strided convolutions "
                    f"(stride={stride})"
                )
            pads = tuple(((s - 1) // 2, (s - 1) - (s - 1) // 2) for s in span)  # extra goes right
        else:
            raise RuntimeError(
                f"{op}: Invalid padding string: {padding!r} (expected 'same' or 'valid')"
            )
    else:
        p = ntuple(op, "padding", padding, d)
        if min(p) < 0:
            raise RuntimeError(f"{op}: negative padding is not supported (padding={p})")
        pads = tuple((q, q) for q in p)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pads))
    if any(pn < s for pn, s in zip(padded, span)):
        raise RuntimeError(
            f"{op}: Calculated padded input size per channel: ({_sizes(padded)}). Kernel size: "
            f"({_sizes(span)}). Kernel size can't be greater than actual input size"
        )
    out = tuple((pn - s) // st + 1 for pn, s, st in zip(padded, span, stride))
    return ConvSpec(
        Window(spatial, kernel, stride, dilation, pads, out), int(groups), c_in, w_shape
    )


def _convnd(
    op: str,
    d: int,
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
) -> Tensor:
    x, w = as_tensor(input), as_tensor(weight)
    if x.ndim not in (d + 1, d + 2):
        raise RuntimeError(
            f"{op}: Expected {d + 1}D (unbatched) or {d + 2}D (batched) input to {op}, but got "
            f"input of size: {list(x.shape)}"
        )
    if x._data.dtype != w._data.dtype:
        raise RuntimeError(
            f"{op}: Input type ({x.dtype}) and weight type ({w.dtype}) should be the same"
        )
    unbatched = x.ndim == d + 1
    if unbatched:
        x = reshape(x, (1, *x.shape))
    try:
        spec = _conv_spec(op, d, x.shape, w.shape, stride, padding, dilation, groups)
    except TypeError:  # unhashable arguments (lists): same check, uncached
        args = (hashable(stride), hashable(padding), hashable(dilation), groups)
        spec = _conv_spec(op, d, x.shape, w.shape, *args)
    if bias is not None:
        b = as_tensor(bias)
        if b.shape != (spec.c_out,):
            raise RuntimeError(
                f"{op}: Given weight of size {list(w.shape)}, expected bias to be 1-dimensional "
                f"with {spec.c_out} elements, but got bias of size {list(b.shape)} instead"
            )
        if b._data.dtype != x._data.dtype:
            raise RuntimeError(
                f"{op}: Input type ({x.dtype}) and bias type ({b.dtype}) should be the same"
            )
        bias = b
    out = Conv.apply(x, w, bias, spec)
    return reshape(out, out.shape[1:]) if unbatched else out


@functional(namespaces=(TORCH, FUNCTIONAL))
def conv1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution (cross-correlation, as in PyTorch) of (N, C, L) with (O, C/groups, k)."""
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


@functional(namespaces=(TORCH, FUNCTIONAL))
def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution of (N, C, H, W) with a weight (O, C/groups, kH, kW), im2col + matmul.

    ``padding`` is an int, a pair, 'valid' or 'same'; a 3-D input is one unbatched image.

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> F.conv2d(gg.ones(1, 1, 3, 3), gg.ones(1, 1, 2, 2)).tolist()
    [[[[4.0, 4.0], [4.0, 4.0]]]]
    """
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@functional(namespaces=(TORCH, FUNCTIONAL))
def conv3d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D convolution of (N, C, D, H, W) with (O, C/groups, kD, kH, kW)."""
    return _convnd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)
