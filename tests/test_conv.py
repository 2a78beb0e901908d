"""Convolution and pooling beyond the registry sweep: every option combination against torch,
error messages, tie routing and indices of max pooling, and derivatives of order two and three."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F

R = np.random.default_rng(0)
TOL = {"rtol": 1e-10, "atol": 1e-10}


def _both(*arrays, requires_grad=True):
    ours = [None if a is None else gg.tensor(a, requires_grad=requires_grad) for a in arrays]
    theirs = [None if a is None else torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    return ours, theirs


def _compare(fn_ours, fn_theirs, arrays, tol=TOL):
    """Forward values and every input's gradient (for a random cotangent) against torch."""
    ours, theirs = _both(*arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's note on even kernels with 'same'
        want = fn_theirs(*theirs)
    got = fn_ours(*ours)
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got._data, want.detach().numpy(), **tol)
    v = R.standard_normal(tuple(want.shape))
    got.backward(gg.tensor(v))
    want.backward(torch.tensor(v))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if b is not None:
            np.testing.assert_allclose(a.grad._data, b.grad.numpy(), err_msg=f"input {i}", **tol)


@pytest.fixture(params=["auto", "batched"])
def conv_mode(request, monkeypatch):
    """Runs a test as the shapes choose (small: per-image products), then with every im2col
    convolution's batch merged into one product (the large shapes' way)."""
    from glassgrad.nn.functional import conv

    if request.param == "batched":
        monkeypatch.setattr(conv, "SMALL_PRODUCT", 0)
    conv._conv_spec.cache_clear()
    yield request.param
    conv._conv_spec.cache_clear()


# ---- convolution: option combinations ---------------------------------------------------------

CONV2D_OPTIONS = [
    dict(stride=s, padding=p, dilation=d, groups=g)
    for s, p, d, g in itertools.product(
        [1, 2, (2, 1), [1, 3]], [0, 1, (1, 0), "valid", "same"], [1, 2, (1, 2)], [1, 2]
    )
    if not (p == "same" and s != 1)
]


@pytest.mark.parametrize("opts", CONV2D_OPTIONS, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_options_match_torch(opts, bias, conv_mode) -> None:
    g = opts["groups"]
    x = R.standard_normal((2, 2 * g, 6, 5))
    w = R.standard_normal((3 * g, 2, 3, 2))
    b = R.standard_normal(3 * g) if bias else None
    _compare(
        lambda x, w, b: F.conv2d(x, w, b, **opts),
        lambda x, w, b: TF.conv2d(x, w, b, **opts),
        [x, w, b],
    )


@pytest.mark.parametrize(
    "opts",
    [
        dict(),
        dict(stride=2, padding=1),
        dict(padding="same", dilation=2),
        dict(padding="same", groups=2),
        dict(stride=3, dilation=2, groups=2),
    ],
    ids=str,
)
def test_conv1d_options_match_torch(opts, conv_mode) -> None:
    g = opts.get("groups", 1)
    arrays = [R.standard_normal((2, 2 * g, 9)), R.standard_normal((2 * g, 2, 3)), None]
    arrays[2] = R.standard_normal(2 * g)
    _compare(
        lambda x, w, b: F.conv1d(x, w, b, **opts),
        lambda x, w, b: TF.conv1d(x, w, b, **opts),
        arrays,
    )


def test_conv3d_matches_torch(conv_mode) -> None:
    arrays = [R.standard_normal((2, 2, 4, 5, 3)), R.standard_normal((4, 1, 2, 3, 2))]
    opts = dict(stride=(1, 2, 1), padding=(1, 0, 1), dilation=(2, 1, 1), groups=2)
    _compare(lambda x, w: F.conv3d(x, w, **opts), lambda x, w: TF.conv3d(x, w, **opts), arrays)


def test_unbatched_conv_matches_torch() -> None:
    arrays = [R.standard_normal((2, 5, 5)), R.standard_normal((3, 2, 3, 3))]
    _compare(
        lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1), arrays
    )


def test_conv_float32_stays_float32_and_matches_torch() -> None:
    x = R.standard_normal((4, 3, 7, 7)).astype(np.float32)
    w = R.standard_normal((5, 3, 3, 3)).astype(np.float32)
    got = F.conv2d(gg.tensor(x), gg.tensor(w), stride=2, padding=1)
    want = TF.conv2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got._data, want.numpy(), rtol=1e-4, atol=1e-5)


def test_conv_output_is_contiguous_and_input_without_grad_gets_none() -> None:
    x = gg.tensor(R.standard_normal((3, 1, 8, 8)).astype(np.float32))
    w = gg.tensor(R.standard_normal((16, 1, 3, 3)).astype(np.float32), requires_grad=True)
    out = F.conv2d(x, w, padding=1)
    assert out._data.flags["C_CONTIGUOUS"]
    out.sum().backward()
    assert x.grad is None and w.grad is not None and w.grad.dtype == np.float32


def test_backward_twice_with_retain_graph_gives_the_same_gradients(conv_mode) -> None:
    # the first backward drops the cached im2col matrix; the second must recompute it
    (x, w), _ = _both(R.standard_normal((2, 2, 5, 5)), R.standard_normal((3, 2, 3, 3)))
    out = (F.conv2d(x, w, stride=2, padding=1) ** 2).sum()
    out.backward(retain_graph=True)
    first = w.grad._data.copy(), x.grad._data.copy()
    w.grad = x.grad = None
    out.backward()
    np.testing.assert_allclose(w.grad._data, first[0], rtol=1e-12)
    np.testing.assert_allclose(x.grad._data, first[1], rtol=1e-12)


# ---- convolution: higher derivatives against torch --------------------------------------------


def _higher(lib, conv, x, w, order):
    """Alternate d/dx and d/dw of sum(conv(x, w)**3), squaring in between, ``order`` times."""
    f = (conv(lib, x, w) ** 3).sum()
    wrt = [x, w]
    for k in range(order):
        (g,) = lib.autograd.grad(f, [wrt[k % 2]], create_graph=k < order - 1)
        f = (g * g).sum()
    return g


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize(
    "opts", [dict(stride=2, padding=1), dict(padding="same", dilation=2, groups=2)], ids=str
)
def test_conv_higher_derivatives_match_torch(opts, order, conv_mode) -> None:
    x, w = R.standard_normal((2, 4, 5, 5)), R.standard_normal((4, 4 // opts.get("groups", 1), 2, 3))
    (gx, gw), (tx, tw) = _both(x, w)

    def conv(lib, x, w):
        return (F if lib is gg else TF).conv2d(x, w, **opts)

    got = _higher(gg, conv, gx, gw, order)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = _higher(torch, conv, tx, tw, order)
    np.testing.assert_allclose(got._data, want.numpy(), rtol=1e-9, atol=1e-9)


# ---- convolution: the depthwise kernels, image chunks, wider channels, odd layouts ------------

DEPTHWISE = [  # (input shape, kernel, kwargs): stride 1, one channel per group
    ((2, 3, 6, 5), (3, 3), dict(padding=1)),
    ((2, 4, 7, 6), (3, 2), dict(padding="same", dilation=2)),
    ((1, 2, 5, 5), (2, 2), dict(padding=0)),
    ((3, 2, 6, 4), (3, 3), dict(padding=(2, 1), dilation=(1, 2))),
    ((2, 5, 4, 4), (1, 1), dict()),
    ((0, 2, 5, 5), (3, 3), dict(padding=1)),
]


@pytest.fixture(params=["depthwise", "im2col"])
def depthwise_kernels(request, monkeypatch):
    """Runs a test with the depthwise kernels where they fit, then with im2col everywhere."""
    from glassgrad.nn.functional import _depthwise, conv

    if request.param == "im2col":
        monkeypatch.setattr(_depthwise, "fits", lambda *args: False)
    conv._conv_spec.cache_clear()
    yield request.param
    conv._conv_spec.cache_clear()


@pytest.mark.parametrize("xs,ks,opts", DEPTHWISE, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_depthwise_conv2d_matches_torch(xs, ks, opts, bias, depthwise_kernels, conv_mode) -> None:
    c = xs[1]
    x, w = R.standard_normal(xs), R.standard_normal((c, 1, *ks))
    b = R.standard_normal(c) if bias else None
    _compare(
        lambda x, w, b: F.conv2d(x, w, b, groups=c, **opts),
        lambda x, w, b: TF.conv2d(x, w, b, groups=c, **opts),
        [x, w, b],
    )


def test_depthwise_conv1d_conv3d_and_multiplier_match_torch(depthwise_kernels, conv_mode) -> None:
    arrays = [R.standard_normal((2, 3, 9)), R.standard_normal((3, 1, 4)), R.standard_normal(3)]
    _compare(
        lambda x, w, b: F.conv1d(x, w, b, padding="same", dilation=2, groups=3),
        lambda x, w, b: TF.conv1d(x, w, b, padding="same", dilation=2, groups=3),
        arrays,
    )
    arrays = [R.standard_normal((2, 2, 4, 5, 3)), R.standard_normal((2, 1, 2, 3, 2))]
    _compare(
        lambda x, w: F.conv3d(x, w, padding=1, groups=2),
        lambda x, w: TF.conv3d(x, w, padding=1, groups=2),
        arrays,
    )
    # two outputs per channel (a multiplier) and strided depthwise take the im2col kernels
    for out_channels, kw in [(6, dict(padding=1)), (3, dict(stride=2, padding=1))]:
        arrays = [R.standard_normal((2, 3, 6, 6)), R.standard_normal((out_channels, 1, 3, 3))]
        _compare(
            lambda x, w, kw=kw: F.conv2d(x, w, groups=3, **kw),
            lambda x, w, kw=kw: TF.conv2d(x, w, groups=3, **kw),
            arrays,
        )


@pytest.mark.parametrize("order", [2, 3])
def test_depthwise_higher_derivatives_match_torch(order, depthwise_kernels) -> None:
    x, w = R.standard_normal((2, 3, 5, 6)), R.standard_normal((3, 1, 3, 2))
    (gx, gw), (tx, tw) = _both(x, w)

    def conv(lib, x, w):
        return (F if lib is gg else TF).conv2d(x, w, padding=(1, 0), dilation=(1, 2), groups=3)

    got = _higher(gg, conv, gx, gw, order)
    want = _higher(torch, conv, tx, tw, order)
    np.testing.assert_allclose(got._data, want.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "opts",
    [dict(stride=2, padding=1), dict(padding=1, dilation=2, groups=2), dict(stride=(1, 3))],
    ids=str,
)
def test_input_gradient_in_image_chunks_matches_torch(opts, monkeypatch, conv_mode) -> None:
    """col2im a few images at a time (here one image each): the same gradients, also for the
    transposed convolution, whose forward is that col2im."""
    from glassgrad.nn.functional import conv

    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
    g = opts.get("groups", 1)
    x, w, b = R.standard_normal((3, 2 * g, 7, 8)), R.standard_normal((4, 2, 4, 3)), None
    _compare(lambda x, w: F.conv2d(x, w, **opts), lambda x, w: TF.conv2d(x, w, **opts), [x, w])
    x, b = R.standard_normal((3, 4, 4, 5)), R.standard_normal(2 * g)
    _compare(
        lambda x, w, b: F.conv_transpose2d(x, w, b, **opts),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, **opts),
        [x, w, b],
    )


CONV_TRANSPOSE_OPTIONS = [
    dict(stride=s, padding=p, output_padding=op, dilation=d, groups=g)
    for s, p, op, d, g in itertools.product([1, 2, 3], [0, 1], [0, 1], [1, 2], [1, 2])
    if op < s or op < d
]


@pytest.mark.parametrize("opts", CONV_TRANSPOSE_OPTIONS, ids=str)
def test_conv_transpose2d_options_match_torch(opts, conv_mode) -> None:
    g = opts["groups"]
    x, w = R.standard_normal((2, 2 * g, 4, 3)), R.standard_normal((2 * g, 3, 3, 2))
    _compare(
        lambda x, w, b: F.conv_transpose2d(x, w, b, **opts),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, **opts),
        [x, w, R.standard_normal(3 * g)],
    )


@pytest.mark.parametrize("stride", [1, 2, (1, 3)], ids=str)
@pytest.mark.parametrize("groups", [1, 2])
def test_pointwise_conv_and_conv_transpose_match_torch(stride, groups) -> None:
    """1x1 kernels without padding read the input as their own columns (no im2col)."""
    x, b = R.standard_normal((3, 4, 7, 6)), R.standard_normal(4)
    w = R.standard_normal((4, 4 // groups, 1, 1))
    kw = dict(stride=stride, groups=groups)
    _compare(
        lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw), [x, w, b]
    )
    if stride == 2:
        kw["output_padding"] = 1
    _compare(
        lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw),
        [x, w, b],
    )
    (gx, gw), (tx, tw) = _both(x, w)

    def conv(lib, x, w):
        return (F if lib is gg else TF).conv2d(x, w, stride=stride, groups=groups)

    got, want = _higher(gg, conv, gx, gw, 3), _higher(torch, conv, tx, tw, 3)
    np.testing.assert_allclose(got._data, want.numpy(), rtol=1e-9, atol=1e-9)


GAN_RESNET = [  # small versions of the benchmark's shapes, float32 (bench/conv_shapes.py)
    ("conv", (4, 3, 16, 16), (16, 3, 4, 4), dict(stride=2, padding=1)),
    ("conv", (4, 16, 8, 8), (32, 16, 4, 4), dict(stride=2, padding=1)),
    ("convT", (4, 32, 4, 4), (32, 16, 4, 4), dict(stride=2, padding=1)),
    ("convT", (4, 16, 8, 8), (16, 3, 4, 4), dict(stride=2, padding=1)),
    ("conv", (3, 16, 8, 8), (16, 16, 3, 3), dict(padding=1)),
    ("conv", (3, 16, 8, 8), (32, 16, 1, 1), dict(stride=2)),
    ("conv", (3, 16, 8, 8), (16, 1, 3, 3), dict(padding=1, groups=16)),
]


@pytest.mark.parametrize("kind,xs,ws,opts", GAN_RESNET, ids=str)
def test_gan_and_resnet_shapes_float32_match_torch(kind, xs, ws, opts) -> None:
    x, w = R.standard_normal(xs).astype(np.float32), R.standard_normal(ws).astype(np.float32)
    b = R.standard_normal(ws[1] if kind == "convT" else ws[0]).astype(np.float32)
    ours, theirs = (
        (F.conv2d, TF.conv2d) if kind == "conv" else (F.conv_transpose2d, TF.conv_transpose2d)
    )
    (gx, gw, gb), (tx, tw, tb) = _both(x, w, b)
    got, want = ours(gx, gw, gb, **opts), theirs(tx, tw, tb, **opts)
    assert got.dtype == np.float32 and got._data.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(got._data, want.detach().numpy(), rtol=1e-4, atol=1e-4)
    v = R.standard_normal(tuple(want.shape)).astype(np.float32)
    got.backward(gg.tensor(v))
    want.backward(torch.tensor(v))
    for a, t in [(gx, tx), (gw, tw), (gb, tb)]:
        assert a.grad.dtype == np.float32
        np.testing.assert_allclose(a.grad._data, t.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("depthwise", [False, True])
def test_conv_of_non_contiguous_input_matches_torch(depthwise, conv_mode) -> None:
    base = R.standard_normal((6, 3, 9, 8))
    groups = 6 if depthwise else 2
    w = R.standard_normal((6, 6 // groups, 3, 3))
    (gbase, gw), (tbase, tw) = _both(base, w)
    # channels and batch swapped, every other row: strides no layout has
    got = F.conv2d(gbase.transpose(0, 1)[:, :, ::2], gw, padding=1, groups=groups)
    want = TF.conv2d(tbase.transpose(0, 1)[:, :, ::2], tw, padding=1, groups=groups)
    np.testing.assert_allclose(got._data, want.detach().numpy(), **TOL)
    v = R.standard_normal(tuple(want.shape))
    got.backward(gg.tensor(v))
    want.backward(torch.tensor(v))
    np.testing.assert_allclose(gbase.grad._data, tbase.grad.numpy(), **TOL)
    np.testing.assert_allclose(gw.grad._data, tw.grad.numpy(), **TOL)


# ---- convolution: errors name the op, the shapes and what was expected ------------------------

CONV_ERRORS = [
    # (input shape, weight shape, kwargs, words in our message)
    ((2, 2, 5, 5), (4, 3, 3, 3), {}, ["conv2d", "to have 3 channels, but got 2 channels"]),
    ((2, 2, 2, 2), (4, 2, 3, 3), {}, ["conv2d", "(2 x 2)", "(3 x 3)", "can't be greater"]),
    ((2, 2, 3, 3), (4, 2, 2, 2), {"dilation": 3}, ["padded input size", "(4 x 4)"]),
    ((2, 4, 5, 5), (3, 2, 3, 3), {"groups": 2}, ["groups=2", "divisible by 2", "[3, 2, 3, 3]"]),
    ((2, 3, 5, 5), (4, 1, 3, 3), {"groups": 2}, ["groups=2", "2 channels, but got 3"]),
    ((2, 3, 5, 5), (4, 1, 3, 3), {"groups": 0}, ["non-positive groups"]),
    ((2, 2, 5, 5), (4, 2, 3, 3), {"stride": 2, "padding": "same"}, ["'same'", "strided"]),
    ((2, 2, 5, 5), (4, 2, 3, 3), {"padding": "full"}, ["Invalid padding string: 'full'"]),
    ((2, 2, 5, 5), (4, 2, 3, 3), {"padding": -1}, ["negative padding"]),
    ((2, 2, 5, 5), (4, 2, 3, 3), {"stride": 0}, ["non-positive stride"]),
    ((2, 2, 5, 5), (4, 2, 3, 3), {"dilation": 0}, ["non-positive dilation"]),
    ((2, 2, 5, 5), (4, 2, 3, 3), {"stride": (1, 1, 1)}, ["stride", "2 values"]),
    ((5, 5), (4, 2, 3, 3), {}, ["3D (unbatched) or 4D (batched)", "[5, 5]"]),
    ((1, 1, 2, 5, 5), (4, 2, 3, 3), {}, ["3D (unbatched) or 4D (batched)"]),
    ((2, 2, 5, 5), (4, 2, 3), {}, ["4-D weight", "[4, 2, 3]"]),
]


@pytest.mark.parametrize("xs,ws,kw,words", CONV_ERRORS)
def test_conv2d_errors_match_torch(xs, ws, kw, words) -> None:
    (x, w), (tx, tw) = _both(R.standard_normal(xs), R.standard_normal(ws), requires_grad=False)
    with pytest.raises(RuntimeError):
        TF.conv2d(tx, tw, **kw)
    with pytest.raises(RuntimeError) as err:
        F.conv2d(x, w, **kw)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


def test_conv_bias_and_dtype_errors() -> None:
    x, w = gg.ones(2, 2, 5, 5), gg.ones(4, 2, 3, 3)
    with pytest.raises(RuntimeError, match=r"bias to be 1-dimensional with 4 elements.*\[3\]"):
        F.conv2d(x, w, gg.ones(3))
    with pytest.raises(RuntimeError, match=r"Input type.*weight type.*should be the same"):
        F.conv2d(x, w.double())
    with pytest.raises(RuntimeError, match=r"Input type.*bias type.*should be the same"):
        F.conv2d(x, w, gg.ones(4, dtype=gg.float64))
    with pytest.raises(RuntimeError, match=r"conv1d.*to have 3 channels.*got 2"):
        F.conv1d(gg.ones(2, 2, 5), gg.ones(4, 3, 3))


# ---- max pooling: ties, indices, options -------------------------------------------------------


@pytest.mark.parametrize(
    "opts",
    [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=2, stride=1)],
    ids=str,
)
def test_max_pool_ties_route_to_the_first_maximum_like_torch(opts) -> None:
    x = np.ones((1, 2, 4, 5))  # every window is all ties; overlapping windows add up
    x[0, 1, 1:3, 1:4] = 2.0
    _compare(lambda x: F.max_pool2d(x, **opts), lambda x: TF.max_pool2d(x, **opts), [x])


MAX_POOL_OPTIONS = [
    dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=c)
    for k, s, p, d, c in itertools.product(
        [2, 3, (2, 3)], [None, 1, 2, (1, 2)], [0, 1], [1, 2], [False, True]
    )
]


@pytest.mark.parametrize("opts", MAX_POOL_OPTIONS, ids=str)
def test_max_pool2d_values_indices_and_gradients_match_torch(opts) -> None:
    x = R.permutation(np.linspace(-1, 1, 2 * 2 * 7 * 6)).reshape(2, 2, 7, 6)
    (gx,), (tx,) = _both(x)
    got, idx = F.max_pool2d(gx, return_indices=True, **opts)
    want, tidx = TF.max_pool2d(tx, return_indices=True, **opts)
    np.testing.assert_array_equal(got._data, want.detach().numpy())
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx._data, tidx.numpy())
    _compare(lambda x: F.max_pool2d(x, **opts), lambda x: TF.max_pool2d(x, **opts), [x])


def test_max_pool1d_and_unbatched_indices_match_torch() -> None:
    x = R.permutation(np.linspace(-1, 1, 3 * 11)).reshape(3, 11)
    got, idx = F.max_pool1d(gg.tensor(x), 3, 2, 1, return_indices=True, ceil_mode=True)
    want, tidx = TF.max_pool1d(torch.tensor(x), 3, 2, 1, return_indices=True, ceil_mode=True)
    np.testing.assert_array_equal(got._data, want.numpy())
    np.testing.assert_array_equal(idx._data, tidx.numpy())


def test_max_pool_padding_only_window_is_minus_inf_with_torch_index() -> None:
    x = gg.tensor([[[-1.5]]], requires_grad=True)
    out, idx = F.max_pool1d(x, 2, stride=2, padding=1, dilation=2, return_indices=True)
    want, tidx = TF.max_pool1d(torch.tensor([[[-1.5]]]), 2, 2, 1, 2, return_indices=True)
    np.testing.assert_array_equal(out._data, want.numpy())
    np.testing.assert_array_equal(idx._data, tidx.numpy())
    out.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[[0.0]]])


def test_max_pool_double_backward_matches_torch() -> None:
    x = R.permutation(np.linspace(-1, 1, 2 * 2 * 5 * 5)).reshape(2, 2, 5, 5)
    (gx,), (tx,) = _both(x)
    results = []
    for lib, f, t in ((gg, F, gx), (torch, TF, tx)):
        (g,) = lib.autograd.grad((f.max_pool2d(t, 3, 1, 1) ** 3).sum(), [t], create_graph=True)
        (gg2,) = lib.autograd.grad((g**2).sum(), [t])
        results.append(gg2._data if lib is gg else gg2.numpy())
    np.testing.assert_allclose(results[0], results[1], **TOL)


POOL_ERRORS = [
    (lambda f, x: f.max_pool2d(x, 3, padding=2), "pad should be at most half"),
    (lambda f, x: f.max_pool2d(x, 3, stride=1, padding=2, dilation=2), "pad should be at most"),
    (lambda f, x: f.max_pool2d(x[:, :, :2, :2], 3), "Output size is too small"),
    (lambda f, x: f.max_pool2d(x, 2, stride=0), "stride"),
    (lambda f, x: f.max_pool2d(x[0, 0], 2), "3D or 4D"),
    (lambda f, x: f.avg_pool2d(x, 3, padding=2), "pad should be at most half"),
    (lambda f, x: f.avg_pool2d(x[:, :, :2, :2], 3), "Output size is too small"),
    (lambda f, x: f.adaptive_avg_pool2d(x, (1, 2, 3)), "output_size must be 2"),
]


@pytest.mark.parametrize("call,words", POOL_ERRORS)
def test_pooling_errors_match_torch(call, words) -> None:
    a = R.standard_normal((2, 2, 5, 5))
    with pytest.raises(RuntimeError):
        call(TF, torch.tensor(a))
    with pytest.raises(RuntimeError, match=words):
        call(F, gg.tensor(a))


def test_adaptive_pool_needs_3d_or_4d_input() -> None:
    with pytest.raises((RuntimeError, ValueError)):
        TF.adaptive_avg_pool2d(torch.ones(5, 5), 2)
    with pytest.raises(RuntimeError, match=r"3D or 4D tensor, but got \[5, 5\]"):
        F.adaptive_avg_pool2d(gg.ones(5, 5), 2)


# ---- average pooling ---------------------------------------------------------------------------

AVG_POOL_OPTIONS = [
    dict(kernel_size=k, stride=s, padding=p, ceil_mode=c, count_include_pad=i, divisor_override=dv)
    for k, s, p, c, i, dv in itertools.product(
        [2, 3, (3, 2)], [None, 1, 2], [0, 1], [False, True], [True, False], [None, 5]
    )
]


@pytest.mark.parametrize("opts", AVG_POOL_OPTIONS, ids=str)
def test_avg_pool2d_options_match_torch(opts) -> None:
    x = R.standard_normal((2, 2, 6, 7))
    _compare(lambda x: F.avg_pool2d(x, **opts), lambda x: TF.avg_pool2d(x, **opts), [x])


def test_avg_pool1d_and_unbatched_match_torch() -> None:
    x = R.standard_normal((2, 9))
    for opts in (dict(kernel_size=3), dict(kernel_size=2, stride=1, padding=1, ceil_mode=True)):
        _compare(
            lambda x, o=opts: F.avg_pool1d(x, **o), lambda x, o=opts: TF.avg_pool1d(x, **o), [x]
        )


def test_avg_pool_double_backward_matches_torch() -> None:
    x = R.standard_normal((2, 2, 5, 5))
    (gx,), (tx,) = _both(x)
    results = []
    for lib, f, t in ((gg, F, gx), (torch, TF, tx)):
        out = f.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False)
        (g,) = lib.autograd.grad((out**3).sum(), [t], create_graph=True)
        (g2,) = lib.autograd.grad((g**2).sum(), [t])
        results.append(g2._data if lib is gg else g2.numpy())
    np.testing.assert_allclose(results[0], results[1], **TOL)


# ---- adaptive average pooling ------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 9, (2, 5), (None, 3), (4, None), (5, 1)], ids=str)
def test_adaptive_avg_pool2d_matches_torch(size) -> None:
    x = R.standard_normal((2, 3, 7, 5))
    _compare(
        lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size), [x]
    )


@pytest.mark.parametrize("size", [1, 3, 4, 8, 11])
def test_adaptive_avg_pool1d_matches_torch(size) -> None:
    x = R.standard_normal((2, 3, 8))
    _compare(
        lambda x: F.adaptive_avg_pool1d(x, size), lambda x: TF.adaptive_avg_pool1d(x, size), [x]
    )


def test_adaptive_avg_pool_keeps_float32_and_unbatched_shape() -> None:
    x = R.standard_normal((3, 7, 5)).astype(np.float32)
    got = F.adaptive_avg_pool2d(gg.tensor(x), (3, 2))
    want = TF.adaptive_avg_pool2d(torch.tensor(x), (3, 2))
    assert got.dtype == np.float32 and got.shape == tuple(want.shape)
    np.testing.assert_allclose(got._data, want.numpy(), rtol=1e-5, atol=1e-6)
