"""Registry entries for the layers' functional ops added with issue 12: transposed convolutions,
interpolation, fold/unfold, pixel shuffles, group/instance/RMS/local-response normalisation,
bilinear, distances, embedding bags, adaptive and fractional max pooling (collected by
``nn_functional``).
"""

from __future__ import annotations

import numpy as np
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


# ---- interpolation, shuffles, fold/unfold ------------------------------------------------------

_MODE_DIMS = {
    "nearest": (1, 2, 3),
    "nearest-exact": (1, 2),
    "linear": (1,),
    "bilinear": (2,),
    "bicubic": (2,),
    "trilinear": (3,),
    "area": (2,),  # (1-d area is adaptive_avg_pool1d: PyTorch's node is a squeeze)
}


def interpolate_sample(draw):
    mode = draw(st.sampled_from(sorted(_MODE_DIMS)))
    d = draw(st.sampled_from(_MODE_DIMS[mode]))
    spatial = _ints(draw, d, 1, 4 if d < 3 else 3)
    x = floats(draw, (draw(st.integers(0, 2)), draw(st.integers(1, 2)), *spatial))
    corners = draw(st.sampled_from([None, True, False])) if mode in _CORNERS else None
    if draw(st.booleans()):
        size = _ints(draw, d, 1, 6 if d < 3 else 4)
        return x, size, None, mode, corners, None
    scale = tuple(draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.7])) for _ in range(d))
    scale = tuple(max(s, 1.0 / n) for s, n in zip(scale, spatial))  # at least one output
    return x, None, scale, mode, corners, draw(st.sampled_from([None, True]))


_CORNERS = ("linear", "bilinear", "bicubic", "trilinear")


def shuffle_sample(draw):
    r = draw(st.integers(1, 3))
    lead = draw_shape(draw, 0, 2, 1, 2)  # (PyTorch returns empty inputs unchanged, shape too)
    return floats(draw, (*lead, draw(st.integers(1, 2)) * r * r, *_ints(draw, 2, 1, 3))), r


def unshuffle_sample(draw):
    r = draw(st.integers(1, 3))
    lead = draw_shape(draw, 0, 2, 1, 2)
    hw = tuple(r * n for n in _ints(draw, 2, 1, 2))
    return floats(draw, (*lead, draw(st.integers(1, 2)), *hw)), r


def unfold_geometry(draw):
    k, dl, s = _ints(draw, 2, 1, 3), _ints(draw, 2, 1, 2), _ints(draw, 2, 1, 2)
    p = tuple(draw(st.integers(0, 1)) for _ in range(2))
    size = tuple(
        max(1, dli * (ki - 1) + 1 - 2 * pi) + draw(st.integers(0, 2))
        for ki, dli, pi in zip(k, dl, p)
    )
    blocks = tuple(
        (n + 2 * pi - dli * (ki - 1) - 1) // si + 1 for n, ki, dli, pi, si in zip(size, k, dl, p, s)
    )
    return size, k, dl, p, s, blocks


def unfold_sample(draw):
    size, k, dl, p, s, _ = unfold_geometry(draw)
    x = floats(draw, (draw(st.integers(0, 2)), draw(st.integers(1, 2)), *size))
    return x, k, dl, p, s


def tensor_unfold_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(-len(s), len(s) - 1))
    return floats(draw, s), d, draw(st.integers(0, s[d])), draw(st.integers(1, 3))


def fold_sample(draw):
    size, k, dl, p, s, blocks = unfold_geometry(draw)
    c = draw(st.integers(1, 2))
    x = floats(draw, (draw(st.integers(0, 2)), c * k[0] * k[1], blocks[0] * blocks[1]))
    return x, size, k, dl, p, s


def _interpolate(lib, x, size, scale, mode, corners, recompute):
    return F(lib).interpolate(x, size, scale, mode, corners, recompute)


# ---- normalisation ----------------------------------------------------------------------------


def group_norm_sample(draw):
    g = draw(st.integers(1, 3))
    c = g * draw(st.integers(1, 2))
    spatial = draw_shape(draw, 0, 2, 1, 3)
    n = draw(st.integers(1, 3))
    if n * (c // g) * int(np.prod(spatial)) == 1:  # a single value per group: PyTorch refuses
        spatial = (2, *spatial)
    x = floats(draw, (n, c, *spatial))
    affine = draw(st.booleans())
    w = floats(draw, (c,), 0.5, 1.5) if affine else None
    b = floats(draw, (c,)) if affine and draw(st.booleans()) else None
    return x, g, w, b


def instance_norm_sample(draw):
    c = draw(st.integers(1, 3))
    spatial = (draw(st.integers(2, 4)),) + draw_shape(draw, 0, 1, 1, 3)
    x = floats(draw, (draw(st.integers(1, 3)), c, *spatial))
    affine = draw(st.booleans())
    w = floats(draw, (c,), 0.5, 1.5) if affine else None
    b = floats(draw, (c,)) if affine else None
    stats = draw(st.booleans())
    mean = floats(draw, (c,)).tolist() if stats else None
    var = floats(draw, (c,), 0.5, 2.0).tolist() if stats else None
    return x, w, b, mean, var, draw(st.booleans()) or not stats


def _instance_norm(lib, x, w, b, mean, var, use_input_stats):
    rm = None if mean is None else lib.tensor(mean, dtype=x.dtype)
    rv = None if var is None else lib.tensor(var, dtype=x.dtype)
    return F(lib).instance_norm(x, rm, rv, w, b, use_input_stats, 0.2, 1e-3)


def rms_norm_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    k = draw(st.integers(1, len(s)))
    ns = s[len(s) - k :]
    w = floats(draw, ns) if draw(st.booleans()) else None
    return floats(draw, s), ns, w, draw(st.sampled_from([None, 1e-3]))


def lrn_sample(draw):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 5)), *draw_shape(draw, 1, 2, 1, 3))
    return floats(draw, shape), draw(st.integers(1, 4)), draw(st.sampled_from([1e-4, 0.3]))


# ---- distances, bilinear, bags, adaptive max ---------------------------------------------------


def pair_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    dim = draw(st.integers(-len(s), len(s) - 1))
    other = s[draw(st.integers(0, len(s) - 1)) :] if draw(st.booleans()) else s
    return floats(draw, s, 0.2, 2.0), floats(draw, other, -2.0, -0.2), dim


def distance_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    a = floats(draw, s)
    b = a - floats(draw, s, 0.3, 1.5)  # differences away from 0, where |.|^p has a kink
    return a, b, draw(st.sampled_from([1.5, 2.0, 3.0])), draw(st.booleans())


def bilinear_sample(draw):
    lead = draw_shape(draw, 0, 2, 0, 3)
    i1, i2, o = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    b = floats(draw, (o,)) if draw(st.booleans()) else None
    return floats(draw, (*lead, i1)), floats(draw, (*lead, i2)), floats(draw, (o, i1, i2)), b


def embedding_bag_sample(draw):
    v, d = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["sum", "mean", "max"]))
    pad = draw(st.sampled_from([None, 0]))
    if draw(st.booleans()):
        idx = integers(draw, (draw(st.integers(0, 3)), draw(st.integers(1, 3))), 0, v)
        offsets = None
    else:
        idx = integers(draw, (draw(st.integers(0, 6)),), 0, v)
        cuts = sorted(draw(st.lists(st.integers(0, len(idx)), min_size=0, max_size=3)))
        offsets = integers(draw, (0,), 0, 1) if False else None
        offsets = [0, *cuts]
    psw = floats(draw, idx.shape) if mode == "sum" and draw(st.booleans()) else None
    w = distinct(draw, (v, d)) if mode == "max" else floats(draw, (v, d))
    return idx, w, offsets, mode, psw, pad


def _embedding_bag(lib, idx, w, offsets, mode, psw, pad):
    off = None if offsets is None else lib.tensor(offsets)
    return F(lib).embedding_bag(idx, w, off, mode=mode, per_sample_weights=psw, padding_idx=pad)


def adaptive_max_sample(d: int):
    def sample(draw):
        spatial = _ints(draw, d, 1, 6)
        x = distinct(draw, (draw(st.integers(0, 2)), draw(st.integers(1, 2)), *spatial))
        if d == 1:
            return x, draw(st.integers(1, 7))
        return x, tuple(draw(st.one_of(st.integers(1, 7), st.none())) for _ in range(d))

    return sample


def fractional_max_sample(d: int):
    """(x, kernel, output size, (samples,)): the samples wrapped, so that the sweep does not make
    them a differentiable input (PyTorch has no gradient for them)."""

    def sample(draw):
        kernel = _ints(draw, d, 1, 3)
        spatial = tuple(k + draw(st.integers(d - 2, 4)) for k in kernel)
        # the 3-d op wants output + kernel - 1 < input; the 2-d one allows equality
        sizes = tuple(draw(st.integers(1, n - k + 3 - d)) for n, k in zip(spatial, kernel))
        batch = draw(st.sampled_from([(), (0,), (1,), (2,)]))
        planes = draw(st.integers(1, 2))
        x = distinct(draw, (*batch, planes, *spatial))
        n = batch[0] if batch else 1
        return x, kernel, sizes, (floats(draw, (n, planes, d), 0.0, 0.999),)

    return sample


def _fractional(d: int, suffix: str = ""):
    def run(lib, x, kernel, sizes, samples):
        pool = getattr(F(lib), f"fractional_max_pool{d}d{suffix}")
        out = pool(x, kernel, sizes, _random_samples=lib.tensor(samples[0], dtype=x.dtype))
        return out[0] if suffix else out

    return run


OPS += [
    OpInfo(f"fractional_max_pool{d}d{suffix}", _fractional(d, suffix), fractional_max_sample(d))
    for d in (2, 3)
    for suffix in ("", "_with_indices")
]


OPS += [
    OpInfo("interpolate", _interpolate, interpolate_sample),
    OpInfo(
        "upsample",
        lambda lib, x, size, scale, mode, corners, _: F(lib).upsample(
            x, size, scale, mode, corners
        ),
        interpolate_sample,
    ),
    OpInfo(
        "upsample_nearest",
        lambda lib, x: F(lib).upsample_nearest(x, scale_factor=2),
        lambda draw: (floats(draw, (1, 2, *_ints(draw, 2, 1, 3))),),
    ),
    OpInfo(
        "upsample_bilinear",
        lambda lib, x, s: F(lib).upsample_bilinear(x, size=s),
        lambda draw: (floats(draw, (1, 2, *_ints(draw, 2, 1, 3))), _ints(draw, 2, 1, 5)),
    ),
    OpInfo("pixel_shuffle", lambda lib, x, r: F(lib).pixel_shuffle(x, r), shuffle_sample),
    OpInfo("pixel_unshuffle", lambda lib, x, r: F(lib).pixel_unshuffle(x, r), unshuffle_sample),
    OpInfo("unfold", lambda lib, x, *g: F(lib).unfold(x, *g), unfold_sample),
    OpInfo("fold", lambda lib, x, *g: F(lib).fold(x, *g), fold_sample),
    OpInfo("unfold_tensor", lambda lib, x, d, n, s: x.unfold(d, n, s), tensor_unfold_sample),
    OpInfo(
        "group_norm",
        lambda lib, x, g, w, b: F(lib).group_norm(x, g, w, b),
        group_norm_sample,
        rtol=1e-6,
        atol=1e-8,
    ),
    OpInfo("instance_norm", _instance_norm, instance_norm_sample, rtol=1e-6, atol=1e-8),
    OpInfo("rms_norm", lambda lib, x, ns, w, eps: F(lib).rms_norm(x, ns, w, eps), rms_norm_sample),
    OpInfo(
        "local_response_norm",
        lambda lib, x, size, alpha: F(lib).local_response_norm(x, size, alpha, 0.75, 1.5),
        lrn_sample,
    ),
    OpInfo(
        "cosine_similarity",
        lambda lib, a, b, dim: F(lib).cosine_similarity(a, b, dim),
        pair_sample,
    ),
    OpInfo(
        "pairwise_distance",
        lambda lib, a, b, p, keep: F(lib).pairwise_distance(a, b, p, keepdim=keep),
        distance_sample,
    ),
    OpInfo("bilinear", lambda lib, *a: F(lib).bilinear(*a), bilinear_sample),
    OpInfo("embedding_bag", _embedding_bag, embedding_bag_sample),
    OpInfo(
        "adaptive_max_pool2d",
        lambda lib, x, s: F(lib).adaptive_max_pool2d(x, s),
        adaptive_max_sample(2),
    ),
    OpInfo(
        "adaptive_max_pool1d",
        lambda lib, x, s: F(lib).adaptive_max_pool1d(x, s),
        adaptive_max_sample(1),
    ),
    OpInfo(
        "adaptive_max_pool3d",
        lambda lib, x, s: F(lib).adaptive_max_pool3d(x, s),
        adaptive_max_sample(3),
    ),
]
