"""Registry entries for the ops added with the nn-breadth work: PReLU/RReLU/shrinks, the
in-place functional activations, channel shuffle, alpha dropout, gumbel-softmax, the margin
and likelihood losses, 3-d and Lp pooling, max-unpooling, pdist, affine_grid/grid_sample
(collected by ``nn_functional``)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tests.opinfo import OpInfo, away_from, distinct, draw_shape, floats, integers


def F(lib):
    return lib.nn.functional


REDUCTIONS = st.sampled_from(["none", "mean", "sum"])


def unary(lo=-2.0, hi=2.0, kinks=()):
    def sample(draw):
        s = draw_shape(draw)
        return (away_from(draw, s, kinks, lo=lo, hi=hi) if kinks else floats(draw, s, lo, hi),)

    return sample


def prelu_sample(draw):
    s = draw_shape(draw, 1, 4, 1, 3)
    shared = draw(st.booleans())
    c = 1 if shared or len(s) < 2 else s[1]
    return away_from(draw, s, (0.0,)), floats(draw, (c,), 0.0, 0.5)


def shuffle_sample(draw):
    g, per = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    s = (draw(st.integers(1, 2)), g * per, *draw_shape(draw, 1, 2, 1, 3))
    return floats(draw, s), g


def _seeded(name, **kw):
    def fn(lib, x):
        lib.manual_seed(0)  # the same draws at every evaluation, so numerical gradients make sense
        return getattr(F(lib), name)(x, **kw)

    return fn


def channels_sample(draw):
    return (floats(draw, (draw(st.integers(1, 3)), draw(st.integers(1, 3)), 2)),)


ACTIVATIONS: list[OpInfo] = [
    OpInfo("prelu", lambda lib, x, w: F(lib).prelu(x, w), prelu_sample),
    OpInfo("rrelu", lambda lib, x: F(lib).rrelu(x, 0.1, 0.3), unary(kinks=(0.0,))),
    OpInfo("rrelu_train", _seeded("rrelu", training=True), unary(kinks=(0.0,)), check_torch=False),
    OpInfo("hardshrink", lambda lib, x: F(lib).hardshrink(x, 0.4), unary(kinks=(-0.4, 0.4))),
    OpInfo("softshrink", lambda lib, x: F(lib).softshrink(x, 0.4), unary(kinks=(-0.4, 0.4))),
    OpInfo("channel_shuffle", lambda lib, x, g: F(lib).channel_shuffle(x, g), shuffle_sample),
    OpInfo("relu_", lambda lib, x: F(lib).relu_(x * 1), unary(kinks=(0.0,))),
    OpInfo("elu_", lambda lib, x: F(lib).elu_(x * 1, 0.7), unary(kinks=(0.0,))),
    OpInfo("leaky_relu_", lambda lib, x: F(lib).leaky_relu_(x * 1, 0.2), unary(kinks=(0.0,))),
    OpInfo(
        "hardtanh_",
        lambda lib, x: F(lib).hardtanh_(x * 1, -0.5, 0.7),
        unary(kinks=(-0.5, 0.7)),
    ),
    OpInfo("threshold_", lambda lib, x: F(lib).threshold_(x * 1, 0.3, -1.0), unary(kinks=(0.3,))),
    OpInfo("selu_", lambda lib, x: F(lib).selu_(x * 1), unary(kinks=(0.0,))),
    OpInfo("celu_", lambda lib, x: F(lib).celu_(x * 1, 0.7), unary(kinks=(0.0,))),
    OpInfo("rrelu_", lambda lib, x: F(lib).rrelu_(x * 1, 0.1, 0.3), unary(kinks=(0.0,))),
    OpInfo(
        "alpha_dropout",
        _seeded("alpha_dropout", p=0.4, training=True),
        unary(),
        check_torch=False,
    ),
    OpInfo(
        "feature_alpha_dropout",
        _seeded("feature_alpha_dropout", p=0.4, training=True),
        channels_sample,
        check_torch=False,
    ),
    OpInfo(
        "gumbel_softmax",
        _seeded("gumbel_softmax", tau=0.7),
        channels_sample,
        check_torch=False,
    ),
    OpInfo(
        "gumbel_softmax_hard",
        _seeded("gumbel_softmax", tau=0.7, hard=True),
        channels_sample,
        check_torch=False,
        tags=("nondiff",),  # straight-through: the gradient is the soft sample's on purpose
    ),
]

OPS: list[OpInfo] = [*ACTIVATIONS]


# ---- losses -------------------------------------------------------------------------------------


def _signs(draw, shape):
    return np.where(floats(draw, shape) > 0, 1.0, -1.0)


def _batch(draw, min_n=1):
    n = draw(st.integers(min_n, 4))
    return n, draw(st.integers(1, 4))


def ranking_sample(draw):
    s = draw_shape(draw, 0, 2, 1, 4)
    x2, t = floats(draw, s), _signs(draw, s)
    x1 = np.asarray(x2 + t * (0.3 + away_from(draw, s, (0.0,))))  # kink at d = 0
    return x1, x2, t.tolist(), draw(REDUCTIONS)


def _margin_ranking(lib, x1, x2, t, r):
    out = F(lib).margin_ranking_loss(x1, x2, lib.tensor(t, dtype=x1.dtype), 0.3, reduction=r)
    return out


def hinge_sample(draw):
    s = draw_shape(draw, 0, 2, 1, 4)
    return away_from(draw, s, (1.2,), lo=0.0, hi=3.0), _signs(draw, s).tolist(), draw(REDUCTIONS)


def _hinge(lib, x, t, r):
    return F(lib).hinge_embedding_loss(x, lib.tensor(t, dtype=x.dtype), 1.2, reduction=r)


def pair_sample(draw):
    n, d = _batch(draw)
    unbatched = draw(st.booleans())
    shape = (d + 1,) if unbatched else (n, d + 1)
    t = _signs(draw, () if unbatched else (n,))
    return floats(draw, shape), floats(draw, shape), t.tolist(), draw(REDUCTIONS)


def _cosine(lib, x1, x2, t, r):
    return F(lib).cosine_embedding_loss(x1, x2, lib.tensor(t, dtype=x1.dtype), -0.2, reduction=r)


def triplet_sample(draw):
    n, d = _batch(draw)
    shape = (d,) if draw(st.booleans()) else (n, d)
    p = draw(st.sampled_from([1.0, 2.0, 3.0]))
    # offsets keep the three apart when hypothesis draws the same seed for each
    a, pos, neg = (floats(draw, shape) + off for off in (0.0, 0.37, -0.61))
    return a, pos, neg, p, draw(st.booleans()), draw(REDUCTIONS)


def _triplet(lib, a, p, n, norm, swap, r):
    return F(lib).triplet_margin_loss(a, p, n, margin=2.5, p=norm, swap=swap, reduction=r)


def _triplet_distance(lib, a, p, n, norm, swap, r):
    def dist(x, y):
        return 1.0 - F(lib).cosine_similarity(x, y, dim=-1)

    return F(lib).triplet_margin_with_distance_loss(
        a, p, n, distance_function=dist, margin=1.5, swap=swap, reduction=r
    )


def poisson_sample(draw):
    s = draw_shape(draw, 0, 2, 1, 4)
    log_input = draw(st.booleans())
    x = floats(draw, s, -1, 1) if log_input else floats(draw, s, 0.1, 3)
    # counts as a constant: with ``full`` PyTorch's target gradient is NaN at 0 and jumps at 1
    t = np.asarray(np.floor(floats(draw, s, 0, 5))).tolist()
    return x, t, log_input, draw(st.booleans()), draw(REDUCTIONS)


def _poisson(lib, x, t, log_input, full, r):
    t = lib.tensor(t, dtype=x.dtype)
    return F(lib).poisson_nll_loss(x, t, log_input=log_input, full=full, reduction=r)


def gaussian_sample(draw):
    n, d = _batch(draw)
    form = draw(st.sampled_from(["full", "drop", "one"]))
    var_shape = {"full": (n, d), "drop": (n,), "one": (n, 1)}[form]
    var = floats(draw, var_shape, 0.2, 2.0)
    return floats(draw, (n, d)), floats(draw, (n, d)), var, draw(st.booleans()), draw(REDUCTIONS)


def _gaussian(lib, x, t, v, full, r):
    return F(lib).gaussian_nll_loss(x, t, v, full=full, reduction=r)


def soft_margin_sample(draw):
    s = draw_shape(draw, 0, 2, 1, 4)
    return floats(draw, s), _signs(draw, s).tolist(), draw(REDUCTIONS)


def _soft_margin(lib, x, t, r):
    return F(lib).soft_margin_loss(x, lib.tensor(t, dtype=x.dtype), reduction=r)


def multilabel_soft_sample(draw):
    n, c = _batch(draw)
    shape = (c,) if draw(st.booleans()) else (n, c)
    t = (floats(draw, shape) > 0).astype(float).tolist()
    w = floats(draw, (c,), 0.2, 2.0).tolist() if draw(st.booleans()) else None
    return floats(draw, shape), t, w, draw(REDUCTIONS)


def _multilabel_soft(lib, x, t, w, r):
    w = None if w is None else lib.tensor(w, dtype=x.dtype)
    t = lib.tensor(t, dtype=x.dtype)
    return F(lib).multilabel_soft_margin_loss(x, t, weight=w, reduction=r)


def multi_margin_sample(draw):
    n, c = _batch(draw)
    unbatched = draw(st.booleans())
    x = floats(draw, (c,) if unbatched else (n, c))
    t = integers(draw, () if unbatched else (n,), 0, c)
    w = floats(draw, (c,), 0.2, 2.0).tolist() if draw(st.booleans()) else None
    return x, t, draw(st.sampled_from([1, 2])), w, draw(REDUCTIONS)


def _multi_margin(lib, x, t, p, w, r):
    w = None if w is None else lib.tensor(w, dtype=x.dtype)
    return F(lib).multi_margin_loss(x, t, p=p, margin=0.7, weight=w, reduction=r)


def multilabel_margin_sample(draw):
    n, c = _batch(draw)
    t = integers(draw, (n, c), -1, c)
    return floats(draw, (n, c)), t, draw(REDUCTIONS)


def _multilabel_margin(lib, x, t, r):
    return F(lib).multilabel_margin_loss(x, t, reduction=r)


LOSSES: list[OpInfo] = [
    OpInfo("margin_ranking_loss", _margin_ranking, ranking_sample),
    OpInfo("hinge_embedding_loss", _hinge, hinge_sample),
    OpInfo("cosine_embedding_loss", _cosine, pair_sample),
    OpInfo("triplet_margin_loss", _triplet, triplet_sample),
    OpInfo("triplet_margin_with_distance_loss", _triplet_distance, triplet_sample),
    OpInfo("poisson_nll_loss", _poisson, poisson_sample),
    OpInfo("gaussian_nll_loss", _gaussian, gaussian_sample),
    OpInfo("soft_margin_loss", _soft_margin, soft_margin_sample),
    OpInfo("multilabel_soft_margin_loss", _multilabel_soft, multilabel_soft_sample),
    OpInfo("multi_margin_loss", _multi_margin, multi_margin_sample),
    OpInfo("multilabel_margin_loss", _multilabel_margin, multilabel_margin_sample),
]

OPS += LOSSES


# ---- pooling ------------------------------------------------------------------------------------


def pool3d_sample(draw):
    k = tuple(draw(st.integers(1, 2)) for _ in range(3))
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))[draw(st.integers(0, 1)) :]
    size = tuple(draw(st.integers(ki, ki + 2)) for ki in k)
    stride = tuple(draw(st.integers(1, 2)) for _ in range(3))
    return distinct(draw, lead + size), k, stride, draw(st.booleans())


def _max_pool3d(lib, x, k, s, ceil):
    return F(lib).max_pool3d(x, k, s, ceil_mode=ceil)


def _avg_pool3d(lib, x, k, s, ceil):
    pad = tuple(ki // 2 for ki in k)
    return F(lib).avg_pool3d(x, k, s, pad, ceil, count_include_pad=ceil)


def _with_indices(d):
    def fn(lib, x, k, s, ceil):
        x = x[(..., *(0,) * (3 - d), *(slice(None),) * d)]  # the last d spatial dims
        pool = getattr(F(lib), f"max_pool{d}d_with_indices")
        return pool(x, k[3 - d :], s[3 - d :], ceil_mode=ceil)[0]

    return fn


def _adaptive_with_indices(d):
    def fn(lib, x, k, s, ceil):
        x = x[(..., *(0,) * (3 - d), *(slice(None),) * d)]
        return getattr(F(lib), f"adaptive_max_pool{d}d_with_indices")(x, k[3 - d :])[0]

    return fn


def adaptive3d_sample(draw):
    x = floats(draw, (draw(st.integers(1, 2)), 2, *(draw(st.integers(1, 5)) for _ in range(3))))
    size = tuple(draw(st.sampled_from([None, 1, 2, 3])) for _ in range(3))
    return x, size


def unpool_sample(d):
    def sample(draw):
        k = draw(st.integers(1, 3))
        size = tuple(draw(st.integers(k, 2 * k + 1)) for _ in range(d))
        x = distinct(draw, (draw(st.integers(1, 2)), 2, *size))
        return x, k

    return sample


def _max_unpool(d):
    def fn(lib, x, k):
        pooled, idx = getattr(F(lib), f"max_pool{d}d")(x, k, return_indices=True)
        unpool = getattr(F(lib), f"max_unpool{d}d")
        return unpool(pooled, idx, k, output_size=list(x.shape[-d:]))

    return fn


def lp_sample(d):
    def sample(draw):
        k = tuple(draw(st.integers(1, 3)) for _ in range(d))
        size = tuple(draw(st.integers(ki, ki + 3)) for ki in k)
        x = floats(draw, (draw(st.integers(1, 2)), 2, *size), 0.2, 2.0)
        return x, draw(st.sampled_from([1.0, 2.0, 3.0, 1.5])), k, draw(st.booleans())

    return sample


def _lp_pool(d):
    def fn(lib, x, p, k, ceil):
        return getattr(F(lib), f"lp_pool{d}d")(x, p, k if d > 1 else k[0], ceil_mode=ceil)

    return fn


def pdist_sample(draw):
    n, m = draw(st.integers(2, 5)), draw(st.integers(1, 4))  # (PyTorch crashes on n < 2)
    return floats(draw, (n, m)), draw(st.sampled_from([1.0, 2.0, 3.0, 1.5, float("inf")]))


POOLING: list[OpInfo] = [
    OpInfo("max_pool3d", _max_pool3d, pool3d_sample),
    OpInfo("avg_pool3d", _avg_pool3d, pool3d_sample),
    OpInfo(
        "adaptive_avg_pool3d",
        lambda lib, x, size: F(lib).adaptive_avg_pool3d(x, size),
        adaptive3d_sample,
    ),
    *(OpInfo(f"max_pool{d}d_with_indices", _with_indices(d), pool3d_sample) for d in (1, 2, 3)),
    *(
        OpInfo(f"adaptive_max_pool{d}d_with_indices", _adaptive_with_indices(d), pool3d_sample)
        for d in (1, 2, 3)
    ),
    *(OpInfo(f"max_unpool{d}d", _max_unpool(d), unpool_sample(d)) for d in (1, 2, 3)),
    *(OpInfo(f"lp_pool{d}d", _lp_pool(d), lp_sample(d)) for d in (1, 2, 3)),
    OpInfo("pdist", lambda lib, x, p: F(lib).pdist(x, p), pdist_sample),
]

OPS += POOLING
