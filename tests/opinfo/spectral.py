"""Registry entries for ``torch.fft`` and complex tensors, through real inputs and outputs.

The sweep feeds real float arrays and compares real results, so complex values enter through
``view_as_complex`` (a real array whose last dim is 2) and leave through ``view_as_real``: the
gradients compared are then exactly PyTorch's for complex tensors (dL/dRe + i dL/dIm, as the
real pairs). tests/test_fft_complex.py checks complex tensors directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from tests.opinfo import OpInfo, away_from, draw_shape, floats

NORMS = (None, "backward", "ortho", "forward")
C2C = ("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn")
R2C = ("rfft", "ihfft", "rfft2", "ihfft2", "rfftn", "ihfftn")
C2R = ("irfft", "hfft", "irfft2", "hfft2", "irfftn", "hfftn")


def _out(lib: Any, t: Any) -> Any:
    """A complex result as real pairs (PyTorch's inverse transforms carry a lazy conjugate bit,
    which view_as_real refuses: resolve it first; glassgrad has none)."""
    return lib.view_as_real(t.resolve_conj()) if t.is_complex() else t


def _in(lib: Any, x: Any, complex_: bool) -> Any:
    return lib.view_as_complex(x) if complex_ else x


def _sample(name: str, complex_: bool):
    """An input of 1-3 dims (each 1-4, at least 2 along transformed dims of a C2R transform),
    and PyTorch's arguments drawn: ``n`` or ``s`` (some -1), ``dim``, ``norm``."""
    many = name[-1] in "2n"

    def sample(draw):
        lo = 2 if name in C2R else 1
        shape = draw_shape(draw, 2 if name[-1] == "2" else 1, 3, lo, 4)
        x = floats(draw, shape + ((2,) if complex_ else ()))
        norm = draw(st.sampled_from(NORMS))
        if not many:
            n = draw(st.sampled_from([None, 1, 2, 3, 5, 6]))
            return x, n, draw(st.integers(-len(shape), len(shape) - 1)), norm
        k = 2 if name[-1] == "2" else draw(st.integers(1, len(shape)))
        dims = draw(st.permutations(range(len(shape))))[:k]
        s = [draw(st.sampled_from([-1, 1, 2, 3, 5])) for _ in dims]
        if name in C2R and s[-1] == -1:
            s[-1] = draw(st.integers(1, 5))
        mode = draw(st.sampled_from(["s_dim", "dim", "s", "none"]))
        if mode == "s":  # s alone: the last len(s) dims
            dims = list(range(len(shape) - k, len(shape)))
        return (
            x,
            (None if mode in ("dim", "none") else s),
            (None if mode in ("s", "none") else dims),
            norm,
        )

    return sample


def _transform(name: str, complex_: bool) -> OpInfo:
    many = name[-1] in "2n"

    def fn(lib: Any, x: Any, size: Any, dim: Any, norm: Any) -> Any:
        f = getattr(lib.fft, name)
        kw: dict[str, Any] = {"norm": norm}
        if many:
            if size is not None:
                kw["s"] = size
            if dim is not None:
                kw["dim"] = dim
        else:
            kw.update(n=size, dim=dim)
        return _out(lib, f(_in(lib, x, complex_), **kw))

    return OpInfo(f"fft_{name}" + ("_complex" if complex_ else ""), fn, _sample(name, complex_))


def _complex_input(draw):  # (no size 0: torch gives empty tensors strides view_as_complex refuses)
    return (floats(draw, draw_shape(draw, 0, 3, 1, 3) + (2,)),)


def _pair(draw):
    shp = draw_shape(draw, 0, 3, 1, 3)
    return floats(draw, shp + (2,)), floats(draw, shp + (2,))


def _nonzero_complex(draw):
    """Complex values away from 0, where |z| and angle(z) have no derivative."""
    shp = draw_shape(draw, 0, 3, 1, 3)
    return (away_from(draw, shp + (2,), (0.0,), gap=0.3),)


def _real_pair(draw):
    shp = draw_shape(draw, 0, 2, 1, 3)
    other = shp[1:] if shp and draw(st.booleans()) else shp
    return floats(draw, shp), floats(draw, other)


def _abs_and_angle(draw):
    """polar's ``abs`` is non-negative (PyTorch leaves others undefined); away from 0."""
    r, t = _real_pair(draw)
    return np.asarray(away_from(draw, r.shape, (0.0,), gap=0.2) ** 2 + 0.1), t


def _shift_sample(draw):
    shape = draw_shape(draw, 1, 3, 1, 4)
    dim = draw(st.sampled_from([None, 0, -1, (0,), tuple(range(len(shape)))]))
    return floats(draw, shape + (2,)), dim


def _stft_sample(draw):
    """A signal ``(L,)`` or ``(B, L)``, a length-4 window, a hop, center and normalized."""
    shape = draw_shape(draw, 1, 2, 1, 3)[:-1] + (draw(st.integers(8, 12)),)
    hop = draw(st.sampled_from([1, 2, 3]))
    return floats(draw, shape), floats(draw, (4,)), hop, draw(st.booleans()), draw(st.booleans())


def _istft_sample(draw):
    """A onesided spectrogram ``(B?, 3, frames)`` of n_fft 4 (as real pairs), a window, hop 1-2,
    center, normalized."""
    batch = draw_shape(draw, 0, 1, 1, 2)
    frames = draw(st.integers(3, 5))
    spec = floats(draw, (*batch, 3, frames, 2))
    return (
        spec,
        floats(draw, (4,)),
        draw(st.sampled_from([1, 2])),
        draw(st.booleans()),
        draw(st.booleans()),
    )


def _positive_window(w: Any) -> Any:
    return w * w + 0.5  # nonzero everywhere: the overlap-add envelope never vanishes


def _c(lib: Any, x: Any) -> Any:
    return lib.view_as_complex(x)


OPS = (
    [_transform(n, False) for n in C2C + R2C]
    + [_transform(n, True) for n in C2C + C2R]
    + [
        OpInfo(
            "fft_fftshift",
            lambda lib, x, dim: _out(lib, lib.fft.fftshift(_c(lib, x), dim=dim)),
            _shift_sample,
        ),
        OpInfo(
            "fft_ifftshift",
            lambda lib, x, dim: _out(lib, lib.fft.ifftshift(_c(lib, x), dim=dim)),
            _shift_sample,
        ),
        OpInfo("real", lambda lib, x: _c(lib, x).real * 2, _complex_input),
        OpInfo("imag", lambda lib, x: _c(lib, x).imag * 2, _complex_input),
        OpInfo("conj", lambda lib, x: _out(lib, _c(lib, x).conj() * _c(lib, x)), _complex_input),
        OpInfo(
            "conj_physical",
            lambda lib, x: _out(lib, lib.conj_physical(_c(lib, x))),
            _complex_input,
        ),
        OpInfo("angle", lambda lib, x: lib.angle(_c(lib, x)), _nonzero_complex),
        OpInfo("abs_complex", lambda lib, x: _c(lib, x).abs(), _nonzero_complex),
        OpInfo("view_as_real", lambda lib, x: _out(lib, _c(lib, x) * _c(lib, x)), _complex_input),
        OpInfo("view_as_complex", lambda lib, x: _out(lib, _c(lib, x)), _complex_input),
        OpInfo("mul_complex", lambda lib, x, y: _out(lib, _c(lib, x) * _c(lib, y)), _pair),
        OpInfo(
            "div_complex",
            lambda lib, x, y: _out(lib, _c(lib, x) / (_c(lib, y) + 3)),
            _pair,
        ),
        OpInfo(
            "exp_log_complex",
            lambda lib, x: _out(lib, lib.log(lib.exp(_c(lib, x)) + 3)),
            _complex_input,
        ),
        OpInfo("complex", lambda lib, x, y: _out(lib, lib.complex(x, y)), _real_pair),
        OpInfo("polar", lambda lib, r, t: _out(lib, lib.polar(r, t)), _abs_and_angle),
        OpInfo(
            "stft",
            lambda lib, x, w, hop, center, normalized: _out(
                lib,
                lib.stft(
                    x, 4, hop, window=w, center=center, normalized=normalized, return_complex=True
                ),
            ),
            _stft_sample,
        ),
        OpInfo(
            "istft",
            lambda lib, z, w, hop, center, normalized: _c(lib, z).istft(
                4, hop, window=_positive_window(w), center=center, normalized=normalized
            ),
            _istft_sample,
        ),
    ]
)
