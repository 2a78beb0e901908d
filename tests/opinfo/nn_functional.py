"""Registry entries for ``glassgrad.nn.functional`` (activations, losses, normalisation, attention).

``fn(lib, ...)`` reaches the functional API as ``lib.nn.functional`` for both libraries.
Non-differentiable tensor arguments (class weights, running statistics) travel as nested lists
and are made into tensors of the input's dtype inside ``fn``, so the sweep does not ask for
their gradients.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import glassgrad.nn.functional  # noqa: F401  (makes ``glassgrad.nn`` an attribute, like torch.nn)
from tests.opinfo import OpInfo, away_from, draw_shape, floats, integers


def F(lib):
    return lib.nn.functional


def _const(lib, values, like):
    """A constant tensor (no grad) of ``like``'s dtype from a nested list."""
    return lib.tensor(values, dtype=like.dtype)


# ---- samplers -----------------------------------------------------------------------------------


def unary(lo=-2.0, hi=2.0, kinks=()):
    def sample(draw):
        s = draw_shape(draw)
        return (away_from(draw, s, kinks, lo=lo, hi=hi) if kinks else floats(draw, s, lo, hi),)

    return sample


def with_dim(min_dims=0):
    def sample(draw):
        s = draw_shape(draw, min_dims=min_dims)
        dim = draw(st.integers(-max(len(s), 1), max(len(s), 1) - 1))
        return floats(draw, s, -3.0, 3.0), dim

    return sample


def glu_sample(draw):
    s = list(draw_shape(draw, min_dims=1))
    dim = draw(st.integers(-len(s), len(s) - 1))
    s[dim] = 2 * draw(st.integers(0, 2))  # glu halves this dim
    return floats(draw, tuple(s)), dim


REDUCTIONS = st.sampled_from(["none", "mean", "sum"])


def class_targets(min_batch=1, spatial=False, unbatched=False):
    """(logits, class indices, reduction) for (N, C), (N, C, d1, d2) or unbatched (C,)."""

    def sample(draw):
        c = draw(st.integers(1, 4))
        if unbatched:
            x_shape, t_shape = (c,), ()
        else:
            n = draw(st.integers(min_batch, 4))
            extra = draw_shape(draw, 1, 2, 1, 3) if spatial else ()
            x_shape, t_shape = (n, c, *extra), (n, *extra)
        return floats(draw, x_shape, -3, 3), integers(draw, t_shape, 0, c), draw(REDUCTIONS)

    return sample


def weighted_targets(draw):
    """Class weights, and an ignore_index that some targets hit; batch >= 1 for 'mean'."""
    x, t, red = class_targets()(draw)
    c = x.shape[1]
    w = floats(draw, (c,), 0.2, 2.0).tolist()
    ignore = draw(st.sampled_from([-100, 0, c - 1]))
    if red == "mean":  # keep one target that is not ignored, so the mean is defined
        t[0] = (ignore + 1) % c if c > 1 else 0
        if c == 1:
            ignore = -100
    return x, t, w, ignore, red


def prob_targets(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    extra = draw_shape(draw, 0, 1, 1, 3)
    shape = (n, c, *extra)
    p = floats(draw, shape, 0.1, 1.0)
    return floats(draw, shape, -3, 3), p / p.sum(axis=1, keepdims=True), draw(REDUCTIONS)


def regression(kink_at=None):
    """input, target of one shape, with input - target kept away from the loss's kinks."""

    def sample(draw):
        s = draw_shape(draw)
        y = floats(draw, s)
        d = away_from(draw, s, kink_at, gap=0.1, lo=-3, hi=3) if kink_at else floats(draw, s)
        return np.asarray(y + d), y, draw(REDUCTIONS)

    return sample


def weighted_regression(kink_at=None):
    def sample(draw):
        x, y, red = regression(kink_at)(draw)
        return x, y, floats(draw, x.shape, 0.2, 2.0), red

    return sample


def bce_sample(draw):
    s = draw_shape(draw)
    w = floats(draw, s[-1:], 0.2, 2.0).tolist() if draw(st.booleans()) else None
    return floats(draw, s, 0.05, 0.95), floats(draw, s, 0.0, 1.0), w, draw(REDUCTIONS)


def bce_logits_sample(draw):
    s = draw_shape(draw)
    w = floats(draw, s[-1:], 0.2, 2.0).tolist() if draw(st.booleans()) else None
    pw = floats(draw, s[-1:], 0.5, 3.0).tolist() if draw(st.booleans()) else None
    return floats(draw, s, -4, 4), floats(draw, s, 0.0, 1.0), w, pw, draw(REDUCTIONS)


def kl_sample(draw):
    s = draw_shape(draw, min_dims=1)
    red = draw(st.sampled_from(["none", "sum", "batchmean"]))
    return floats(draw, s, -3, 0), floats(draw, s, 0.05, 1.0), red, draw(st.booleans())


def layer_norm_sample(draw):
    lead = draw_shape(draw, 0, 2)
    norm = tuple(draw(st.integers(2, 4)) for _ in range(draw(st.integers(1, 2))))
    s = lead + norm
    w = floats(draw, norm, 0.5, 1.5) if draw(st.booleans()) else None
    b = floats(draw, norm) if draw(st.booleans()) else None
    return floats(draw, s, -3, 3), norm, w, b


def batch_norm_sample(draw):
    n, c = draw(st.integers(2, 3)), draw(st.integers(1, 3))
    s = (n, c, *draw_shape(draw, 0, 2, 1, 3))
    w = floats(draw, (c,), 0.5, 1.5) if draw(st.booleans()) else None
    b = floats(draw, (c,)) if draw(st.booleans()) else None
    mean = floats(draw, (c,)).tolist()
    var = floats(draw, (c,), 0.5, 2.0).tolist()
    return floats(draw, s, -3, 3), w, b, mean, var


def embedding_sample(rescaled: bool):
    """Indices, weight, and (when ``rescaled``) padding_idx and/or scale_grad_by_freq."""

    def sample(draw):
        v, d = draw(st.integers(1, 5)), draw(st.integers(1, 3))
        idx = integers(draw, draw_shape(draw, 0, 2), 0, v)
        pad = draw(st.sampled_from([None, 0, -1])) if rescaled else None
        freq = rescaled and (pad is None or draw(st.booleans()))
        return idx, floats(draw, (v, d)), pad, freq

    return sample


def pad_constant_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    k = draw(st.integers(1, len(s)))
    pads = []
    for n in reversed(s[len(s) - k :]):
        lo = draw(st.integers(-(n // 2), 2))
        hi = draw(st.integers(-(n // 2), 2))
        pads += [lo, hi]
    return floats(draw, s), tuple(pads), draw(st.sampled_from([0.0, -1.5]))


def pad_mode_sample(draw):
    mode = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    k = draw(st.integers(1, 2))
    s = draw_shape(draw, 1, 2, 1, 2) + tuple(draw(st.integers(2, 4)) for _ in range(k))
    pads = []
    for n in reversed(s[len(s) - k :]):
        pads += [draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))]
    return floats(draw, s), tuple(pads), mode


def normalize_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    dim = draw(st.integers(-len(s), len(s) - 1))
    return floats(draw, s), draw(st.sampled_from([1.0, 2.0, 3.0])), dim


def attention_sample(draw):
    batch = draw_shape(draw, 0, 2, 1, 2)
    L, S, E, Ev = (draw(st.integers(1, 3)) for _ in range(4))
    q = floats(draw, (*batch, L, E))
    k = floats(draw, (*batch, S, E))
    v = floats(draw, (*batch, S, Ev))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    mask = None
    if kind == "bool":
        mask = integers(draw, (L, S), 0, 2).astype(bool)
    elif kind == "float":
        mask = floats(draw, (L, S))
    scale = draw(st.sampled_from([None, 0.3]))
    return q, k, v, mask, kind == "causal", scale


# ---- entries ------------------------------------------------------------------------------------


def _act(name, sample=None, **kw):
    return OpInfo(name, lambda lib, x, _n=name: getattr(F(lib), _n)(x), sample or unary(), **kw)


def _cross_entropy_weighted(lib, x, t, w, ignore, red):
    return F(lib).cross_entropy(x, t, _const(lib, w, x), ignore_index=ignore, reduction=red)


def _nll_weighted(lib, x, t, w, ignore, red):
    return F(lib).nll_loss(x, t, _const(lib, w, x), ignore_index=ignore, reduction=red)


def _smoothed(lib, x, t, w, ignore, red):
    return F(lib).cross_entropy(
        x, t, _const(lib, w, x), ignore_index=ignore, reduction=red, label_smoothing=0.2
    )


def _bce(lib, x, y, w, red):
    w = None if w is None else _const(lib, w, x)
    return F(lib).binary_cross_entropy(x, y, w, reduction=red)


def _bce_logits(lib, x, y, w, pw, red):
    w = None if w is None else _const(lib, w, x)
    pw = None if pw is None else _const(lib, pw, x)
    return F(lib).binary_cross_entropy_with_logits(x, y, w, reduction=red, pos_weight=pw)


def _batch_norm_eval(lib, x, w, b, mean, var):
    rm, rv = _const(lib, mean, x), _const(lib, var, x)
    return F(lib).batch_norm(x, rm, rv, w, b, training=False, eps=1e-3)


def _batch_norm_train(lib, x, w, b, mean, var):
    rm, rv = _const(lib, mean, x), _const(lib, var, x)
    return F(lib).batch_norm(x, rm, rv, w, b, training=True, momentum=0.3)


def _dropout(lib, x):
    lib.manual_seed(0)  # the same mask at every evaluation, so numerical gradients make sense
    return F(lib).dropout(x, 0.4)


def _channel_dropout(n):
    def fn(lib, x):
        lib.manual_seed(0)
        return getattr(F(lib), f"dropout{n}d")(x, 0.4)

    return fn


def _channels(n):
    def sample(draw):
        shape = tuple(draw(st.integers(1, 3)) for _ in range(n + 2))
        return (floats(draw, shape),)

    return sample


def _embedding(lib, i, w, pad, freq):
    return F(lib).embedding(i, w, pad, scale_grad_by_freq=freq)


def _attention(lib, q, k, v, mask, causal, scale):
    return F(lib).scaled_dot_product_attention(q, k, v, mask, is_causal=causal, scale=scale)


def mha_sample(draw):
    """query (L, N, E), key = value (S, N, E) with E = heads * head size, and the weights: a
    packed (3E, E) in_proj or the three separate (E, E) ones (CLIP's attention pooling)."""
    heads, d = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    e, n = heads * d, draw(st.integers(1, 2))
    L, S = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    q, kv = floats(draw, (L, n, e)), floats(draw, (S, n, e))
    ws = tuple(floats(draw, (e, e), -1, 1) for _ in range(4))
    bias = floats(draw, (3 * e,), -1, 1), floats(draw, (e,), -1, 1)
    return (q, kv, *ws, *bias, heads, draw(st.booleans()), draw(st.booleans()))


def _mha(lib, q, kv, wq, wk, wv, wo, b_in, b_out, heads, separate, need_weights):
    packed = None if separate else lib.cat([wq, wk, wv])
    return F(lib).multi_head_attention_forward(
        q, kv, kv, q.shape[-1], heads, packed, b_in, None, None, False, 0.0, wo, b_out,
        need_weights=need_weights, use_separate_proj_weight=separate,
        q_proj_weight=wq if separate else None, k_proj_weight=wk if separate else None,
        v_proj_weight=wv if separate else None,
    )[0]  # fmt: skip


def cell_sample(chunks, with_c=False):
    """input (B, I), h (B, H) [, c (B, H)], w_ih (chunks H, I), w_hh (chunks H, H), biases or
    None (both at once, as the layers pass them)."""

    def sample(draw):
        b, i, h = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
        states = (floats(draw, (b, h)),) + ((floats(draw, (b, h)),) if with_c else ())
        bias = draw(st.booleans())
        biases = tuple(floats(draw, (chunks * h,)) if bias else None for _ in range(2))
        w = (floats(draw, (chunks * h, i), -1, 1), floats(draw, (chunks * h, h), -1, 1))
        return (floats(draw, (b, i)), *states, *w, *biases)

    return sample


def _lstm_cell(lib, x, h, c, w_ih, w_hh, b_ih, b_hh):
    return lib.cat(lib.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh), -1)


OPS: list[OpInfo] = [
    # activations
    OpInfo("leaky_relu", lambda lib, x: F(lib).leaky_relu(x, 0.2), unary(kinks=(0.0,))),
    _act("elu", unary(kinks=(0.0,))),
    OpInfo("elu_alpha", lambda lib, x: F(lib).elu(x, alpha=0.5), unary(kinks=(0.0,))),
    _act("selu", unary(kinks=(0.0,))),
    OpInfo("celu", lambda lib, x: F(lib).celu(x, alpha=0.7), unary(kinks=(0.0,))),
    _act("gelu", unary(-4, 4)),
    OpInfo("gelu_tanh", lambda lib, x: F(lib).gelu(x, approximate="tanh"), unary(-4, 4)),
    _act("silu", unary(-5, 5)),
    _act("mish", unary(-5, 5)),
    _act("softplus", unary(-5, 5)),
    OpInfo(
        "softplus_beta",
        lambda lib, x: F(lib).softplus(x, beta=2.0, threshold=3.0),
        unary(-3, 3, kinks=(1.5,)),
    ),
    _act("logsigmoid", unary(-6, 6)),
    _act("softsign", unary(kinks=(0.0,))),
    _act("tanhshrink"),
    OpInfo("hardtanh", lambda lib, x: F(lib).hardtanh(x, -0.5, 0.7), unary(kinks=(-0.5, 0.7))),
    _act("relu6", unary(-2, 8, kinks=(0.0, 6.0))),
    _act("hardsigmoid", unary(-5, 5, kinks=(-3.0, 3.0))),
    _act("hardswish", unary(-5, 5, kinks=(-3.0, 3.0))),
    OpInfo("threshold", lambda lib, x: F(lib).threshold(x, 0.3, -1.0), unary(kinks=(0.3,))),
    OpInfo("softmax", lambda lib, x, d: F(lib).softmax(x, d), with_dim()),
    OpInfo("log_softmax", lambda lib, x, d: F(lib).log_softmax(x, d), with_dim()),
    OpInfo("softmin", lambda lib, x, d: F(lib).softmin(x, d), with_dim()),
    OpInfo("glu", lambda lib, x, d: F(lib).glu(x, d), glu_sample),
    # classification losses
    OpInfo(
        "cross_entropy",
        lambda lib, x, t, r: F(lib).cross_entropy(x, t, reduction=r),
        class_targets(),
    ),
    OpInfo(
        "cross_entropy_spatial",
        lambda lib, x, t, r: F(lib).cross_entropy(x, t, reduction=r),
        class_targets(spatial=True),
    ),
    OpInfo(
        "cross_entropy_unbatched",
        lambda lib, x, t, r: F(lib).cross_entropy(x, t, reduction=r),
        class_targets(unbatched=True),
    ),
    OpInfo("cross_entropy_weighted", _cross_entropy_weighted, weighted_targets),
    OpInfo("cross_entropy_label_smoothing", _smoothed, weighted_targets),
    OpInfo(
        "cross_entropy_label_smoothing_plain",
        lambda lib, x, t, r: F(lib).cross_entropy(x, t, reduction=r, label_smoothing=0.3),
        class_targets(spatial=True),
    ),
    OpInfo(
        "cross_entropy_probs",
        lambda lib, x, p, r: F(lib).cross_entropy(x, p, reduction=r),
        prob_targets,
    ),
    OpInfo(
        "cross_entropy_probs_smoothing",
        lambda lib, x, p, r: F(lib).cross_entropy(x, p, reduction=r, label_smoothing=0.25),
        prob_targets,
    ),
    OpInfo(
        "nll_loss",
        lambda lib, x, t, r: F(lib).nll_loss(x, t, reduction=r),
        class_targets(min_batch=0),
    ),
    OpInfo("nll_loss_weighted", _nll_weighted, weighted_targets),
    OpInfo("binary_cross_entropy", _bce, bce_sample),
    OpInfo("binary_cross_entropy_with_logits", _bce_logits, bce_logits_sample),
    OpInfo(
        "kl_div",
        lambda lib, x, t, r, lt: F(lib).kl_div(x, t.log() if lt else t, reduction=r, log_target=lt),
        kl_sample,
    ),
    # regression losses
    OpInfo("mse_loss", lambda lib, x, y, r: F(lib).mse_loss(x, y, reduction=r), regression()),
    OpInfo("l1_loss", lambda lib, x, y, r: F(lib).l1_loss(x, y, reduction=r), regression((0.0,))),
    OpInfo(
        "huber_loss",
        lambda lib, x, y, r: F(lib).huber_loss(x, y, reduction=r, delta=0.7),
        regression((-0.7, 0.7)),
    ),
    OpInfo(
        "smooth_l1_loss",
        lambda lib, x, y, r: F(lib).smooth_l1_loss(x, y, reduction=r, beta=0.5),
        regression((-0.5, 0.5)),
    ),
    OpInfo(
        "mse_loss_weighted",
        lambda lib, x, y, w, r: F(lib).mse_loss(x, y, reduction=r, weight=w),
        weighted_regression(),
    ),
    OpInfo(
        "huber_loss_weighted",
        lambda lib, x, y, w, r: F(lib).huber_loss(x, y, reduction=r, weight=w),
        weighted_regression((-1.0, 1.0)),
    ),
    # normalisation, dropout, embedding, padding
    OpInfo(
        "layer_norm",
        lambda lib, x, ns, w, b: F(lib).layer_norm(x, ns, w, b),
        layer_norm_sample,
        rtol=1e-6,
        atol=1e-8,
    ),
    OpInfo("batch_norm_train", _batch_norm_train, batch_norm_sample, rtol=1e-6, atol=1e-8),
    OpInfo("batch_norm_eval", _batch_norm_eval, batch_norm_sample),
    OpInfo("dropout", _dropout, unary(), check_torch=False),
    OpInfo("dropout1d", _channel_dropout(1), _channels(1), check_torch=False),
    OpInfo("dropout2d", _channel_dropout(2), _channels(2), check_torch=False),
    OpInfo("dropout3d", _channel_dropout(3), _channels(3), check_torch=False),
    OpInfo("embedding", _embedding, embedding_sample(False)),
    # padding_idx zeroes a row's gradient and scale_grad_by_freq divides it by the row's count:
    # PyTorch's definitions, not derivatives, so only the comparison with torch applies
    OpInfo("embedding_rescaled", _embedding, embedding_sample(True), tags=("nondiff",)),
    OpInfo("pad", lambda lib, x, p, v: F(lib).pad(x, p, value=v), pad_constant_sample),
    OpInfo("pad_modes", lambda lib, x, p, m: F(lib).pad(x, p, mode=m), pad_mode_sample),
    OpInfo("normalize", lambda lib, x, p, d: F(lib).normalize(x, p, d), normalize_sample),
    # attention
    OpInfo("scaled_dot_product_attention", _attention, attention_sample),
    OpInfo("multi_head_attention_forward", _mha, mha_sample),
    # recurrent cells (torch.rnn_tanh_cell & co.: one fused node per time step of nn.RNN/LSTM/GRU)
    OpInfo("rnn_tanh_cell", lambda lib, *a: lib.rnn_tanh_cell(*a), cell_sample(1)),
    # pre-activations at a kink of relu have probability zero with these samples
    OpInfo("rnn_relu_cell", lambda lib, *a: lib.rnn_relu_cell(*a), cell_sample(1)),
    OpInfo("gru_cell", lambda lib, *a: lib.gru_cell(*a), cell_sample(3)),
    OpInfo("lstm_cell", _lstm_cell, cell_sample(4, with_c=True)),
]

# the layers' ops of issue 12 (transposed convolution, interpolation, group norm...)
from tests.opinfo.nn_more import OPS as _MORE  # noqa: E402

OPS += _MORE

# the ops of the nn-breadth work (PReLU, margin losses, 3-d pooling, grid_sample...)
from tests.opinfo.nn_breadth import OPS as _BREADTH  # noqa: E402

OPS += _BREADTH

# the spatial transformer's ops and ctc_loss
from tests.opinfo.nn_vision import OPS as _VISION  # noqa: E402

OPS += _VISION
