"""nn.functional behaviour the registry sweep can't cover: option grids, errors, state, randomness.

Everything is compared with PyTorch (values, gradients, exception types) or with exact
expectations; floats with explicit tolerances.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.ops._erf import erf as np_erf
from glassgrad.ops._erf import erfc as np_erfc

torch.set_num_threads(1)
RNG = np.random.default_rng(1234)


def pair(a, requires_grad=True, dtype=np.float64):
    """The same array as a glassgrad and a torch tensor."""
    a = np.asarray(a, dtype=dtype)
    ours = gg.tensor(a, requires_grad=requires_grad)
    theirs = torch.tensor(a, requires_grad=requires_grad)
    return ours, theirs


def ints(a):
    a = np.asarray(a, dtype=np.int64)
    return gg.tensor(a), torch.from_numpy(a.copy())


def close(ours, theirs, rtol=1e-10, atol=1e-12):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    ours = ours.detach().numpy() if isinstance(ours, gg.Tensor) else ours
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


def check_grads(ours_out, theirs_out, ours_in, theirs_in, rtol=1e-10, atol=1e-12):
    close(ours_out, theirs_out, rtol, atol)
    v = RNG.standard_normal(tuple(theirs_out.shape))
    ours_out.backward(gg.tensor(v, dtype=ours_out.dtype))
    theirs_out.backward(torch.tensor(v, dtype=theirs_out.dtype))
    for a, b in zip(ours_in, theirs_in):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad.numpy())
        else:
            close(a.grad, b.grad, rtol, atol)


# ---- errors: same exception type as PyTorch, and a message naming the culprit -----------------

X34 = np.arange(12.0).reshape(3, 4) / 7


def _both(build):
    """Run ``build(lib)`` with torch and glassgrad; return both exceptions (or None)."""
    errs = []
    for lib in (torch, gg):
        try:
            build(lib)
            errs.append(None)
        except Exception as e:
            errs.append(e)
    return errs


def T(lib, a, dtype=None):
    return lib.tensor(a) if dtype is None else lib.tensor(a, dtype=getattr(lib, dtype))


def FF(lib):
    return lib.nn.functional


ERROR_CASES = [
    ("ce_target_too_big", lambda L: FF(L).cross_entropy(T(L, X34), T(L, [0, 1, 5])), r"5.*4"),
    ("ce_target_negative", lambda L: FF(L).cross_entropy(T(L, X34), T(L, [0, -1, 2])), r"-1"),
    (
        "ce_int32_target",
        lambda L: FF(L).cross_entropy(T(L, X34), T(L, [0, 1, 2], "int32")),
        r"Long or Byte",
    ),
    (
        "ce_float_target_wrong_shape",
        lambda L: FF(L).cross_entropy(T(L, X34), T(L, [0.0, 1.0, 2.0])),
        r"Long or Byte",
    ),
    ("ce_batch_mismatch", lambda L: FF(L).cross_entropy(T(L, X34), T(L, [0, 1])), r"3.*2"),
    (
        "ce_long_probabilities",
        lambda L: FF(L).cross_entropy(T(L, X34), T(L, [[0, 1, 0, 0]] * 3)),
        r"floating point",
    ),
    (
        "ce_multi_target",
        lambda L: FF(L).cross_entropy(T(L, X34), T(L, [[0, 1, 2]])),
        r"batch_size",
    ),
    (
        "ce_spatial_target",
        lambda L: FF(L).cross_entropy(T(L, np.zeros((2, 4, 3))), T(L, [[0, 1, 2, 3]] * 2)),
        r"Expected target size \[2, 3\]",
    ),
    (
        "ce_weight_size",
        lambda L: FF(L).cross_entropy(T(L, X34), T(L, [0, 1, 2]), weight=T(L, [1.0, 2.0])),
        r"4 classes",
    ),
    (
        "ce_label_smoothing",
        lambda L: FF(L).cross_entropy(T(L, X34), T(L, [0, 1, 2]), label_smoothing=1.5),
        r"label_smoothing",
    ),
    (
        "ce_reduction",
        lambda L: FF(L).cross_entropy(T(L, X34), T(L, [0, 1, 2]), reduction="avg"),
        r"avg is not a valid value for reduction",
    ),
    (
        "ce_ignore_index_probs",
        lambda L: FF(L).cross_entropy(T(L, X34), T(L, X34), ignore_index=1),
        r"ignore_index",
    ),
    ("nll_0d", lambda L: FF(L).nll_loss(T(L, 1.0), T(L, 0)), r"dimensions"),
    ("bce_range", lambda L: FF(L).binary_cross_entropy(T(L, [1.5]), T(L, [1.0])), r"0 and 1"),
    (
        "bce_shape",
        lambda L: FF(L).binary_cross_entropy(T(L, [0.5]), T(L, [1.0, 0.0])),
        r"target size",
    ),
    (
        "bce_logits_shape",
        lambda L: FF(L).binary_cross_entropy_with_logits(T(L, [0.5]), T(L, [1.0, 0.0])),
        r"Target size",
    ),
    (
        "mse_weight",
        lambda L: FF(L).mse_loss(T(L, [0.5, 1.0]), T(L, [1.0, 0.0]), weight=T(L, [1.0])),
        r"same size",
    ),
    ("huber_delta", lambda L: FF(L).huber_loss(T(L, [0.5]), T(L, [1.0]), delta=0.0), r"delta"),
    ("smooth_l1_beta", lambda L: FF(L).smooth_l1_loss(T(L, [0.5]), T(L, [1.0]), beta=-1), "beta"),
    ("kl_reduction", lambda L: FF(L).kl_div(T(L, [0.5]), T(L, [1.0]), reduction="x"), r"x is"),
    ("layer_norm_shape", lambda L: FF(L).layer_norm(T(L, X34), (3,)), r"normalized_shape=\[3\]"),
    (
        "layer_norm_weight",
        lambda L: FF(L).layer_norm(T(L, X34), (4,), weight=T(L, [1.0, 2.0])),
        r"weight",
    ),
    (
        "batch_norm_one_value",
        lambda L: FF(L).batch_norm(T(L, [[1.0, 2.0]]), None, None, training=True),
        r"more than 1 value per channel",
    ),
    (
        "batch_norm_eval_no_stats",
        lambda L: FF(L).batch_norm(T(L, X34), None, None, training=False),
        r"running_mean",
    ),
    (
        "batch_norm_stats_size",
        lambda L: FF(L).batch_norm(T(L, X34), T(L, [0.0] * 3), T(L, [1.0] * 3), training=True),
        r"should contain 4 elements not 3",
    ),
    ("dropout_p", lambda L: FF(L).dropout(T(L, X34), 1.5), r"between 0 and 1, but got 1.5"),
    (
        "embedding_range",
        lambda L: FF(L).embedding(T(L, [0, 5]), T(L, np.zeros((3, 2)))),
        r"index out of range",
    ),
    (
        "embedding_float_indices",
        lambda L: FF(L).embedding(T(L, [0.0, 1.0]), T(L, np.zeros((3, 2)))),
        r"Long, Int",
    ),
    (
        "embedding_padding_idx",
        lambda L: FF(L).embedding(T(L, [0, 1]), T(L, np.zeros((3, 2))), padding_idx=3),
        r"Padding_idx must be within num_embeddings",
    ),
    ("embedding_1d_weight", lambda L: FF(L).embedding(T(L, [0]), T(L, [1.0])), r"2-D"),
    ("one_hot_big", lambda L: FF(L).one_hot(T(L, [0, 3]), 3), r"smaller than num_classes"),
    ("one_hot_negative", lambda L: FF(L).one_hot(T(L, [0, -1]), 3), r"non-negative"),
    ("one_hot_dtype", lambda L: FF(L).one_hot(T(L, [0.0])), r"LongTensor"),
    ("one_hot_empty", lambda L: FF(L).one_hot(T(L, [], "int64")), r"empty tensor"),
    ("pad_odd", lambda L: FF(L).pad(T(L, X34), (1, 2, 3)), r"divisible by 2"),
    ("pad_long", lambda L: FF(L).pad(T(L, X34), (1,) * 6), r"padding length 6"),
    ("pad_crop_too_much", lambda L: FF(L).pad(T(L, X34), (-3, -2)), r""),
    ("pad_reflect_big", lambda L: FF(L).pad(T(L, np.ones((1, 2, 3))), (3, 1), "reflect"), r"3"),
    ("pad_mode", lambda L: FF(L).pad(T(L, np.ones((1, 2, 3))), (1, 1), "mirror"), r"mirror"),
    (
        "pad_mode_value",
        lambda L: FF(L).pad(T(L, np.ones((1, 2, 3))), (1, 1), "reflect", 1.0),
        r"value",
    ),
    ("pad_mode_ndim", lambda L: FF(L).pad(T(L, [1.0, 2.0]), (1, 1), "replicate"), r"1D"),
    ("softmax_dim", lambda L: FF(L).softmax(T(L, X34), 2), r"range"),
    ("softmax_int", lambda L: FF(L).softmax(T(L, [1, 2]), 0), r""),
    ("gelu_int", lambda L: FF(L).gelu(T(L, [1, 2])), r""),
    ("gelu_approximate", lambda L: FF(L).gelu(T(L, X34), approximate="erf"), r"none or tanh"),
    ("hardtanh_bounds", lambda L: FF(L).hardtanh(T(L, X34), 1.0, -1.0), r"min_val"),
    ("celu_alpha", lambda L: FF(L).celu(T(L, X34), alpha=0.0), r"alpha"),
    ("glu_odd", lambda L: FF(L).glu(T(L, X34), 0), r"dimension 0 is size 3"),
    (
        "sdpa_causal_and_mask",
        lambda L: FF(L).scaled_dot_product_attention(
            T(L, X34), T(L, X34), T(L, X34), T(L, np.ones((3, 3), bool)), is_causal=True
        ),
        r"is_causal",
    ),
    (
        "sdpa_dtypes",
        lambda L: FF(L).scaled_dot_product_attention(T(L, X34), T(L, X34), T(L, X34, "float32")),
        r"dtype",
    ),
    (
        "sdpa_1d",
        lambda L: FF(L).scaled_dot_product_attention(T(L, [1.0]), T(L, X34), T(L, X34)),
        r"2 dimensional",
    ),
    (
        "sdpa_int_mask",
        lambda L: FF(L).scaled_dot_product_attention(
            T(L, X34), T(L, X34), T(L, X34), T(L, np.zeros((3, 3), np.int64))
        ),
        r"attn_mask",
    ),
]


@pytest.mark.parametrize(
    "build,match", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_errors_match_torch(build, match) -> None:
    theirs, ours = _both(build)
    assert theirs is not None, "torch accepted this call; the case is wrong"
    assert ours is not None, f"glassgrad accepted a call torch refuses ({theirs!r})"
    assert isinstance(ours, type(theirs)), f"{type(ours).__name__} vs torch {theirs!r}: {ours}"
    assert re.search(match, str(ours)), f"message {str(ours)!r} does not match {match!r}"


# ---- cross-entropy and nll_loss: the whole option grid -------------------------------------------


SHAPES = {"unbatched": ((4,), ()), "batch": ((5, 4), (5,)), "spatial": ((2, 4, 3, 2), (2, 3, 2))}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_grid(shape, reduction, weighted, ignore_index, smoothing) -> None:
    x_shape, t_shape = SHAPES[shape]
    x, tx = pair(RNG.standard_normal(x_shape) * 2)
    t = RNG.integers(0, 4, size=t_shape)
    if t.size:
        t.flat[0] = 2  # at least one target that is never ignored
    t, tt = ints(t)
    w = None if not weighted else np.array([0.5, 2.0, 1.0, 3.0])
    kw = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
    out = F.cross_entropy(x, t, None if w is None else gg.tensor(w), **kw)
    ref = TF.cross_entropy(tx, tt, None if w is None else torch.tensor(w), **kw)
    check_grads(out, ref, [x], [tx])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probabilities(reduction, weighted, smoothing) -> None:
    x, tx = pair(RNG.standard_normal((3, 4, 2)))
    p = RNG.uniform(0.1, 1.0, (3, 4, 2))
    y, ty = pair(p / p.sum(1, keepdims=True))
    w = np.array([0.5, 2.0, 1.0, 3.0])
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    out = F.cross_entropy(x, y, gg.tensor(w) if weighted else None, **kw)
    ref = TF.cross_entropy(tx, ty, torch.tensor(w) if weighted else None, **kw)
    check_grads(out, ref, [x, y], [tx, ty])


def test_cross_entropy_all_ignored_and_empty_batch_are_nan_like_torch() -> None:
    x, tx = pair(RNG.standard_normal((3, 4)))
    t, tt = ints([-100, -100, -100])
    out, ref = F.cross_entropy(x, t), TF.cross_entropy(tx, tt)
    assert math.isnan(out.item()) and math.isnan(ref.item())
    out.backward()
    ref.backward()
    close(x.grad, tx.grad)  # all zeros
    assert F.cross_entropy(x, t, reduction="sum").item() == 0.0
    e, te = pair(np.zeros((0, 4)))
    assert math.isnan(F.cross_entropy(e, gg.tensor(np.zeros(0, np.int64))).item())
    assert math.isnan(TF.cross_entropy(te, torch.zeros(0, dtype=torch.long)).item())


def test_cross_entropy_is_two_nodes_and_uint8_targets_work() -> None:
    x, tx = pair(RNG.standard_normal((4, 3)))
    t = np.array([0, 2, 1, 1], np.uint8)
    out = F.cross_entropy(x, gg.tensor(t))
    ref = TF.cross_entropy(tx, torch.from_numpy(t))
    close(out, ref)
    assert out.grad_fn.name() == "NllLossBackward0"
    (child, _), *_ = out.grad_fn.next_functions
    assert child.name() == "LogSoftmaxBackward0"
    assert child.next_functions[0][0].name() == "AccumulateGrad"


@pytest.mark.parametrize("bias", [True, False])
def test_linear_node_lists_its_inputs_in_torchs_order(bias) -> None:
    """A batch through ``F.linear`` is AddmmBackward0 (bias, input, weight) or MmBackward0
    (input, weight), as the Blitz tutorial prints them: ``next_functions[0][0]`` is the bias's
    AccumulateGrad, or the input's node."""
    names = []
    for lib in (gg, torch):
        x = lib.ones(2, 3, requires_grad=True)
        w, b = lib.ones(4, 3, requires_grad=True), lib.ones(4, requires_grad=True)
        out = lib.nn.functional.linear(x.relu(), w, b if bias else None)
        nodes = [n.name().removeprefix("torch::autograd::") for n, _ in out.grad_fn.next_functions]
        names.append([out.grad_fn.name(), *nodes])
    ours, theirs = names
    assert len(ours) == len(theirs)
    assert ours[:-1] == theirs[:-1]  # (the weight, last, goes through a TBackward0 in PyTorch)


def test_cross_entropy_stable_for_huge_logits() -> None:
    x, tx = pair([[1000.0, -1000.0, 0.0], [-1e5, 1e5, 3.0]])
    t, tt = ints([1, 0])
    out, ref = F.cross_entropy(x, t, reduction="none"), TF.cross_entropy(tx, tt, reduction="none")
    assert np.all(np.isfinite(out.detach().numpy()))
    check_grads(out, ref, [x], [tx])


@pytest.mark.parametrize(
    "size_average,reduce", [(None, None), (True, None), (False, None), (None, False), (False, True)]
)
def test_legacy_size_average_and_reduce(size_average, reduce) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that these flags are deprecated
        x, tx = pair(RNG.standard_normal((3, 4)))
        t, tt = ints([0, 3, 1])
        kw = dict(size_average=size_average, reduce=reduce)
        close(F.nll_loss(x, t, **kw), TF.nll_loss(tx, tt, **kw))
        close(F.mse_loss(x, x * 0.5, **kw), TF.mse_loss(tx, tx * 0.5, **kw))


def test_legacy_size_average_and_reduce_warn_as_torch() -> None:
    """pytorch-made's ``size_average=False``: the same UserWarning, naming the reduction."""
    x, tx = pair(RNG.standard_normal(4))
    for kw in (dict(size_average=False), dict(reduce=False), dict(size_average=True)):
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            F.binary_cross_entropy_with_logits(x, x.detach(), **kw)
            gg.nn.MSELoss(**kw)
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            TF.binary_cross_entropy_with_logits(tx, tx.detach(), **kw)
            torch.nn.MSELoss(**kw)
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs], kw
        assert all(w.category is UserWarning for w in ours)


def test_nll_loss_float32_stays_float32_and_matches() -> None:
    x, tx = pair(RNG.standard_normal((6, 5)), dtype=np.float32)
    t, tt = ints([0, 4, 1, 1, 2, 3])
    w = np.array([1.0, 0.5, 2.0, 1.0, 3.0], np.float32)
    out = F.cross_entropy(x, t, gg.tensor(w), label_smoothing=0.1)
    ref = TF.cross_entropy(tx, tt, torch.tensor(w), label_smoothing=0.1)
    assert out.dtype == gg.float32
    check_grads(out, ref, [x], [tx], rtol=1e-5, atol=1e-6)
    assert x.grad.dtype == gg.float32


# ---- other losses: reductions and weights -------------------------------------------------------


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_bce_options(reduction) -> None:
    x, tx = pair(RNG.uniform(0.05, 0.95, (3, 4)))
    y, ty = pair(RNG.uniform(0, 1, (3, 4)))
    w = RNG.uniform(0.5, 2, (4,))
    out = F.binary_cross_entropy(x, y, gg.tensor(w), reduction=reduction)
    ref = TF.binary_cross_entropy(tx, ty, torch.tensor(w), reduction=reduction)
    check_grads(out, ref, [x, y], [tx, ty])


def test_bce_clamps_log_at_minus_100() -> None:
    x, tx = pair([0.0, 1.0, 0.5])
    y, ty = pair([1.0, 0.0, 1.0], requires_grad=False)
    out = F.binary_cross_entropy(x, y, reduction="none")
    ref = TF.binary_cross_entropy(tx, ty, reduction="none")
    close(out, ref)
    assert out.tolist()[:2] == [100.0, 100.0]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_bce_with_logits_options_and_stability(reduction) -> None:
    x, tx = pair(RNG.standard_normal((3, 4)) * 50)  # far into both tails
    y, ty = pair(RNG.uniform(0, 1, (3, 4)))
    w, pw = RNG.uniform(0.5, 2, (3, 4)), RNG.uniform(0.5, 3, (4,))
    out = F.binary_cross_entropy_with_logits(
        x, y, gg.tensor(w), reduction=reduction, pos_weight=gg.tensor(pw)
    )
    ref = TF.binary_cross_entropy_with_logits(
        tx, ty, torch.tensor(w), reduction=reduction, pos_weight=torch.tensor(pw)
    )
    assert np.all(np.isfinite(out.detach().numpy()))
    check_grads(out, ref, [x, y], [tx, ty], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_weighted_regression_losses(name, reduction) -> None:
    x, tx = pair(RNG.standard_normal((3, 4)) * 2)
    y, ty = pair(RNG.standard_normal((3, 4)))
    w, tw = pair(RNG.uniform(0.2, 2, (3, 4)))
    out = getattr(F, name)(x, y, reduction=reduction, weight=w)
    ref = getattr(TF, name)(tx, ty, reduction=reduction, weight=tw)
    check_grads(out, ref, [x, y, w], [tx, ty, tw])


def test_smooth_l1_beta_zero_is_l1_and_broadcast_warns() -> None:
    x, tx = pair(RNG.standard_normal((3, 4)))
    y, ty = pair(RNG.standard_normal((3, 4)))
    check_grads(F.smooth_l1_loss(x, y, beta=0.0), TF.smooth_l1_loss(tx, ty, beta=0.0), [x], [tx])
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(x, gg.tensor(RNG.standard_normal((4,))))


@pytest.mark.parametrize("reduction", ["mean", "batchmean"])
def test_kl_div_mean_reductions(reduction) -> None:
    x, tx = pair(np.log(RNG.uniform(0.1, 1, (3, 4))))
    y, ty = pair(np.array([[0.0, 0.5, 0.5, 0.0]] * 3))  # zeros: 0 log 0 = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = F.kl_div(x, y, reduction=reduction)
        ref = TF.kl_div(tx, ty, reduction=reduction)
    check_grads(out, ref, [x], [tx])
    if reduction == "mean":
        with pytest.warns(UserWarning, match="batchmean"):
            F.kl_div(x, y, reduction=reduction)


# ---- activations: options, in-place forms, softmax details --------------------------------------


def test_softmax_implicit_dim_warns_and_matches_torch() -> None:
    for shape in [(3,), (2, 3), (2, 3, 2), (2, 2, 2, 2)]:
        x, tx = pair(RNG.standard_normal(shape))
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            out = F.softmax(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = TF.softmax(tx)
        check_grads(out, ref, [x], [tx])


def test_softmax_dtype_zero_dim_and_inf_rows() -> None:
    x = gg.tensor([1.0, 2.0, 3.0])
    out = F.softmax(x, 0, dtype=gg.float64)
    assert out.dtype == gg.float64
    close(out, TF.softmax(torch.tensor([1.0, 2.0, 3.0]), 0, dtype=torch.float64))
    assert F.softmax(gg.tensor(3.0), 0).item() == 1.0
    assert F.log_softmax(gg.tensor(3.0), -1).item() == 0.0
    inf = [[-math.inf, -math.inf], [0.0, -math.inf]]
    close(F.softmax(gg.tensor(inf), 1), TF.softmax(torch.tensor(inf), 1))
    close(F.log_softmax(gg.tensor(inf), 1), TF.log_softmax(torch.tensor(inf), 1))


def test_softmax_saves_only_its_output() -> None:
    x = gg.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    for fn in (F.softmax, F.log_softmax):
        y = fn(x, 1)
        (saved,) = y.grad_fn._saved
        assert saved is y._data


@pytest.mark.parametrize(
    "name,args",
    [
        ("leaky_relu", (0.3,)),
        ("elu", (0.8,)),
        ("selu", ()),
        ("celu", (0.5,)),
        ("silu", ()),
        ("mish", ()),
        ("hardtanh", (-0.5, 0.5)),
        ("relu6", ()),
        ("hardsigmoid", ()),
        ("hardswish", ()),
        ("threshold", (0.1, 2.0)),
    ],
)
def test_inplace_activations(name, args) -> None:
    a = RNG.standard_normal((3, 4)) * 4
    x, tx = pair(a)
    y, ty = x * 1.0, tx * 1.0  # in-place on a non-leaf, which is allowed
    out = getattr(F, name)(y, *args, inplace=True)
    ref = getattr(TF, name)(ty, *args, inplace=True)
    assert out is y
    check_grads(out, ref, [x], [tx], rtol=1e-7, atol=1e-9)  # torch's hardsigmoid: float 1/6
    plain = gg.tensor(a)
    getattr(F, name)(plain, *args, inplace=True)
    close(plain, ref)


def test_gelu_exact_matches_torch_far_out_and_in_float32() -> None:
    a = np.concatenate([np.linspace(-12, 12, 97), [0.0, -40.0, 40.0]])
    x, tx = pair(a)
    check_grads(F.gelu(x), TF.gelu(tx), [x], [tx], rtol=1e-13, atol=1e-15)
    x32 = gg.tensor(a.astype(np.float32), requires_grad=True)
    out = F.gelu(x32)
    assert out.dtype == gg.float32
    close(out, TF.gelu(torch.tensor(a, dtype=torch.float32)), rtol=1e-6, atol=1e-6)


def test_gelu_second_derivative_matches_torch() -> None:
    for approximate in ("none", "tanh"):
        x, tx = pair(RNG.standard_normal(7) * 2)
        (g,) = gg.autograd.grad(F.gelu(x, approximate).sum(), x, create_graph=True)
        (tg,) = torch.autograd.grad(
            TF.gelu(tx, approximate=approximate).sum(), tx, create_graph=True
        )
        check_grads(g, tg, [x], [tx])


def test_erf_helper_is_accurate() -> None:
    a = np.concatenate([np.linspace(-30, 30, 20001), [0.0, -0.0, 0.46875, 4.0, 1e-300]])
    close(np_erf(a), np.array([math.erf(v) for v in a]), rtol=0, atol=3e-16)
    refc = np.array([math.erfc(v) for v in a])
    close(np_erfc(a), refc, rtol=2e-15, atol=1e-300)
    assert np.isnan(np_erf(np.array([np.nan]))[0])
    assert np_erf(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0]
    assert np_erf(np.zeros(3, np.float32)).dtype == np.float32


# ---- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 4, 5)])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batch_norm_training_updates_running_stats_like_torch(shape, affine, momentum) -> None:
    x, tx = pair(RNG.standard_normal(shape) * 3 + 1)
    c = shape[1]
    rm, rv = gg.tensor(RNG.standard_normal(c)), gg.tensor(RNG.uniform(0.5, 2, c))
    trm, trv = torch.tensor(rm.numpy().copy()), torch.tensor(rv.numpy().copy())
    w, tw = pair(RNG.uniform(0.5, 1.5, c))
    b, tb = pair(RNG.standard_normal(c))
    params = (w, b) if affine else (None, None)
    tparams = (tw, tb) if affine else (None, None)
    v0 = rm._version
    out = F.batch_norm(x, rm, rv, *params, training=True, momentum=momentum)
    ref = TF.batch_norm(tx, trm, trv, *tparams, training=True, momentum=momentum)
    close(rm, trm)
    close(rv, trv)  # unbiased batch variance, as torch
    assert rm._version == v0 + 1
    check_grads(out, ref, [x, *params] if affine else [x], [tx, *tparams] if affine else [tx])


def test_batch_norm_eval_uses_running_stats_and_leaves_them() -> None:
    x, tx = pair(RNG.standard_normal((4, 3, 2)))
    rm, rv = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, 2.0])
    w, tw = pair(RNG.uniform(0.5, 1.5, 3))
    out = F.batch_norm(x, gg.tensor(rm), gg.tensor(rv), w, None, False, 0.1, 1e-3)
    ref = TF.batch_norm(tx, torch.tensor(rm), torch.tensor(rv), tw, None, False, 0.1, 1e-3)
    check_grads(out, ref, [x, w], [tx, tw])
    out = F.batch_norm(x, None, None, training=True)  # training without running stats
    close(out, TF.batch_norm(tx, None, None, training=True))


def test_batch_norm_float32_running_stats() -> None:
    x = gg.tensor(RNG.standard_normal((8, 2)).astype(np.float32))
    rm, rv = gg.zeros(2), gg.ones(2)
    out = F.batch_norm(x, rm, rv, training=True)
    assert out.dtype == rm.dtype == rv.dtype == gg.float32
    trm, trv = torch.zeros(2), torch.ones(2)
    TF.batch_norm(torch.tensor(x.numpy()), trm, trv, training=True)
    close(rm, trm, rtol=1e-6, atol=1e-7)
    close(rv, trv, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fn", ["layer_norm", "batch_norm"])
def test_norm_second_order_matches_torch(fn) -> None:
    x, tx = pair(RNG.standard_normal((4, 3)))
    w, tw = pair(RNG.uniform(0.5, 1.5, 3))
    b, tb = pair(RNG.standard_normal(3))
    if fn == "layer_norm":
        out, ref = F.layer_norm(x, (3,), w, b), TF.layer_norm(tx, (3,), tw, tb)
    else:
        out = F.batch_norm(x, None, None, w, b, training=True)
        ref = TF.batch_norm(tx, None, None, tw, tb, training=True)
    v = RNG.standard_normal((4, 3))
    gs = gg.autograd.grad((out * gg.tensor(v)).sum(), [x, w], create_graph=True)
    tgs = torch.autograd.grad((ref * torch.tensor(v)).sum(), [tx, tw], create_graph=True)
    s = sum(((g * g).sum() for g in gs), gg.tensor(0.0, dtype=gg.float64))
    ts = sum((g * g).sum() for g in tgs)
    check_grads(s, ts, [x, w, b], [tx, tw, tb], rtol=1e-9, atol=1e-10)


def test_normalize_zero_vector_and_p() -> None:
    a = RNG.standard_normal((3, 4))
    a[1] = 0.0
    for p in (1.0, 2.0, 3.0):
        x, tx = pair(a)
        check_grads(F.normalize(x, p, 1), TF.normalize(tx, p, 1), [x], [tx])


# ---- dropout ------------------------------------------------------------------------------------


def test_dropout_statistics_and_scaling() -> None:
    gg.manual_seed(7)
    x = gg.ones(200_000, dtype=gg.float64)
    for p in (0.1, 0.5, 0.8):
        y = F.dropout(x, p).numpy()
        kept = y != 0
        assert abs(1 - kept.mean() - p) < 0.005  # ~ 5 standard deviations at most
        np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-12)
        assert abs(y.mean() - 1) < 0.02


def test_dropout_is_reproducible_from_the_seed() -> None:
    x = gg.ones(50, 20)
    gg.manual_seed(3)
    a = F.dropout(x, 0.3).numpy()
    b = F.dropout(x, 0.3).numpy()
    gg.manual_seed(3)
    c = F.dropout(x, 0.3).numpy()
    assert np.array_equal(a, c) and not np.array_equal(a, b)


def test_dropout_gradient_mask_and_modes() -> None:
    x = gg.tensor(RNG.standard_normal((30, 30)), requires_grad=True)
    y = F.dropout(x, 0.25)
    (mask,) = y.grad_fn._saved
    assert mask.dtype == np.bool_  # a bool mask is kept, not a float one
    y.backward(gg.ones_like(y))
    close(x.grad, mask / 0.75)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    z = F.dropout(x, 1.0)
    assert not np.any(z.detach().numpy())
    z.sum().backward()
    close(x.grad, mask / 0.75)  # p=1 passes no gradient
    assert F.dropout(gg.ones(3, dtype=gg.float32), 0.5).dtype == gg.float32


def test_dropout_inplace() -> None:
    gg.manual_seed(0)
    x = gg.ones(10, 10)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x
    assert set(np.unique(x.numpy()).tolist()) <= {0.0, 2.0}


# ---- embedding, one_hot, pad --------------------------------------------------------------------


def test_embedding_padding_and_frequency_scaling() -> None:
    idx = np.array([[0, 2, 2], [1, 2, 0]])
    for pad, freq in itertools.product([None, 2, -1], [False, True]):
        w, tw = pair(RNG.standard_normal((4, 3)))
        i, ti = ints(idx)
        out = F.embedding(i, w, padding_idx=pad, scale_grad_by_freq=freq)
        ref = TF.embedding(ti, tw, padding_idx=pad, scale_grad_by_freq=freq)
        check_grads(out, ref, [w], [tw])


def test_embedding_max_norm_renormalises_in_place() -> None:
    a = RNG.standard_normal((5, 3)) * 3
    w, tw = gg.tensor(a), torch.tensor(a)
    i, ti = ints([[0, 1], [1, 4]])
    out = F.embedding(i, w, max_norm=1.0)
    with torch.no_grad():
        ref = TF.embedding(ti, tw, max_norm=1.0)
    close(out, ref)
    close(w, tw)  # rows 0, 1, 4 were scaled down in place, the others untouched


def test_embedding_int32_indices() -> None:
    w, tw = pair(RNG.standard_normal((4, 2)))
    idx = np.array([3, 0, 3], np.int32)
    check_grads(F.embedding(gg.tensor(idx), w), TF.embedding(torch.tensor(idx), tw), [w], [tw])


def test_one_hot_matches_torch() -> None:
    t = np.array([[0, 3], [2, 2]])
    out = F.one_hot(gg.tensor(t))
    ref = TF.one_hot(torch.tensor(t))
    assert out.dtype == gg.int64 and out.tolist() == ref.tolist()
    assert F.one_hot(gg.tensor(t), 6).tolist() == TF.one_hot(torch.tensor(t), 6).tolist()
    empty = F.one_hot(gg.tensor(np.zeros((0, 2), np.int64)), 3)
    assert empty.shape == (0, 2, 3)
    assert F.one_hot(gg.tensor(2)).tolist() == [0, 0, 1]


def test_pad_integer_tensor_and_constant_value() -> None:
    out = F.pad(gg.tensor([1, 2]), (1, 1), value=2.5)
    ref = TF.pad(torch.tensor([1, 2]), (1, 1), value=2.5)
    assert out.dtype == gg.int64 and out.tolist() == ref.tolist()
    x, tx = pair(RNG.standard_normal((2, 3)))
    check_grads(F.pad(x, (-1, 2, 1, -1)), TF.pad(tx, (-1, 2, 1, -1)), [x], [tx])


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes_in_2d(mode) -> None:
    x, tx = pair(RNG.standard_normal((1, 2, 3, 4)))
    check_grads(F.pad(x, (2, 1, 0, 2), mode), TF.pad(tx, (2, 1, 0, 2), mode), [x], [tx])


# ---- attention ----------------------------------------------------------------------------------


def _qkv(batch=(2,), L=3, S=4, E=5, Ev=2):
    q = pair(RNG.standard_normal((*batch, L, E)))
    k = pair(RNG.standard_normal((*batch, S, E)))
    v = pair(RNG.standard_normal((*batch, S, Ev)))
    return q, k, v


def test_attention_fully_masked_rows_are_zero_like_torch() -> None:
    (q, tq), (k, tk), (v, tv) = _qkv()
    m = np.ones((3, 4), bool)
    m[1] = False
    out = F.scaled_dot_product_attention(q, k, v, gg.tensor(m))
    ref = TF.scaled_dot_product_attention(tq, tk, tv, torch.tensor(m))
    assert not np.any(out.detach().numpy()[:, 1])
    check_grads(out, ref, [q, k, v], [tq, tk, tv])


def test_attention_float_mask_with_minus_inf_and_causal() -> None:
    (q, tq), (k, tk), (v, tv) = _qkv(L=4, S=3)
    mask = RNG.standard_normal((4, 3))
    mask[2] = -math.inf
    m, tm = pair(mask)
    out = F.scaled_dot_product_attention(q, k, v, m, scale=0.7)
    ref = TF.scaled_dot_product_attention(tq, tk, tv, tm, scale=0.7)
    check_grads(out, ref, [q, k, v], [tq, tk, tv])
    (q, tq), (k, tk), (v, tv) = _qkv(L=4, S=3)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    ref = TF.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    check_grads(out, ref, [q, k, v], [tq, tk, tv])


def test_attention_grouped_query_heads() -> None:
    q, tq = pair(RNG.standard_normal((2, 4, 3, 5)))
    k, tk = pair(RNG.standard_normal((2, 2, 6, 5)))
    v, tv = pair(RNG.standard_normal((2, 2, 6, 3)))
    out = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    ref = TF.scaled_dot_product_attention(tq, tk, tv, enable_gqa=True)
    check_grads(out, ref, [q, k, v], [tq, tk, tv])


def test_attention_dropout_uses_the_seeded_generator() -> None:
    (q, _), (k, _), (v, _) = _qkv()
    gg.manual_seed(5)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    gg.manual_seed(5)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    c = F.scaled_dot_product_attention(q, k, v)
    a, b, c = (t.detach().numpy() for t in (a, b, c))
    assert np.array_equal(a, b) and not np.allclose(a, c)
    q32, k32, v32 = (gg.tensor(t.detach().numpy().astype(np.float32)) for t in (q, k, v))
    assert F.scaled_dot_product_attention(q32, k32, v32, is_causal=True).dtype == gg.float32


def test_float32_stays_float32_when_the_default_dtype_is_float64() -> None:
    gg.set_default_dtype(gg.float64)  # Python floats inside the ops must not promote float32
    x = gg.tensor(RNG.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    y = gg.tensor(RNG.uniform(0.1, 0.9, (3, 4)).astype(np.float32))
    t = gg.tensor([0, 1, -100])
    m = np.ones((3, 3), bool)
    m[1] = False
    outs = [
        F.cross_entropy(x, t, label_smoothing=0.1),
        F.kl_div(x, y, reduction="batchmean"),
        F.normalize(x * 0.0),
        F.binary_cross_entropy(y, y),
        F.scaled_dot_product_attention(x[:, :3], x[:, :3], x, gg.tensor(m)),
        F.scaled_dot_product_attention(x, x, x, is_causal=True),
        F.layer_norm(x, (4,)),
        F.gelu(x),
        F.threshold(x, 0.1, 2.0),
    ]
    for out in outs:
        assert out.dtype == gg.float32
        if out.requires_grad:
            out.sum().backward()
    assert x.grad.dtype == gg.float32


def test_norms_take_the_mean_numpy_takes_bit_for_bit():
    """``_mean_over`` skips NumPy's Python wrapper of ``np.mean`` but must give its very bits
    (the count is divided in as an intp with an unsafe cast, as NumPy's ``_mean`` does; a
    Python int would divide float32 in float32 and differ in the last bit)."""
    from glassgrad.nn.functional.norm import _mean_over

    rng = np.random.default_rng(0)
    for trial in range(600):
        nd = int(rng.integers(1, 4))
        shape = tuple(int(v) for v in rng.integers(1, 40, nd))
        x = (rng.standard_normal(shape) * 10 ** rng.uniform(-3, 3)).astype(
            (np.float32, np.float64)[trial % 2]
        )
        if trial % 3 == 0:
            x = x.T
        axes = -1 if trial % 5 == 0 else tuple(sorted(rng.choice(nd, 1 + trial % nd, False)))
        ours, numpy_mean = _mean_over(x, axes), np.mean(x, axis=axes, keepdims=True)
        assert ours.dtype == numpy_mean.dtype and np.array_equal(ours, numpy_mean), (shape, axes)
    empty = np.zeros((0, 3), np.float32)
    with pytest.warns(RuntimeWarning):  # NumPy's own path: "Mean of empty slice"
        assert np.isnan(_mean_over(empty, 0)).all()


def test_functional_relu_takes_inplace_like_torch():
    """``F.relu(x, inplace=True)`` (pytorch-beginner's CBOW): x changes, the graph records
    ReluBackward0 in x's place, gradients as PyTorch's; a leaf that requires grad is refused."""
    data = np.array([[-1.5, 2.0, 0.5], [3.0, -0.25, -4.0]])
    seen = []
    for lib in (F, torch.nn.functional):
        top = lib.__name__.split(".")[0]
        mod = gg if top == "glassgrad" else torch
        w = mod.tensor(data, requires_grad=True)
        h = w * 2
        out = lib.relu(h, inplace=True)
        assert out is h
        (out * mod.tensor(data)).sum().backward()
        seen.append((h.detach().numpy(), h.grad_fn.name(), w.grad.numpy()))
        x = mod.tensor(data)
        lib.relu(x, True)
        assert x.min().item() == 0.0
        assert lib.relu(mod.tensor(data)).min().item() == 0.0 and mod.tensor(data).min() < 0
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            lib.relu(mod.tensor(data, requires_grad=True), inplace=True)
    np.testing.assert_array_equal(seen[0][0], seen[1][0])
    assert seen[0][1] == seen[1][1] == "ReluBackward0"
    np.testing.assert_array_equal(seen[0][2], seen[1][2])


def test_implicit_softmax_dim_warnings_point_at_the_callers_line():
    x = gg.ones(2, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.log_softmax(x)
        F.softmax(x)
        F.softmin(x)
    assert [w.filename for w in caught] == [__file__] * 3
    assert all("Implicit dimension choice" in str(w.message) for w in caught)


def test_hardshrink_zeroes_are_positive_and_nan_passes_through() -> None:
    """PyTorch writes +0.0 below the threshold (printed ``0.``, not ``-0.``) and keeps NaN."""
    data = [-0.2, 0.7, -1.5, 0.1, float("nan")]
    ours = gg.nn.functional.hardshrink(gg.tensor(data), 0.5)
    theirs = torch.nn.functional.hardshrink(torch.tensor(data), 0.5)
    np.testing.assert_array_equal(np.signbit(ours._data), np.signbit(theirs.numpy()))
    np.testing.assert_array_equal(ours._data, theirs.numpy())


def test_kl_div_of_a_negative_target_is_nan_as_in_pytorch() -> None:
    """xlogy(t, t) is NaN for t < 0 (only t == 0 gives 0): an invalid target must not give a
    finite loss."""
    x, t = [[-1.0, -0.5, -2.0]], [[0.5, 0.0, -0.2]]
    for reduction in ("none", "sum", "batchmean"):
        ours = gg.nn.functional.kl_div(gg.tensor(x), gg.tensor(t), reduction=reduction)
        theirs = torch.nn.functional.kl_div(torch.tensor(x), torch.tensor(t), reduction=reduction)
        np.testing.assert_allclose(ours._data, theirs.numpy(), rtol=1e-6, equal_nan=True)
    assert np.isnan(gg.nn.functional.kl_div(gg.tensor(x), gg.tensor(t), reduction="sum").item())


@pytest.mark.parametrize("batched", [True, False])
def test_multi_head_attention_forward_as_clip_pools_and_as_torch(batched) -> None:
    """CLIP's AttentionPool2d: the mean token attends over all tokens through separate q/k/v
    projections and one packed bias; then packed weights with masks and the weights returned."""
    E, H, S, N = 8, 2, 5, 3
    shape = (S, N, E) if batched else (S, E)
    x = RNG.standard_normal(shape)
    w = [RNG.standard_normal((E, E)) * 0.3 for _ in range(4)]
    b = RNG.standard_normal(3 * E) * 0.1, RNG.standard_normal(E) * 0.1
    results = []
    for lib, fn in ((gg, F), (torch, TF)):
        xs, ws, bs = lib.tensor(x), [lib.tensor(a, requires_grad=True) for a in w], b
        in_bias, out_bias = (lib.tensor(a, requires_grad=True) for a in bs)
        out, weights = fn.multi_head_attention_forward(
            query=xs[:1], key=xs, value=xs, embed_dim_to_check=E, num_heads=H,
            q_proj_weight=ws[0], k_proj_weight=ws[1], v_proj_weight=ws[2],
            in_proj_weight=None, in_proj_bias=in_bias, bias_k=None, bias_v=None,
            add_zero_attn=False, dropout_p=0, out_proj_weight=ws[3], out_proj_bias=out_bias,
            use_separate_proj_weight=True, training=True, need_weights=False,
        )  # fmt: skip
        out.pow(2).sum().backward()
        mask = lib.tensor(np.triu(np.ones((S, S), bool), 1))
        pad = lib.tensor(np.arange(S) >= S - 1).expand(N, S) if batched else None
        packed = lib.cat([a.detach() for a in ws[:3]])
        out2, weights2 = fn.multi_head_attention_forward(
            xs, xs, xs, E, H, packed, in_bias.detach(), None, None, False, 0.0,
            ws[3].detach(), out_bias.detach(), attn_mask=mask, key_padding_mask=pad,
        )  # fmt: skip
        results.append([out, *(a.grad for a in ws), in_bias.grad, out2, weights2])
        assert weights is None
    for ours, theirs in zip(*results):
        assert tuple(ours.shape) == tuple(theirs.shape)
        # (the key bias gets no gradient: softmax ignores a shift shared by every key)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), 1e-10, 1e-12)


def test_multi_head_attention_forward_errors_name_the_problem() -> None:
    x, w = gg.zeros(2, 1, 4), gg.zeros(12, 4)
    args = (None, None, False, 0.0, gg.zeros(4, 4), None)
    with pytest.raises(AssertionError, match="expecting embedding dimension of 6, but got 4"):
        F.multi_head_attention_forward(x, x, x, 6, 2, w, None, *args)
    with pytest.raises(AssertionError, match="in_proj_weight is None"):
        F.multi_head_attention_forward(x, x, x, 4, 2, None, None, *args)
    with pytest.raises(AssertionError, match="q_proj_weight, k_proj_weight or v_proj_weight"):
        F.multi_head_attention_forward(x, x, x, 4, 2, w, None, *args, use_separate_proj_weight=True)
