"""``torch.fft``: the discrete Fourier transforms, as three linear nodes and their adjoints.

Every transform is one of PyTorch's three kernels, after the input was cut (``SliceBackward0``)
or zero-padded (``ConstantPadNdBackward0``) to the requested sizes:

* ``FftC2C``: complex -> complex (``fftn``/``ifftn`` of a complex input);
* ``FftR2C``: real -> complex, the full spectrum or its non-negative half along the last dim
  (``fft``/``ifft`` of a real input, ``rfftn``, ``ihfftn``);
* ``FftC2R``: the non-negative half of a Hermitian spectrum -> real (``irfftn``, ``hfftn``).

Each is linear, so its gradient (PyTorch's convention: ``dL/dRe + i dL/dIm``) is its adjoint
applied to ``g``. The adjoint of a transform is the transform in the other direction with the
dual normalization (``backward`` <-> ``forward``, ``ortho`` stays): for C2C that is all; for R2C
``g`` is first zero-padded to the full spectrum and the real part taken at the end; for C2R it is
the R2C of ``g``, with the bins that stand for two (a bin and its mirror image) doubled. The rules
call these same nodes, so they differentiate themselves to any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.device import check_cpu
from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim
from glassgrad.ops.complex_ops import conj
from glassgrad.ops.joining import narrow, roll
from glassgrad.ops.registry import FFT, op

_DUAL: dict[str, Any] = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


# ---- the three kernels, on arrays ----------------------------------------------------------------


def _c2c_array(x: np.ndarray, dims: tuple[int, ...], forward: bool, norm: Any) -> np.ndarray:
    f = np.fft.fftn if forward else np.fft.ifftn
    return f(x, axes=dims, norm=norm).astype(x.dtype, copy=False)


def _r2c_array(
    x: np.ndarray, dims: tuple[int, ...], forward: bool, norm: Any, onesided: bool
) -> np.ndarray:
    if not onesided:
        out = (np.fft.fftn if forward else np.fft.ifftn)(x, axes=dims, norm=norm)
    elif forward:
        out = np.fft.rfftn(x, axes=dims, norm=norm)
    else:  # the inverse transform of a real signal is the conjugate of its dual-normed forward
        out = np.conj(np.fft.rfftn(x, axes=dims, norm=_DUAL[norm]))
    return out.astype(dtypes.complex_of(x.dtype), copy=False)


def _c2r_array(
    x: np.ndarray, dims: tuple[int, ...], forward: bool, norm: Any, last: int
) -> np.ndarray:
    s = [x.shape[d] for d in dims[:-1]] + [last]
    if forward:  # hfftn: the forward transform of a Hermitian signal = irfftn of its conjugate
        out = np.fft.irfftn(np.conj(x), s=s, axes=dims, norm=_DUAL[norm])
    else:
        out = np.fft.irfftn(x, s=s, axes=dims, norm=norm)
    return out.astype(dtypes.real_of(x.dtype), copy=False)


# ---- the nodes -----------------------------------------------------------------------------------


class FftC2C(Node):
    __slots__ = ("dims", "fwd", "norm")

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, forward: bool, norm: str) -> Any:
        ctx.dims, ctx.fwd, ctx.norm = dims, forward, norm
        return _c2c_array(x, dims, forward, norm)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _c2c(g, ctx.dims, not ctx.fwd, _DUAL[ctx.norm]), None, None, None


class FftR2C(Node):
    __slots__ = ("dims", "fwd", "last", "norm", "onesided")

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, forward: bool, norm: str, onesided: bool) -> Any:
        ctx.dims, ctx.fwd, ctx.norm, ctx.onesided = dims, forward, norm, onesided
        ctx.last = x.shape[dims[-1]]
        return _r2c_array(x, dims, forward, norm, onesided)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if ctx.onesided:  # the dropped half of the spectrum gets no gradient: zeros
            g = _pad_end(g, ctx.dims[-1], ctx.last)
        gx = _c2c(g, ctx.dims, not ctx.fwd, _DUAL[ctx.norm])
        return np.real(gx), None, None, None, None


class FftC2R(Node):
    __slots__ = ("dims", "fwd", "last", "norm")

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any, forward: bool, norm: str, last: int) -> Any:
        ctx.dims, ctx.fwd, ctx.norm, ctx.last = dims, forward, norm, last
        return _c2r_array(x, dims, forward, norm, last)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        gx = _r2c(g, ctx.dims, not ctx.fwd, _DUAL[ctx.norm], True)
        d, bins = ctx.dims[-1], gx.shape[ctx.dims[-1]]
        twice = ctx.last - bins  # bins 1..twice stand for themselves and their mirror image
        if twice > 0:
            w = np.ones(bins, dtypes.real_of(gx.dtype))
            w[1 : 1 + twice] = 2
            gx = gx * w.reshape((bins,) + (1,) * (gx.ndim - 1 - d))
        return gx, None, None, None, None


class PadEnd(Node):  # zeros appended along one dim (what torch.fft's n= / s= do when larger)
    __slots__ = ("dim", "size")
    op_name = "ConstantPadNd"

    @staticmethod
    def forward(ctx: Any, x: Any, dim: int, n: int) -> Any:
        ctx.dim, ctx.size = dim, x.shape[dim]
        return _pad_array(x, dim, n)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g[(slice(None),) * ctx.dim + (slice(0, ctx.size),)], None, None


def _pad_array(x: np.ndarray, dim: int, n: int) -> np.ndarray:
    shape = list(x.shape)
    shape[dim] = n
    out = np.zeros(shape, x.dtype)
    out[(slice(None),) * dim + (slice(0, x.shape[dim]),)] = x
    return out


# Rules get arrays, or Tensors under create_graph: these run the node (recording) on Tensors.
def _c2c(g: Any, dims: Any, forward: bool, norm: str) -> Any:
    if isinstance(g, Tensor):
        return FftC2C.apply(g, dims, forward, norm)
    return _c2c_array(g, dims, forward, norm)


def _r2c(g: Any, dims: Any, forward: bool, norm: str, onesided: bool) -> Any:
    if isinstance(g, Tensor):
        return FftR2C.apply(g, dims, forward, norm, onesided)
    return _r2c_array(g, dims, forward, norm, onesided)


def _pad_end(g: Any, dim: int, n: int) -> Any:
    if g.shape[dim] == n:
        return g
    if isinstance(g, Tensor):
        return PadEnd.apply(g, dim, n)
    return _pad_array(g, dim, n)


# ---- arguments -----------------------------------------------------------------------------------


def _input(op_name: str, input: Any) -> Tensor:
    """``input`` as a float or complex tensor (integers and bools become the default float)."""
    x = as_tensor(input, op_name)
    kind = x._data.dtype.kind
    if kind in "iub":
        x = x.to(dtypes.default_float())
    elif x._data.dtype == dtypes.np_float16:
        raise RuntimeError(
            f"{op_name}: Unsupported dtype Half (tensor of shape {tuple(x.shape)}); use float32"
        )
    return x


def _norm(op_name: str, norm: str | None) -> str:
    if norm is None:
        return "backward"
    if norm not in _DUAL:
        raise RuntimeError(
            f'{op_name}: Invalid normalization mode: "{norm}" (use None, "backward", "ortho" or '
            '"forward")'
        )
    return norm


def _points(op_name: str, n: int) -> int:
    if n < 1:
        raise RuntimeError(f"{op_name}: Invalid number of data points ({n}) specified")
    return n


def _dims_and_sizes(
    op_name: str, x: Tensor, s: Sequence[int] | None, dim: int | Sequence[int] | None
) -> tuple[tuple[int, ...], list[int | None]]:
    """PyTorch's rules: ``dim`` (all dims, or the last ``len(s)``) and the size per dim
    (None: as it is; -1 in ``s`` means the same)."""
    if x.ndim == 0:
        raise IndexError(f"{op_name}: Dimension specified as -1 but tensor has no dimensions")
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    if s is not None:
        s = [int(v) for v in s]
        if dim is None:
            if len(s) > x.ndim:
                raise RuntimeError(
                    f"{op_name}: Got shape with {len(s)} values but input tensor only has "
                    f"{x.ndim} dimensions (shape {tuple(x.shape)})"
                )
            dim = tuple(range(x.ndim - len(s), x.ndim))
        elif len(s) != len(dim):
            raise RuntimeError(
                f"{op_name}: When given, dim and shape arguments must have the same length "
                f"(dim {tuple(dim)}, s {tuple(s)})"
            )
    dims = (
        tuple(range(x.ndim)) if dim is None else tuple(check_dim(op_name, d, x.ndim) for d in dim)
    )
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{op_name}: FFT dims must be unique, got {tuple(dim or ())}")
    sizes: list[int | None] = (
        [None] * len(dims) if s is None else [None if v == -1 else v for v in s]
    )
    return dims, sizes


def _resize(x: Tensor, dim: int, n: int) -> Tensor:
    """``x`` cut or zero-padded to ``n`` elements along ``dim`` (PyTorch: slice / constant pad)."""
    m = x.shape[dim]
    if n < m:
        return narrow(x, dim, 0, n)
    if n > m:
        return PadEnd.apply(x, dim, n)
    return x


# ---- the transforms ------------------------------------------------------------------------------


def _c2c_op(op_name: str, input: Any, s: Any, dim: Any, norm: Any, forward: bool) -> Tensor:
    x = _input(op_name, input)
    dims, sizes = _dims_and_sizes(op_name, x, s, dim)
    mode = _norm(op_name, norm)
    for d, n in zip(dims, sizes):
        x = _resize(x, d, _points(op_name, x.shape[d] if n is None else n))
    if x._data.dtype.kind == "c":
        return FftC2C.apply(x, dims, forward, mode)
    return _real_input(x, dims, forward, mode, False)


def _real_input(x: Tensor, dims: tuple[int, ...], forward: bool, mode: str, half: bool) -> Tensor:
    """R2C; an inverse transform as PyTorch records it: the conjugate of the dual forward one."""
    if forward:
        return FftR2C.apply(x, dims, True, mode, half)
    return conj(FftR2C.apply(x, dims, True, _DUAL[mode], half))


def _r2c_op(op_name: str, input: Any, s: Any, dim: Any, norm: Any, forward: bool) -> Tensor:
    x = _input(op_name, input)
    if x._data.dtype.kind == "c":
        what = "ComplexDouble" if x._data.dtype == dtypes.np_complex128 else "ComplexFloat"
        raise RuntimeError(
            f"{op_name} expects a real input tensor, but got {what} (shape {tuple(x.shape)})"
        )
    dims, sizes = _dims_and_sizes(op_name, x, s, dim)
    mode = _norm(op_name, norm)
    for d, n in zip(dims, sizes):
        x = _resize(x, d, _points(op_name, x.shape[d] if n is None else n))
    return _real_input(x, dims, forward, mode, True)


def _c2r_op(op_name: str, input: Any, s: Any, dim: Any, norm: Any, forward: bool) -> Tensor:
    x = _input(op_name, input)
    if x._data.dtype.kind != "c":
        x = x.to(dtypes.complex_of(x._data.dtype))
    dims, sizes = _dims_and_sizes(op_name, x, s, dim)
    mode = _norm(op_name, norm)
    for d, n in zip(dims[:-1], sizes[:-1]):
        x = _resize(x, d, _points(op_name, x.shape[d] if n is None else n))
    d = dims[-1]
    last = _points(op_name, 2 * (x.shape[d] - 1) if sizes[-1] is None else sizes[-1])
    x = _resize(x, d, last // 2 + 1)
    return FftC2R.apply(x, dims, forward, mode, last)


def _one(n: int | None) -> list[int] | None:
    return None if n is None else [n]


@op(name="fft_fft", method=False, namespaces=(FFT,))
def fft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The 1-d discrete Fourier transform along ``dim`` (cut or zero-padded to ``n`` points)."""
    return _c2c_op("fft", input, _one(n), dim, norm, True)


@op(name="fft_ifft", method=False, namespaces=(FFT,))
def ifft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The 1-d inverse discrete Fourier transform along ``dim``."""
    return _c2c_op("ifft", input, _one(n), dim, norm, False)


@op(name="fft_fft2", method=False, namespaces=(FFT,))
def fft2(
    input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None
) -> Tensor:
    """The 2-d discrete Fourier transform over ``dim`` (the last two by default)."""
    return _c2c_op("fft2", input, s, dim, norm, True)


@op(name="fft_ifft2", method=False, namespaces=(FFT,))
def ifft2(
    input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None
) -> Tensor:
    """The 2-d inverse discrete Fourier transform over ``dim``."""
    return _c2c_op("ifft2", input, s, dim, norm, False)


@op(name="fft_fftn", method=False, namespaces=(FFT,))
def fftn(
    input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None
) -> Tensor:
    """The n-d discrete Fourier transform over ``dim`` (every dim, or the last ``len(s)``)."""
    return _c2c_op("fftn", input, s, dim, norm, True)


@op(name="fft_ifftn", method=False, namespaces=(FFT,))
def ifftn(
    input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None
) -> Tensor:
    """The n-d inverse discrete Fourier transform over ``dim``."""
    return _c2c_op("ifftn", input, s, dim, norm, False)


@op(name="fft_rfft", method=False, namespaces=(FFT,))
def rfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The Fourier transform of a real signal: the ``n // 2 + 1`` non-negative frequencies."""
    return _r2c_op("rfft", input, _one(n), dim, norm, True)


@op(name="fft_irfft", method=False, namespaces=(FFT,))
def irfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The inverse of ``rfft``: ``n`` real points (default ``2 * (size - 1)``) from a half
    spectrum."""
    return _c2r_op("irfft", input, _one(n), dim, norm, False)


@op(name="fft_rfft2", method=False, namespaces=(FFT,))
def rfft2(
    input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None
) -> Tensor:
    """The 2-d Fourier transform of a real signal (halved along the last dim)."""
    return _r2c_op("rfft2", input, s, dim, norm, True)


@op(name="fft_irfft2", method=False, namespaces=(FFT,))
def irfft2(
    input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None
) -> Tensor:
    """The inverse of ``rfft2``."""
    return _c2r_op("irfft2", input, s, dim, norm, False)


@op(name="fft_rfftn", method=False, namespaces=(FFT,))
def rfftn(
    input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None
) -> Tensor:
    """The n-d Fourier transform of a real signal (halved along the last dim)."""
    return _r2c_op("rfftn", input, s, dim, norm, True)


@op(name="fft_irfftn", method=False, namespaces=(FFT,))
def irfftn(
    input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None
) -> Tensor:
    """The inverse of ``rfftn``."""
    return _c2r_op("irfftn", input, s, dim, norm, False)


@op(name="fft_hfft", method=False, namespaces=(FFT,))
def hfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The Fourier transform of a Hermitian signal given by its half: ``n`` real points."""
    return _c2r_op("hfft", input, _one(n), dim, norm, True)


@op(name="fft_ihfft", method=False, namespaces=(FFT,))
def ihfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """The inverse of ``hfft``: the half spectrum of a real signal's inverse transform."""
    return _r2c_op("ihfft", input, _one(n), dim, norm, False)


@op(name="fft_hfft2", method=False, namespaces=(FFT,))
def hfft2(
    input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None
) -> Tensor:
    """The 2-d ``hfft``."""
    return _c2r_op("hfft2", input, s, dim, norm, True)


@op(name="fft_ihfft2", method=False, namespaces=(FFT,))
def ihfft2(
    input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None
) -> Tensor:
    """The 2-d ``ihfft``."""
    return _r2c_op("ihfft2", input, s, dim, norm, False)


@op(name="fft_hfftn", method=False, namespaces=(FFT,))
def hfftn(
    input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None
) -> Tensor:
    """The n-d ``hfft``."""
    return _c2r_op("hfftn", input, s, dim, norm, True)


@op(name="fft_ihfftn", method=False, namespaces=(FFT,))
def ihfftn(
    input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None
) -> Tensor:
    """The n-d ``ihfft``."""
    return _r2c_op("ihfftn", input, s, dim, norm, False)


# ---- shifts and frequencies ----------------------------------------------------------------------


def _shift(op_name: str, input: Any, dim: Any, sign: int) -> Tensor:
    x = as_tensor(input, op_name)
    if x.ndim == 0:
        return x
    if dim is None:
        dims: tuple[int, ...] = tuple(range(x.ndim))
    elif isinstance(dim, (int, np.integer)):
        dims = (check_dim(op_name, int(dim), x.ndim),)
    else:
        dims = tuple(check_dim(op_name, d, x.ndim) for d in dim)
    return roll(x, [sign * (x.shape[d] // 2) for d in dims], dims)


@op(name="fft_fftshift", method=False, namespaces=(FFT,))
def fftshift(input: Any, dim: Any = None) -> Tensor:
    """Move the zero frequency to the centre (a roll by ``size // 2`` along each dim)."""
    return _shift("fftshift", input, dim, 1)


@op(name="fft_ifftshift", method=False, namespaces=(FFT,))
def ifftshift(input: Any, dim: Any = None) -> Tensor:
    """Undo ``fftshift``."""
    return _shift("ifftshift", input, dim, -1)


def _freqs(
    op_name: str, values: np.ndarray, dtype: Any, requires_grad: bool, device: Any
) -> Tensor:
    check_cpu(device, f"{op_name}()")
    d = dtypes.as_dtype(dtype)
    out = Tensor._make(values.astype(d))
    return out.requires_grad_(True) if requires_grad else out


@op(name="fft_fftfreq", method=False, namespaces=(FFT,), differentiable=False)
def fftfreq(
    n: int,
    d: float = 1.0,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The sample frequencies of an ``n``-point ``fft`` with sample spacing ``d``."""
    return _freqs("fftfreq", np.fft.fftfreq(int(n), d), dtype, requires_grad, device)


@op(name="fft_rfftfreq", method=False, namespaces=(FFT,), differentiable=False)
def rfftfreq(
    n: int,
    d: float = 1.0,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The sample frequencies of an ``n``-point ``rfft`` (the non-negative ones)."""
    return _freqs("rfftfreq", np.fft.rfftfreq(int(n), d), dtype, requires_grad, device)


# ---- short-time Fourier transform: framing, windowing, fft; its inverse by overlap-add ----------


def _stft_window(where: str, window: Any, n_fft: int, win_length: int | None, dtype: Any) -> Any:
    """The window as a length-``n_fft`` tensor (zero-padded on both sides, as PyTorch), or None
    for the rectangular window."""
    win_length = n_fft if win_length is None else win_length
    if not 0 < win_length <= n_fft:
        raise RuntimeError(
            f"{where}: expected 0 < win_length <= n_fft, but got win_length={win_length}"
        )
    if window is not None:
        window = as_tensor(window)
        if window.ndim != 1 or window.shape[0] != win_length:
            raise RuntimeError(
                f"{where}: expected a 1D window tensor of size equal to win_length={win_length}, "
                f"but got window with size {list(window.shape)}"
            )
    if win_length == n_fft:
        return window
    from glassgrad.nn.functional.norm import pad

    if window is None:
        window = Tensor._make(np.ones(win_length, dtype))
    left = (n_fft - win_length) // 2
    return pad(window, (left, n_fft - win_length - left))


@op
def stft(
    input: Any,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Any = None,
    center: bool = True,
    pad_mode: str = "reflect",
    normalized: bool = False,
    onesided: bool | None = None,
    return_complex: bool | None = None,
    align_to_window: bool | None = None,
) -> Tensor:
    """Short-time Fourier transform of a signal (``(L,)`` or ``(B, L)``): frames of ``n_fft``
    every ``hop_length`` samples, windowed and transformed; ``(B?, freq, frames)``. Built from
    differentiable ops (pad, unfold, product, fft), so gradients flow to input and window."""
    from glassgrad.nn.functional.norm import pad

    x = as_tensor(input)
    if x.ndim not in (1, 2):
        raise RuntimeError(
            f"stft: expected a 1D or 2D tensor, but got a {x.ndim}D tensor of shape {list(x.shape)}"
        )
    is_complex = x._data.dtype.kind == "c" or (isinstance(window, Tensor) and window.is_complex())
    if return_complex is None:
        if not is_complex:
            raise RuntimeError(
                "stft requires the return_complex parameter be given for real inputs, and will "
                "further require that return_complex=True in a future PyTorch release."
            )
        return_complex = True
    hop = n_fft // 4 if hop_length is None else hop_length
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    batched = x.ndim == 2
    if not batched:
        x = x.unsqueeze(0)
    if center:
        if align_to_window is not None:
            raise RuntimeError("stft: align_to_window should only be set when center = False")
        p = n_fft // 2
        x = pad(x.unsqueeze(0), (p, p), mode=pad_mode).squeeze(0)
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {length}, but got n_fft={n_fft}")
    win = _stft_window("stft", window, n_fft, win_length, x._data.dtype)
    if not center and align_to_window:
        wl = n_fft if win_length is None else win_length
        x = narrow(x, -1, (n_fft - wl) // 2, length - (n_fft - wl) // 2 * 2)
    frames = x.unfold(-1, n_fft, hop)  # (B, n_frames, n_fft)
    if win is not None:
        frames = frames * win
    norm = "ortho" if normalized else None
    onesided = (not is_complex) if onesided is None else onesided
    if onesided:
        if is_complex:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        from glassgrad.fft import rfft as _rfft

        spec = _rfft(frames, dim=-1, norm=norm)
    else:
        from glassgrad.fft import fft as _fft

        spec = _fft(frames, dim=-1, norm=norm)
    out = spec.transpose(-1, -2)
    if not batched:
        out = out.squeeze(0)
    if not return_complex:
        import warnings

        from glassgrad.ops.complex_ops import view_as_real

        warnings.warn(
            "stft with return_complex=False is deprecated: call view_as_real on the complex "
            "output to get the old format.",
            UserWarning,
            stacklevel=3,
        )

        return view_as_real(out)
    return out


@op
def istft(
    input: Any,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Any = None,
    center: bool = True,
    normalized: bool = False,
    onesided: bool | None = None,
    length: int | None = None,
    return_complex: bool = False,
) -> Tensor:
    """Inverse of ``stft`` (a complex ``(B?, freq, frames)`` spectrogram) by windowed
    overlap-add, divided by the summed squared window; differentiable as ``stft``."""
    from glassgrad.nn.functional.norm import pad

    z = as_tensor(input)
    if z._data.dtype.kind != "c":
        raise RuntimeError("istft requires a complex-valued input tensor")
    if z.ndim not in (2, 3):
        raise RuntimeError(
            f"istft: expected a tensor with 2 or 3 dimensions of complex, but got {z.ndim}"
        )
    batched = z.ndim == 3
    if not batched:
        z = z.unsqueeze(0)
    hop = n_fft // 4 if hop_length is None else hop_length
    n_freq, n_frames = z.shape[-2], z.shape[-1]
    onesided = (n_freq != n_fft) if onesided is None else onesided
    expected = n_fft // 2 + 1 if onesided else n_fft
    if n_freq != expected:
        raise RuntimeError(
            f"istft: expected the frequency dimension (3rd to the last) of the input tensor to "
            f"match n_fft / 2 + 1 when onesided=True, but got {n_freq}"
            if onesided
            else f"istft: expected the frequency dimension of the input tensor to match n_fft when "
            f"onesided=False, but got {n_freq}"
        )
    real_dtype = np.empty(0, z._data.dtype).real.dtype
    win = _stft_window("istft", window, n_fft, win_length, real_dtype)
    frames_f = z.transpose(-1, -2)  # (B, n_frames, freq)
    norm = "ortho" if normalized else "backward"
    from glassgrad.fft import ifft as _ifft
    from glassgrad.fft import irfft as _irfft

    if return_complex:
        if onesided:
            raise RuntimeError("cannot have onesided output if window or input is complex")
        frames = _ifft(frames_f, dim=-1, norm=norm)
    else:
        if not onesided:
            frames_f = narrow(frames_f, -1, 0, n_fft // 2 + 1)
        frames = _irfft(frames_f, n=n_fft, dim=-1, norm=norm)
    if win is not None:
        frames = frames * win
    total = n_fft + hop * (n_frames - 1)
    idx = (np.arange(n_frames)[:, None] * hop + np.arange(n_fft)).reshape(-1)
    batch = frames.shape[0]
    from glassgrad.creation import zeros

    y = zeros(batch, total, dtype=frames.dtype).index_add(
        -1, Tensor._make(idx), frames.reshape(batch, -1)
    )
    w2 = Tensor._make(np.ones(n_fft, real_dtype)) if win is None else (win * win.conj()).real
    env_full = zeros(total, dtype=w2.dtype).index_add(0, Tensor._make(idx), w2.repeat(n_frames))
    start = n_fft // 2 if center else 0
    end = total
    if length is not None:
        end = start + length
    elif center:
        end = total - n_fft // 2
    end_env = min(end, total)
    env = narrow(env_full, 0, start, max(end_env - start, 0))
    if env.numel() and np.abs(env._data).min() < 1e-11:
        raise RuntimeError(
            f"istft: window overlap add min: {np.abs(env._data).min():.3g} (the window does not "
            "satisfy NOLA)"
        )
    y = narrow(y, -1, start, max(end_env - start, 0)) / env
    if end > total:
        y = pad(y, (0, end - total))
    return y if batched else y.squeeze(0)
