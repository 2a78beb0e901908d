"""Registry entries for the ops added with the nn-breadth work: PReLU/RReLU/shrinks, the
in-place functional activations, channel shuffle, alpha dropout, gumbel-softmax, the margin
and likelihood losses, 3-d and Lp pooling, max-unpooling, pdist, affine_grid/grid_sample
(collected by ``nn_functional``)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tests.opinfo import OpInfo, away_from, draw_shape, floats, integers


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
