"""Registry entries for the layers' functional ops added with issue 12: transposed convolutions,
interpolation, fold/unfold, pixel shuffles, group/instance/RMS/local-response normalisation,
bilinear, distances, embedding bags and adaptive max pooling (collected by ``nn_functional``).
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.opinfo import OpInfo, distinct, draw_shape, floats, integers


def F(lib):
    return lib.nn.functional


def _ints(draw, d: int, lo: int, hi: int) -> tuple[int, ...]:
    return tuple(draw(st.integers(lo, hi)) for _ in range(d))


# ---- transposed convolutions ----------------------------------------------------------------


def conv_transpose_sample(d: int, groups: bool = False, unbatched: bool = False):
    """(x, w, b or None, stride, padding, output_padding, groups, dilation), output non-empty."""

    def sample(draw):
        gr = draw(st.sampled_from([2, 3])) if groups else 1
        cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        kernel = _ints(draw, d, 1, 3)
        dilation = _ints(draw, d, 1, 2)
        stride = _ints(draw, d, 1, 3)
        padding = _ints(draw, d, 0, 1)
        out_pad = tuple(draw(st.integers(0, max(s, dl) - 1)) for s, dl in zip(stride, dilation))
        size = []
        for k, s, p, o, dl in zip(kernel, stride, padding, out_pad, dilation):
            n = draw(st.integers(1, 3))
            while (n - 1) * s - 2 * p + dl * (k - 1) + o + 1 <= 0:
                n += 1
            size.append(n)
        lead = () if unbatched else (draw(st.integers(0, 2)),)
        x = floats(draw, lead + (gr * cg, *size))
        w = floats(draw, (gr * cg, og, *kernel))
        b = floats(draw, (gr * og,)) if draw(st.booleans()) else None
        return x, w, b, stride, padding, out_pad, gr, dilation

    return sample


def _conv_transpose(name: str, d: int, **kw) -> OpInfo:
    def fn(lib, x, w, b, stride, padding, out_pad, groups, dilation):
        conv = getattr(F(lib), f"conv_transpose{d}d")
        return conv(x, w, b, stride, padding, out_pad, groups, dilation)

    return OpInfo(name, fn, conv_transpose_sample(d, **kw))


OPS: list[OpInfo] = [
    _conv_transpose("conv_transpose2d", 2),
    _conv_transpose("conv_transpose2d_groups", 2, groups=True),
    _conv_transpose("conv_transpose2d_unbatched", 2, unbatched=True),
    _conv_transpose("conv_transpose1d", 1, groups=True),
    _conv_transpose("conv_transpose3d", 3),
]
