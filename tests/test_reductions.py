"""Reductions beyond the sweep: tie routing, (values, indices) results, errors, dtypes, zeros,
non-differentiable reductions and NumPy dispatch, each checked against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg

TIES = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, 0.5, 0.5, 0.5], [-1.0, 4.0, -1.0, 4.0]])
RNG = np.random.default_rng(1234)


def pair(data, requires_grad=True, dtype=np.float64):
    """The same values as a glassgrad tensor and a torch tensor."""
    a = np.asarray(data, dtype=dtype)
    ours = gg.tensor(a)
    theirs = torch.tensor(a)
    if requires_grad:
        ours.requires_grad_(True)
        theirs.requires_grad_(True)
    return ours, theirs


def close(ours, theirs, rtol=1e-10, atol=1e-12):
    want = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    got = ours.detach()._data if isinstance(ours, gg.Tensor) else np.asarray(ours)
    assert got.shape == want.shape, f"shape {got.shape} vs {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def grads_match(f, data, seed=0, rtol=1e-10, atol=1e-12):
    """Run ``f(lib, x)`` in both libraries, backward a random cotangent, compare value and grad."""
    x, xt = pair(data)
    out, ref = f(gg, x), f(torch, xt)
    close(out, ref, rtol, atol)
    v = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    out.backward(gg.tensor(v))
    ref.backward(torch.tensor(v))
    if xt.grad is None:  # torch leaves the gradient undefined where it is zero (norm p=0)
        assert x.grad is None or not np.any(x.grad._data)
    else:
        close(x.grad, xt.grad, rtol, atol)


def second_order_match(f, data, rtol=1e-9, atol=1e-12):
    """Hessian-vector products of ``sum(f(x) * v)`` agree with PyTorch's."""
    x, xt = pair(data)
    ref = f(torch, xt)
    v = np.random.default_rng(3).standard_normal(tuple(ref.shape))
    u = np.random.default_rng(4).standard_normal(np.shape(data))
    (g,) = gg.autograd.grad((f(gg, x) * gg.tensor(v)).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad((ref * torch.tensor(v)).sum(), xt, create_graph=True)
    close(g, gt, rtol, atol)
    (h,) = gg.autograd.grad((g * gg.tensor(u)).sum(), x)
    (ht,) = torch.autograd.grad((gt * torch.tensor(u)).sum(), xt)
    close(h, ht, rtol, atol)


# ---- max / min: results, indices, ties -----------------------------------------------------------


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_dim_returns_values_and_indices_like_torch(op, dim, keepdim):
    x, xt = pair(TIES)
    res = getattr(gg, op)(x, dim, keepdim)
    ref = getattr(torch, op)(xt, dim, keepdim)
    values, indices = res  # tuple unpacking
    assert res.values is values and res.indices is indices  # attribute access
    assert res[0] is values and len(res) == 2
    close(values, ref.values)
    np.testing.assert_array_equal(indices._data, ref.indices.numpy())  # first occurrence on ties
    assert indices.dtype == np.int64 and not indices.requires_grad
    # the whole gradient goes to the returned index, ties or not
    v = RNG.standard_normal(tuple(ref.values.shape))
    values.backward(gg.tensor(v))
    ref.values.backward(torch.tensor(v))
    close(x.grad, xt.grad)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_tensor_methods_and_keywords(op):
    x, xt = pair(TIES, requires_grad=False)
    close(getattr(x, op)(), getattr(xt, op)())
    close(getattr(x, op)(dim=1).values, getattr(xt, op)(dim=1).values)
    close(getattr(x, op)(1, keepdim=True).indices, getattr(xt, op)(1, keepdim=True).indices)


@pytest.mark.parametrize("op", ["amax", "amin"])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1), (-1,), ()])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin_share_gradient_among_ties(op, dim, keepdim):
    def f(lib, x):
        if dim is None:
            return getattr(lib, op)(x, keepdim=keepdim)
        return getattr(lib, op)(x, dim, keepdim)

    grads_match(f, TIES)


@pytest.mark.parametrize("op", ["max", "min", "median"])
def test_full_reductions_share_gradient_among_ties(op):
    grads_match(lambda lib, x: getattr(lib, op)(x), TIES)
    grads_match(lambda lib, x: getattr(lib, op)(x), np.full((2, 3), 1.5))


NAN = float("nan")


@pytest.mark.parametrize(
    "f",
    [
        lambda lib, x: lib.max(x),
        lambda lib, x: lib.min(x),
        lambda lib, x: lib.median(x),
        lambda lib, x: lib.max(x, 1).values,
        lambda lib, x: lib.min(x, 0).values,
        lambda lib, x: lib.median(x, 1).values,
        lambda lib, x: lib.logsumexp(x, 1),
        lambda lib, x: lib.sum(x, 0),
    ],
)
def test_nan_propagates_and_takes_the_gradient_like_torch(f):
    data = np.array([[1.0, NAN, 3.0, NAN], [2.0, 1.0, 0.0, 5.0], [NAN, 1.0, 2.0, 3.0]])
    x, xt = pair(data)
    out, ref = f(gg, x), f(torch, xt)
    close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    close(x.grad, xt.grad)
    for op in ("max", "min", "median"):
        res, want = getattr(gg, op)(x, 1), getattr(torch, op)(xt, 1)
        np.testing.assert_array_equal(res.indices._data, want.indices.numpy())


def test_max_with_a_tensor_is_elementwise_maximum():
    a, at = pair([[1.0, 2.0, 3.0]])
    b, bt = pair([[3.0], [2.0]])
    out, ref = gg.max(a, b), torch.max(at, bt)
    close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    close(a.grad, at.grad)
    close(b.grad, bt.grad)
    close(gg.min(a, other=b), torch.min(at, other=bt))


def test_max_min_on_0d_and_size_one():
    x, xt = pair(2.5)
    for op in ("max", "min", "median"):
        res, ref = getattr(gg, op)(x, 0), getattr(torch, op)(xt, 0)
        close(res.values, ref.values)
        np.testing.assert_array_equal(res.indices._data, ref.indices.numpy())
        res.values.backward()
    np.testing.assert_allclose(x.grad._data, 3.0)
    close(gg.amax(x, 0), torch.amax(xt, 0))
    close(gg.argmax(x, 0), torch.argmax(xt, 0))
    close(gg.argmax(x), torch.argmax(xt))
    y, yt = pair(np.ones((1, 3)))
    close(gg.max(y, 0, keepdim=True).values, torch.max(yt, 0, keepdim=True).values)


def test_median_values_and_indices():
    x, xt = pair([[4.0, 1.0, 3.0, 2.0], [0.5, -1.0, 7.0, 2.5]])
    close(gg.median(x), torch.median(xt))  # lower median of an even count
    res, ref = gg.median(x, 1), torch.median(xt, 1)
    close(res.values, ref.values)
    np.testing.assert_array_equal(res.indices._data, ref.indices.numpy())
    res.values.sum().backward()
    ref.values.sum().backward()
    close(x.grad, xt.grad)
    assert np.isnan(gg.median(gg.zeros(0)).item()) and torch.median(torch.zeros(0)).isnan()


# ---- errors on empty slices, bad dims, bad arguments ------------------------------------------


def _raises_like_torch(f, exc):
    with pytest.raises(exc) as theirs:
        f(torch, torch.zeros(0, 3))
    with pytest.raises(exc) as ours:
        f(gg, gg.zeros(0, 3))
    return str(theirs.value), str(ours.value)


@pytest.mark.parametrize(
    "f, exc",
    [
        (lambda lib, x: lib.amax(x, 0), IndexError),
        (lambda lib, x: lib.amin(x, (0, 1)), IndexError),
        (lambda lib, x: lib.amax(x), RuntimeError),
        (lambda lib, x: lib.max(x), RuntimeError),
        (lambda lib, x: lib.min(x, 0), IndexError),
        (lambda lib, x: lib.argmax(x, 0), IndexError),
        (lambda lib, x: lib.argmin(x), IndexError),
        (lambda lib, x: lib.sum(x, 2), IndexError),
        (lambda lib, x: lib.amax(x, (1, 1)), RuntimeError),
        (lambda lib, x: lib.mean(x, -3), IndexError),
    ],
)
def test_errors_match_torch(f, exc):
    _, ours = _raises_like_torch(f, exc)
    assert "(" in ours  # the message names the op and the shape or dims


def test_empty_reductions_that_torch_allows():
    for f in (
        lambda lib, x: lib.amax(x, 1),
        lambda lib, x: lib.max(x, 1).values,
        lambda lib, x: lib.argmax(x, 1),
        lambda lib, x: lib.sum(x),
        lambda lib, x: lib.sum(x, 0),
        lambda lib, x: lib.prod(x),
        lambda lib, x: lib.prod(x, 0),
        lambda lib, x: lib.mean(x, 0),
        lambda lib, x: lib.logsumexp(x, 0),
        lambda lib, x: lib.norm(x),
        lambda lib, x: lib.cumsum(x, 0),
        lambda lib, x: lib.cumprod(x, 1),
        lambda lib, x: lib.count_nonzero(x, 0),
        lambda lib, x: lib.all(x, 0),
        lambda lib, x: lib.any(x),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no NumPy 'empty slice' warnings
            ours = f(gg, gg.zeros(0, 3, dtype=gg.float64))
        close(ours, f(torch, torch.zeros(0, 3, dtype=torch.float64)))


def test_empty_gradient_flows():
    x, xt = pair(np.zeros((0, 3)))
    for lib, t in ((gg, x), (torch, xt)):
        (lib.sum(t, 0) + lib.mean(t, 0) + lib.prod(t, 0) + lib.logsumexp(t, 0)).sum().backward()
    close(x.grad, xt.grad)


def test_argument_errors():
    x = gg.ones(2, 3)
    for op in ("argmax", "argmin"):
        with pytest.raises(RuntimeError, match="bool"):
            getattr(torch, op)(torch.ones(2, dtype=torch.bool))
        with pytest.raises(RuntimeError, match="bool"):
            getattr(gg, op)(gg.ones(2, dtype=gg.bool))
    with pytest.raises(TypeError, match="keepdim"):
        gg.max(x, keepdim=True)
    with pytest.raises(TypeError, match="dim"):
        gg.sum(x, 1.5)
    with pytest.raises(RuntimeError, match="mean"):
        gg.mean(gg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="var"):
        gg.var(gg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="norm"):
        gg.norm(gg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="fro"):
        gg.norm(gg.ones(2, 2, 2), "fro", dim=(0, 1, 2))
    with pytest.raises(NotImplementedError, match="nuc"):
        gg.norm(x, "nuc")
    with pytest.raises(TypeError, match="unbiased or correction"):
        gg.var(x, 0, True, correction=0)
    with pytest.raises(RuntimeError):
        torch.norm(torch.zeros(0, 3), p=float("inf"))
    with pytest.raises(RuntimeError, match="inf"):
        gg.norm(gg.zeros(0, 3), p=float("inf"))


# ---- dtypes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.int64, np.uint8])
def test_integer_and_bool_dtypes_follow_torch(dtype):
    a = np.array([[1, 0, 1], [1, 1, 1]], dtype=dtype)
    x, xt = gg.tensor(a), torch.from_numpy(a.copy())
    for f in (
        lambda lib, t: lib.sum(t),
        lambda lib, t: lib.sum(t, 1),
        lambda lib, t: lib.prod(t, 0),
        lambda lib, t: lib.cumsum(t, 1),
        lambda lib, t: lib.cumprod(t, 0),
        lambda lib, t: lib.amax(t, 0),
        lambda lib, t: lib.max(t),
        lambda lib, t: lib.min(t, 1).values,
        lambda lib, t: lib.all(t, 1),
        lambda lib, t: lib.any(t),
        lambda lib, t: lib.count_nonzero(t, 0),
    ):
        ours, ref = f(gg, x), f(torch, xt)
        assert str(ours.dtype) == str(ref.dtype), (ours.dtype, ref.dtype)
        np.testing.assert_array_equal(ours._data, ref.numpy())


def test_dtype_arguments():
    x, xt = pair([[1.0, 2.0], [3.0, 4.0]], requires_grad=False, dtype=np.float32)
    for f in (
        lambda lib, t: lib.sum(t, dtype=lib.float64),
        lambda lib, t: lib.sum(t.long(), dtype=lib.int32),
        lambda lib, t: lib.mean(t.long(), dtype=lib.float64),
        lambda lib, t: lib.prod(t, 1, dtype=lib.float64),
        lambda lib, t: lib.cumsum(t, 0, dtype=lib.float64),
        lambda lib, t: lib.logsumexp(t.long(), 0),
    ):
        ours, ref = f(gg, x), f(torch, xt)
        assert str(ours.dtype) == str(ref.dtype)
        close(ours, ref, rtol=1e-6)


def test_float32_stays_float32_through_second_order():
    data = np.array([[0.5, 0.0, -1.5], [2.0, 1.0, 0.25]], dtype=np.float32)
    fs = [
        lambda t: t.prod(1),
        lambda t: t.prod(),
        lambda t: t.cumprod(1),
        lambda t: t.cumsum(0),
        lambda t: t.amax(0),
        lambda t: t.std(1),
        lambda t: t.var(),
        lambda t: t.norm(),
        lambda t: t.norm(p=3, dim=1),
        lambda t: t.logsumexp(1),
        lambda t: t.max(1).values,
    ]
    for f in fs:
        x = gg.tensor(data, requires_grad=True)
        out = f(x)
        assert out.dtype == np.float32
        (g,) = gg.autograd.grad(out.sum(), x, create_graph=True)
        assert g.dtype == np.float32
        if g.requires_grad:  # (the gradient of a piecewise-linear op is constant)
            (h,) = gg.autograd.grad((g * g).sum(), x)
            assert h.dtype == np.float32


# ---- non-differentiable reductions ---------------------------------------------------------------


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin_all_any_match_torch(dim, keepdim):
    x, xt = pair(TIES)
    for op in ("argmax", "argmin", "all", "any"):
        ours = getattr(gg, op)(x, dim=dim, keepdim=keepdim)
        ref = getattr(torch, op)(xt, dim=dim, keepdim=keepdim)
        assert not ours.requires_grad and ours.grad_fn is None
        assert str(ours.dtype) == str(ref.dtype)
        np.testing.assert_array_equal(ours._data, ref.numpy())
        np.testing.assert_array_equal(getattr(x, op)(dim=dim, keepdim=keepdim)._data, ref.numpy())


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_count_nonzero_matches_torch(dim):
    a = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    ours, ref = gg.count_nonzero(gg.tensor(a), dim), torch.count_nonzero(torch.tensor(a), dim)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours._data, ref.numpy())
    np.testing.assert_array_equal(gg.tensor(a).count_nonzero(dim)._data, ref.numpy())


def test_all_any_on_tuples_of_dims():
    a = np.array([[[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]])
    for op in ("all", "any"):
        ours = getattr(gg, op)(gg.tensor(a), (0, 2))
        ref = getattr(torch, op)(torch.tensor(a), (0, 2))
        np.testing.assert_array_equal(ours._data, ref.numpy())


# ---- var / std ----------------------------------------------------------------------------------

VALUES = RNG.standard_normal((3, 4))


@pytest.mark.parametrize(
    "f",
    [
        lambda lib, x: x.var(),
        lambda lib, x: x.var(True),
        lambda lib, x: x.var(False),
        lambda lib, x: x.var(0, False),
        lambda lib, x: x.var(1, True, True),
        lambda lib, x: x.std(unbiased=False),
        lambda lib, x: lib.std(x, dim=(0, 1), correction=2, keepdim=True),
        lambda lib, x: lib.var(x, dim=-1, correction=0.5),
        lambda lib, x: lib.std(x, 0, keepdim=True),
        lambda lib, x: lib.var_mean(x, 1)[0] + lib.var_mean(x, 1)[1],
        lambda lib, x: lib.std_mean(x, 0, correction=0)[0] * lib.std_mean(x, 0, correction=0)[1],
    ],
)
def test_var_std_variants(f):
    grads_match(f, VALUES)


def test_std_gradient_is_zero_where_std_is_zero_like_torch():
    grads_match(lambda lib, x: lib.std(x, 1), np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]]))
    grads_match(lambda lib, x: lib.std(x, correction=0), np.array(3.0))


def test_var_std_with_too_few_elements_warn_and_return_nan_like_torch():
    for op in ("var", "std"):
        x, xt = pair([2.0])
        with pytest.warns(UserWarning, match="degrees of freedom"):
            ours = getattr(gg, op)(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = getattr(torch, op)(xt)
        close(ours, ref)
        assert np.isnan(ours.item())


def test_var_std_of_empty_slices_second_order():
    x = gg.zeros(0, 3, dtype=gg.float64, requires_grad=True)
    for op in ("var", "std"):
        with pytest.warns(UserWarning, match="degrees of freedom"):
            out = getattr(gg, op)(x, 0)
        (g,) = gg.autograd.grad(out.sum(), x, create_graph=True)
        assert g.shape == (0, 3)


def test_std_is_accurate_for_large_offsets():
    data = 1e8 + np.array([1.0, 2.0, 3.0, 4.0])
    grads_match(lambda lib, x: lib.std(x), data, rtol=1e-6)


# ---- logsumexp ----------------------------------------------------------------------------------


def test_logsumexp_is_stable_and_its_gradient_is_the_softmax():
    data = np.array([[1000.0, 1000.0, 990.0], [-1000.0, -1001.0, -1002.0]])
    grads_match(lambda lib, x: lib.logsumexp(x, 1), data)
    x = gg.tensor(data, requires_grad=True)
    gg.logsumexp(x, 1).sum().backward()
    np.testing.assert_allclose(
        x.grad._data, torch.softmax(torch.tensor(data), 1).numpy(), rtol=1e-12
    )


def test_logsumexp_infinities_like_torch():
    inf = float("inf")
    data = np.array([[-inf, -inf], [inf, 1.0], [-inf, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = gg.logsumexp(gg.tensor(data), 1)
    close(ours, torch.logsumexp(torch.tensor(data), 1))
    grads_match(lambda lib, x: lib.logsumexp(x, 1, keepdim=True), data[2:])


def test_logsumexp_second_order():
    second_order_match(lambda lib, x: lib.logsumexp(x, -1), VALUES)


# ---- norm ---------------------------------------------------------------------------------------

INF = float("inf")


@pytest.mark.parametrize("p", [2, "fro", 1, INF, -INF, 3, 1.5, 0.5, 0])
@pytest.mark.parametrize("dim", [None, 1, (0, 1)])
def test_norm_matches_torch(p, dim):
    grads_match(lambda lib, x: lib.norm(x, p=p, dim=dim), VALUES)
    grads_match(lambda lib, x: x.norm(p, dim, True), VALUES)


@pytest.mark.parametrize("p", [2, 1, INF, 3, 1.5])
def test_norm_gradient_at_zero_is_zero_like_torch(p):
    grads_match(lambda lib, x: lib.norm(x, p=p), np.zeros(3))
    grads_match(lambda lib, x: lib.norm(x, p=p, dim=1), np.array([[0.0, 0.0], [3.0, -4.0]]))


@pytest.mark.parametrize("p", [1, INF, 0.5, 3])
def test_norm_with_zeros_and_ties_in_the_input(p):
    grads_match(lambda lib, x: lib.norm(x, p=p), np.array([0.0, 2.0, -2.0, 1.0]))


def test_norm_second_order():
    for p in (2, 3, 1.5):
        second_order_match(lambda lib, x, p=p: lib.norm(x, p=p, dim=1), VALUES)


# ---- prod / cumprod with zeros ------------------------------------------------------------------

ZEROS = {
    "one": np.array([[2.0, 0.0, 3.0, -1.5], [1.5, 2.0, -0.5, 4.0], [0.0, 1.0, 2.0, 3.0]]),
    "two": np.array([[0.0, 0.0, 3.0, -1.5], [1.5, 0.0, -0.5, 0.0], [0.5, 1.0, 2.0, 3.0]]),
    "three": np.array([[0.0, 0.0, 0.0, -1.5], [0.0, 0.0, 0.0, 0.0], [0.5, 0.0, 2.0, 3.0]]),
}


@pytest.mark.parametrize("zeros", list(ZEROS))
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_gradient_with_zeros(zeros, dim):
    def f(lib, x):
        return lib.prod(x) if dim is None else lib.prod(x, dim)

    grads_match(f, ZEROS[zeros])
    grads_match(lambda lib, x: x.prod(), ZEROS[zeros][0])


@pytest.mark.parametrize("zeros", ["one", "two"])
@pytest.mark.parametrize("dim", [0, 1])
def test_prod_second_order_with_zeros(zeros, dim):
    # torch's prod(dim) double backward is exact up to two zeros per slice; ours too
    second_order_match(lambda lib, x: lib.prod(x, dim), ZEROS[zeros])


def test_prod_second_order_single_zero_full_reduction():
    second_order_match(lambda lib, x: lib.prod(x), ZEROS["one"][0])


@pytest.mark.parametrize("zeros", list(ZEROS))
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumprod_with_zeros_first_and_second_order(zeros, dim):
    grads_match(lambda lib, x: lib.cumprod(x, dim), ZEROS[zeros])
    second_order_match(lambda lib, x: lib.cumprod(x, dim), ZEROS[zeros])


def test_cumsum_matches_torch():
    for dim in (0, 1, -1):
        grads_match(lambda lib, x, d=dim: lib.cumsum(x, d), VALUES)
        second_order_match(lambda lib, x, d=dim: lib.cumsum(x, d) ** 2, VALUES)
    grads_match(lambda lib, x: lib.cumsum(x, 0), np.array(1.5))


# ---- NumPy dispatch ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda a: np.sum(a),
        lambda a: np.sum(a, axis=1, keepdims=True),
        lambda a: np.sum(a, axis=(0, 1)),
        lambda a: np.mean(a, axis=0),
        lambda a: np.prod(a, axis=1),
        lambda a: np.max(a, axis=1),
        lambda a: np.amax(a, axis=0, keepdims=True),
        lambda a: np.min(a),
        lambda a: np.amin(a, axis=-1),
        lambda a: np.cumsum(a, axis=1),
        lambda a: np.cumsum(a),
        lambda a: np.cumprod(a, axis=0),
        lambda a: np.var(a, axis=1),
        lambda a: np.var(a, ddof=1),
        lambda a: np.std(a, axis=0, ddof=1, keepdims=True),
        lambda a: np.std(a),
    ],
)
def test_numpy_functions_dispatch_to_differentiable_ops(call):
    data = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, 2.5, 1.5, 0.25], [-1.0, 4.0, -1.5, 2.0]])
    x = gg.tensor(data, requires_grad=True)
    out = call(x)
    assert isinstance(out, gg.Tensor) and out.requires_grad
    np.testing.assert_allclose(out._data, call(data), rtol=1e-6)
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_numpy_dispatch_non_differentiable():
    data = np.array([[1.0, 0.0], [3.0, -2.0]])
    x = gg.tensor(data)
    for call in (
        lambda a: np.argmax(a, axis=1),
        lambda a: np.argmin(a),
        lambda a: np.all(a, axis=0),
        lambda a: np.any(a),
        lambda a: np.count_nonzero(a, axis=1),
        lambda a: np.count_nonzero(a, axis=0, keepdims=True),
    ):
        np.testing.assert_array_equal(call(x)._data, call(data))
