"""Indexing beyond the registry sweep: index patterns against PyTorch, views and version counters,
``t[idx] = v`` end to end, error messages, the fast scatter paths on large inputs, and the
non-differentiable helpers (nonzero, argwhere)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad.ops import indexing

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))


def _pair(a: np.ndarray = X, requires_grad: bool = True):
    return (
        gg.tensor(a, dtype=gg.float64, requires_grad=requires_grad),
        torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad),
    )


def _idx(lib, kind):
    """Index arrays as each library's tensors."""
    t = gg.tensor if lib is gg else torch.tensor
    return {
        "i": t([2, 0, 2, -1]),
        "j": t([[1, 3], [0, 0]]),
        "k": t([4, 0]),
        "m0": t([True, False, True]),
        "m01": t(np.arange(12).reshape(3, 4) % 3 == 0),
        "m2": t([True, False, True, True, False]),
        "s": t(2),  # a 0-d integer tensor acts as an int
        "u8": t(np.array([1, 0, 1], np.uint8)),
    }[kind]


PATTERNS = [
    lambda lib, x: x[1],
    lambda lib, x: x[-1, 2],
    lambda lib, x: x[1, 2, 3],
    lambda lib, x: x[:, 1:3],
    lambda lib, x: x[::2, -3:, 1::3],
    lambda lib, x: x[..., 1],
    lambda lib, x: x[None, ..., None, 0],
    lambda lib, x: x[1, None, :, None],
    lambda lib, x: x[5:, 10:],
    lambda lib, x: x[True],
    lambda lib, x: x[False],
    lambda lib, x: x[()],
    lambda lib, x: x[_idx(lib, "s")],
    lambda lib, x: x[_idx(lib, "i")],
    lambda lib, x: x[:, _idx(lib, "j")],
    lambda lib, x: x[_idx(lib, "i")[:2], :, _idx(lib, "k")],
    lambda lib, x: x[_idx(lib, "m0")],
    lambda lib, x: x[_idx(lib, "m01")],
    lambda lib, x: x[_idx(lib, "m01"), 1:],
    lambda lib, x: x[..., _idx(lib, "m2")],
    lambda lib, x: x[1, _idx(lib, "m01")[0]],
    lambda lib, x: x[[0, 2, 2]],
    lambda lib, x: x[[True, False, True]],
    lambda lib, x: x[[]],
    lambda lib, x: x[(0, 1), (1, 2)],
    # a range is a sequence of indices (nn_tutorial's nll: input[range(n), target])
    lambda lib, x: x[range(3), _idx(lib, "i")[:3]],
    lambda lib, x: x[range(1, 3)],
    lambda lib, x: x[:, range(0, 4, 2)],
    lambda lib, x: x[range(0)],
    # ints apart from the index array: PyTorch keeps the array's dims in place, NumPy does not
    lambda lib, x: x[0, :, _idx(lib, "k")],
    lambda lib, x: x[:, _idx(lib, "i")[:1], None, 0],
    lambda lib, x: x[:, _idx(lib, "i")[:2], ..., 0],
    lambda lib, x: x[None, 0, _idx(lib, "i")[:2]],
    lambda lib, x: x[1, :, _idx(lib, "j")],
    lambda lib, x: x[_idx(lib, "s"), :, _idx(lib, "k")],
]


@pytest.mark.parametrize("pattern", range(len(PATTERNS)))
def test_getitem_patterns_match_torch(pattern) -> None:
    f = PATTERNS[pattern]
    x, xt = _pair()
    out, ref = f(gg, x), f(torch, xt)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=0, atol=0)
    if ref.numel():
        v = RNG.standard_normal(tuple(ref.shape))
        out.backward(gg.tensor(v))
        ref.backward(torch.tensor(v))
        np.testing.assert_allclose(x.grad._data, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_uint8_index_is_a_mask_and_nested_lists_are_tuples_like_torch() -> None:
    x, xt = _pair()
    with pytest.warns(UserWarning, match="uint8"):
        out = x[_idx(gg, "u8")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(out._data, xt.detach()[_idx(torch, "u8")].numpy())
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        out = x[[[0, 2], [1, 3]]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = xt.detach()[[[0, 2], [1, 3]]]
    np.testing.assert_array_equal(out._data, ref.numpy())


def test_basic_indexing_gives_views_that_share_memory_and_version() -> None:
    x = gg.zeros(3, 4)
    row = x[1]
    col = x[:, 2]
    scalar = x[0, 0]
    assert row._data.base is not None and scalar.ndim == 0
    x.add_(1.0)
    assert row._version == col._version == scalar._version == x._version == 1
    row.mul_(3.0)  # writes through into x
    assert x[1, 0].item() == 3.0 and x._version == 2
    scalar.fill_(7.0)
    assert x._data[0, 0] == 7.0


def test_advanced_indexing_copies_and_is_contiguous() -> None:
    x = gg.tensor(X)
    y = x[:, [0, 1]]
    assert y._data.flags.c_contiguous and y._version == 0
    y.add_(1.0)
    np.testing.assert_array_equal(x._data, X)
    y.view(-1)  # PyTorch's advanced results are contiguous, so view() works on them


def test_slices_with_tensor_bounds_and_numpy_integers() -> None:
    x = gg.tensor(X)
    np.testing.assert_array_equal(x[gg.tensor(1) : np.int64(3)]._data, X[1:3])
    np.testing.assert_array_equal(x[np.int32(2), np.array([1, 0])]._data, X[2, [1, 0]])


@pytest.mark.parametrize(
    "index, words",
    [
        (5, ["index 5", "dimension 0", "size 3", "(3, 4, 5)"]),
        ((0, -6), ["index -6", "dimension 1", "size 4"]),
        ((slice(None), [0, 4]), ["index 4", "size 4", "(3, 4, 5)"]),
        ((0, 0, 0, 0), ["too many indices", "(3, 4, 5)"]),
        (np.array([True, False]), ["dimension 0", "(3, 4, 5)"]),
        (1.5, ["float"]),
        (np.array([1.0]), ["must be long, int, byte or bool"]),
        (([0, 1], [0, 1, 2]), ["getitem", "index tensors' shapes (2,) and (3,)", "(3, 4, 5)"]),
    ],
)
def test_bad_indices_raise_index_error_naming_index_dim_and_shape(index, words) -> None:
    x = gg.zeros(3, 4, 5, requires_grad=True)
    with pytest.raises(IndexError) as info:
        x[index]
    for w in words:
        assert w in str(info.value)
    with pytest.raises(IndexError) as info:  # the same words when writing
        x.detach()[index] = 1.0
    for w in words:
        assert w.replace("getitem", "setitem") in str(info.value)
    with pytest.raises(IndexError):
        torch.zeros(3, 4, 5)[torch.tensor(index) if isinstance(index, np.ndarray) else index]


def test_an_index_into_a_0_dim_tensor_says_to_use_item_as_torch() -> None:
    """``loss.data[0]``, the PyTorch 0.3 idiom, in old tutorials."""
    words = r"invalid index of a 0-dim tensor. Use `tensor.item\(\)`"
    for index in (0, (0,), (0, 0), [0]):
        with pytest.raises(IndexError, match=words):
            gg.tensor(2.0).data[index]
    with pytest.raises(IndexError, match=words):
        torch.tensor(2.0).data[0]
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        gg.tensor(2.0)[0] = 1.0


def test_negative_step_is_refused_like_torch() -> None:
    with pytest.raises(ValueError, match="step must be greater than zero"):
        gg.zeros(4)[::-1]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        torch.zeros(4)[::-1]


# ---- t[idx] = v -------------------------------------------------------------------------------

SETS = [
    (lambda lib: 1, lambda lib: 0.5),
    (lambda lib: (slice(None), 2), lambda lib: "v5"),
    (lambda lib: (Ellipsis, 1), lambda lib: "v34"),
    (lambda lib: _idx(lib, "m01"), lambda lib: 2.0),
    (lambda lib: _idx(lib, "m01"), lambda lib: "v0d"),
    (lambda lib: (_idx(lib, "i")[:2], 0), lambda lib: "v5"),
    (lambda lib: (0, slice(None), _idx(lib, "k")), lambda lib: "v42"),
    (lambda lib: [0, 2], lambda lib: "v145"),
]
VALUES = {
    "v34": RNG.standard_normal((3, 4)),
    "v0d": np.array(1.25),
    "v5": RNG.standard_normal(5),
    "v42": RNG.standard_normal((4, 2)),
    "v145": RNG.standard_normal((1, 4, 5)),
}


@pytest.mark.parametrize("case", range(len(SETS)))
def test_setitem_end_to_end_matches_torch(case) -> None:
    make_idx, make_v = SETS[case]
    x, xt = _pair()
    vkey = make_v(gg)
    if isinstance(vkey, str):
        v, vt = _pair(VALUES[vkey])
    else:
        v = vt = vkey
    y, yt = x * 2.0, xt * 2.0
    y[make_idx(gg)] = v
    yt[make_idx(torch)] = vt
    np.testing.assert_allclose(y._data, yt.detach().numpy(), rtol=0, atol=0)
    w = RNG.standard_normal(X.shape)
    (y * gg.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad._data, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    if isinstance(v, gg.Tensor):
        np.testing.assert_allclose(v.grad._data, vt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_setitem_on_a_leaf_that_requires_grad_raises() -> None:
    x = gg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x[0] = 1.0
    with gg.no_grad():
        x[0] = 1.0  # allowed, as in PyTorch
    assert x._data[0] == 1.0 and x.grad_fn is None


def test_setitem_after_a_tensor_was_saved_raises_on_backward() -> None:
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2.0
    z = (y * y).sum()  # Mul saves y
    y[1] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_setitem_without_grad_writes_in_place_and_bumps_version() -> None:
    x = gg.zeros(2, 3)
    v = x[0]
    x[0, 1:] = gg.tensor([4.0, 5.0])
    assert x._version == v._version == 1
    np.testing.assert_array_equal(v._data, [0.0, 4.0, 5.0])
    x[x > 4.5] = -1.0
    np.testing.assert_array_equal(x._data[0], [0.0, 4.0, -1.0])


def test_setitem_value_that_requires_grad_into_a_plain_tensor() -> None:
    v = gg.tensor([1.0, 2.0], requires_grad=True)
    y = gg.zeros(3, 2)
    y[1] = v
    (y * gg.tensor([[1.0, 1.0], [3.0, 4.0], [1.0, 1.0]])).sum().backward()
    np.testing.assert_array_equal(v.grad._data, [3.0, 4.0])


def test_index_put_repeated_indices_match_torch() -> None:
    x, xt = _pair(RNG.standard_normal(4))
    v, vt = _pair(np.array([1.0, 2.0, 3.0]))
    for acc in (True, False):
        i = [0, 2, 0] if acc else [1, 3, 1]  # no accumulation: torch gives each pick g[idx]
        out = gg.index_put(x, (gg.tensor(i),), v, accumulate=acc)
        ref = torch.index_put(xt, (torch.tensor(i),), vt, accumulate=acc)
        if acc:
            np.testing.assert_allclose(out._data, ref.detach().numpy(), atol=1e-12)
        w = RNG.standard_normal(4)
        out.backward(gg.tensor(w))
        ref.backward(torch.tensor(w))
    np.testing.assert_allclose(x.grad._data, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(v.grad._data, vt.grad.numpy(), atol=1e-12)


def test_index_put_shape_mismatch_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="index_put"):
        gg.index_put(gg.zeros(3), (gg.tensor([0, 1]),), gg.ones(3))


def test_index_add_zeros_is_differentiable_twice() -> None:
    g = gg.tensor([1.0, 2.0, 3.0], dtype=gg.float64, requires_grad=True)
    out = indexing.index_add_zeros(g, (2,), (np.array([0, 1, 0]),))
    np.testing.assert_array_equal(out._data, [4.0, 2.0])
    (dg,) = gg.autograd.grad((out * out).sum(), g, create_graph=True)
    np.testing.assert_array_equal(dg._data, [8.0, 4.0, 8.0])


def test_third_order_through_getitem() -> None:
    x, xt = _pair(RNG.standard_normal(5))
    i = [0, 3, 3]
    grads = []
    for lib, t in ((gg, x), (torch, xt)):
        y = (t[lib.tensor(i)] ** 4).sum()
        (g1,) = lib.autograd.grad(y, t, create_graph=True)
        (g2,) = lib.autograd.grad(g1.sum(), t, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), t)
        grads.append(g3.detach().numpy() if lib is torch else g3._data)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


# ---- large inputs take the fast scatter paths ---------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_scatters_match_torch(dtype) -> None:
    tdt = getattr(torch, np.dtype(dtype).name)
    w = RNG.standard_normal((50, 64))
    idx = RNG.integers(-50, 50, 700)
    x = gg.tensor(w, dtype=dtype, requires_grad=True)
    xt = torch.tensor(w, dtype=tdt, requires_grad=True)
    g = RNG.standard_normal((700, 64))
    x[gg.tensor(idx)].backward(gg.tensor(g, dtype=dtype))  # rows: sort and reduce
    xt[torch.tensor(idx)].backward(torch.tensor(g, dtype=tdt))
    assert x.grad.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(x.grad._data, xt.grad.numpy(), rtol=tol, atol=tol)

    gi = RNG.integers(0, 64, (50, 40))
    x.grad = None
    xt.grad = None
    v = RNG.standard_normal((50, 40))
    x.gather(1, gg.tensor(gi)).backward(gg.tensor(v, dtype=dtype))  # bincount
    xt.gather(1, torch.tensor(gi)).backward(torch.tensor(v, dtype=tdt))
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad._data, xt.grad.numpy(), rtol=tol, atol=tol)

    s = gg.index_add(gg.zeros(50, 64, dtype=dtype), 0, gg.tensor(idx % 50), gg.tensor(g, dtype))
    st = torch.zeros(50, 64, dtype=tdt).index_add(
        0, torch.tensor(idx % 50), torch.tensor(g, dtype=tdt)
    )
    np.testing.assert_allclose(s._data, st.numpy(), rtol=tol, atol=tol)


# ---- gather / scatter family: arguments and errors ----------------------------------------------


def test_scatter_variants_match_torch() -> None:
    x = RNG.standard_normal((3, 4))
    idx = np.array([[0, 3], [1, 1], [2, 0]])
    src = RNG.standard_normal((3, 3))
    for lib, t in ((gg, gg.tensor), (torch, torch.tensor)):
        xs = t(x)
        outs = [
            xs.scatter(1, t(idx[:, :1]), t(src)),  # src larger than the index: its corner is used
            lib.scatter(xs, 1, t(idx[:, :1]), 2.5),
            xs.scatter(1, t(idx), 1.5, reduce="add"),
            lib.scatter_add(xs, 0, t([[0, 2], [1, 1]]), t(src)),
            xs.index_select(1, t([3, 3, 0])),
            lib.take_along_dim(xs, t([[1], [0], [3]]), dim=1),
            lib.take_along_dim(xs, t([[-1]]), dim=1),
            lib.take_along_dim(xs, t([5, 0, 11])),
            lib.take(xs, t([[0, -1], [5, 6]])),
            xs.masked_select(t([True, False, True, False])),
        ]
        if lib is gg:
            ours = outs
        else:
            for a, b in zip(ours, outs):
                assert tuple(a.shape) == tuple(b.shape)
                np.testing.assert_allclose(a._data, b.numpy(), atol=1e-12)


def test_gather_family_errors_match_torch_types() -> None:
    cases = [
        lambda lib, t: lib.zeros(3, 4).gather(1, t([[5]])),
        lambda lib, t: lib.zeros(3, 4).gather(1, t([[-1]])),
        lambda lib, t: lib.zeros(3, 4).gather(1, t([1])),
        lambda lib, t: lib.zeros(3, 4).gather(1, lib.zeros(4, 1, dtype=lib.int64)),
        lambda lib, t: lib.zeros(3, 4).gather(1, t([[1.0]])),
        lambda lib, t: lib.zeros(3, 4).scatter(1, t([[5]]), 1.0),
        lambda lib, t: lib.zeros(3, 4).scatter_add(1, t([[1, 2]]), lib.zeros(1, 1)),
        lambda lib, t: lib.zeros(3, 4).index_select(0, t([3])),
        lambda lib, t: lib.zeros(3, 4).index_select(0, t([-1])),
        lambda lib, t: lib.zeros(3, 4).index_select(0, t([[0]])),
        lambda lib, t: lib.zeros(3, 4).index_add(0, t([0]), lib.zeros(2, 4)),
        lambda lib, t: lib.zeros(3, 4).masked_fill(lib.zeros(4), 1.0),
        lambda lib, t: lib.zeros(3, 4).masked_fill(lib.zeros(4, dtype=lib.bool), lib.zeros(1)),
        lambda lib, t: lib.take_along_dim(lib.zeros(3, 4), t([0]), 1),
        lambda lib, t: lib.take_along_dim(lib.zeros(3, 4), t([-1])),
        lambda lib, t: lib.zeros(3, 4).gather(2, t([[0]])),
    ]
    for case in cases:
        with pytest.raises(Exception) as ours:
            case(gg, gg.tensor)
        with pytest.raises(Exception) as theirs:
            case(torch, torch.tensor)
        assert isinstance(ours.value, type(theirs.value)), (ours.value, theirs.value)


def test_masked_fill_dtypes_and_value_tensor() -> None:
    x = gg.tensor([1.0, 2.0, 3.0])
    m = gg.tensor([True, False, True])
    assert x.masked_fill(m, 0.5).dtype == gg.float32
    assert x.masked_fill(m, gg.tensor(2.0, dtype=gg.float64)).dtype == gg.float32
    xi = gg.tensor([1, 2, 3])
    out = xi.masked_fill(m, 2.7)
    ref = torch.tensor([1, 2, 3]).masked_fill(torch.tensor([True, False, True]), 2.7)
    assert out.dtype == gg.int64 and out.tolist() == ref.tolist()
    v = gg.tensor(3.0, requires_grad=True)
    gg.masked_fill(gg.zeros(2, 3), gg.tensor([True, False, True]), v).sum().backward()
    assert v.grad.item() == 4.0


@pytest.mark.parametrize("value", [np.float64(-1e9), np.float32(2.5), np.int64(3), float("-inf")])
def test_masked_fill_with_a_numpy_scalar_keeps_the_tensors_dtype(value) -> None:
    """A NumPy double (``np.sqrt(d)``, ``np.finfo(...).min``) fills a float32 tensor and leaves it
    float32, as in PyTorch (NumPy's promotion would make the result float64)."""
    m = [True, False, True]
    theirs = torch.ones(3).masked_fill(torch.tensor(m), value)
    ours = gg.ones(3).masked_fill(gg.tensor(m), value)
    assert ours.dtype == gg.float32 and str(theirs.dtype) == "torch.float32"
    assert ours.tolist() == theirs.tolist()
    inplace = gg.ones(3)
    inplace.masked_fill_(gg.tensor(m), value)
    assert inplace.dtype == gg.float32 and inplace.tolist() == theirs.tolist()


def test_inplace_indexing_methods_match_torch() -> None:
    a = RNG.standard_normal((3, 4))
    s = RNG.standard_normal((2, 4))
    mask = a > 0
    res = []
    for lib, t in ((gg, gg.tensor), (torch, torch.tensor)):
        x = t(a.copy())
        x.masked_fill_(t(mask), -1.0)
        x.index_add_(0, t([2, 2]), t(s))
        x.scatter_(1, t([[0], [1], [2]]), 9.0)
        x.scatter_add_(0, t([[0, 1, 2, 0]]), t(s[:1]))
        x.index_put_((t([0, 1]), t([3, 3])), t(np.array(5.0)))
        res.append(x.numpy() if lib is torch else x._data)
    np.testing.assert_allclose(res[0], res[1], atol=1e-12)


def test_inplace_scatter_on_a_non_leaf_records_the_gradient() -> None:
    for lib in (gg, torch):
        x = lib.tensor([[1.0, 2.0, 3.0]], dtype=lib.float64, requires_grad=True)
        src = lib.tensor([[10.0, 20.0]], dtype=lib.float64, requires_grad=True)
        y = x * 1.0
        y.scatter_(1, lib.tensor([[2, 0]]), src)
        (y * lib.tensor([[1.0, 2.0, 3.0]], dtype=lib.float64)).sum().backward()
        if lib is gg:
            ours = (x.grad._data, src.grad._data)
        else:
            np.testing.assert_array_equal(ours[0], x.grad.numpy())
            np.testing.assert_array_equal(ours[1], src.grad.numpy())


# ---- nonzero --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a",
    [
        np.array([[0.0, 1.5], [2.0, 0.0]]),
        np.array(3.0),
        np.array(0.0),
        np.zeros((2, 0)),
        np.array([True, False, True]),
    ],
)
def test_nonzero_and_argwhere_match_torch(a) -> None:
    t = torch.tensor(a)
    ours = gg.nonzero(gg.tensor(a))
    assert ours.dtype == gg.int64
    np.testing.assert_array_equal(ours._data, torch.nonzero(t).numpy())
    assert tuple(ours.shape) == tuple(torch.nonzero(t).shape)
    np.testing.assert_array_equal(gg.argwhere(gg.tensor(a))._data, torch.argwhere(t).numpy())
    for o, r in zip(gg.tensor(a).nonzero(as_tuple=True), torch.nonzero(t, as_tuple=True)):
        np.testing.assert_array_equal(o._data, r.numpy())
    if a.ndim:
        for o, r in zip(gg.where(gg.tensor(a) != 0), torch.where(t != 0)):
            np.testing.assert_array_equal(o._data, r.numpy())


def test_numpy_take_along_axis_dispatches_to_take_along_dim() -> None:
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = np.take_along_axis(x, np.array([[1], [0]]), axis=1)
    assert isinstance(y, gg.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[0.0, 1.0], [1.0, 0.0]])


# ---- placement ops: in-place variants, fill_diagonal_, index utilities, errors -----------------


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, t, i: t.index_copy_(0, i, lib.ones(2, 3, dtype=t.dtype)),
        lambda lib, t, i: t.index_fill_(1, i, -2.0),
        lambda lib, t, i: t.index_reduce_(0, i, lib.full((2, 3), 3.0, dtype=t.dtype), "prod"),
        lambda lib, t, i: t.scatter_reduce_(
            0, i.expand(3, 2).T, lib.full((2, 3), 0.5, dtype=t.dtype), "amax", include_self=False
        ),
        lambda lib, t, i: t.masked_scatter_(t > 0, lib.zeros(12, dtype=t.dtype)),
        lambda lib, t, i: t.put_(i, lib.ones(2, dtype=t.dtype), accumulate=True),
        lambda lib, t, i: t.renorm_(2, 0, 1.0),
        lambda lib, t, i: t.addmm_(
            lib.ones(4, 2, dtype=t.dtype), lib.ones(2, 3, dtype=t.dtype), beta=0.5
        ),
        lambda lib, t, i: t.fill_diagonal_(7.0),
    ],
)
def test_inplace_placement_matches_torch(call) -> None:
    x = np.random.default_rng(0).standard_normal((4, 3))
    ours, theirs = (lib.tensor(x, requires_grad=True) for lib in (gg, torch))
    a, b = ours * 1.0, theirs * 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # index_reduce is "beta" in PyTorch
        assert call(gg, a, gg.tensor([2, 0])) is a
        call(torch, b, torch.tensor([2, 0]))
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    v = np.random.default_rng(1).standard_normal((4, 3))
    a.backward(gg.tensor(v))
    b.backward(torch.tensor(v))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (7, 2), (4, 4), (3, 3, 3), (1, 4)])
@pytest.mark.parametrize("wrap", [False, True])
def test_fill_diagonal_matches_torch(shape, wrap) -> None:
    ours, theirs = gg.zeros(*shape), torch.zeros(shape)
    assert ours.fill_diagonal_(2.5, wrap=wrap) is ours
    theirs.fill_diagonal_(2.5, wrap=wrap)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_fill_diagonal_errors() -> None:
    with pytest.raises(RuntimeError, match=r"fill_diagonal_.*\(3,\)"):
        gg.zeros(3).fill_diagonal_(1.0)
    with pytest.raises(RuntimeError, match=r"fill_diagonal_.*equal length.*\(2, 3, 3\)"):
        gg.zeros(2, 3, 3).fill_diagonal_(1.0)


def test_unravel_index_and_nonzero_static_match_torch() -> None:
    for idx, shape in [
        ([4, 1, 7], (3, 3)),
        (5, (2, 3)),
        ([-1, 0], (2, 3)),
        ([[1, 2], [3, 0]], [2, 2]),
    ]:
        ours = gg.unravel_index(gg.tensor(idx), shape)
        theirs = torch.unravel_index(torch.tensor(idx), shape)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert a.dtype == gg.int64
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(TypeError, match=r"unravel_index.*integer"):
        gg.unravel_index(gg.tensor([1.0]), (2, 2))
    x = np.array([[0, 1, 0], [2, 0, 3]])
    for size in (0, 2, 3, 6):
        for fill in (-1, 9):
            ours = gg.tensor(x).nonzero_static(size=size, fill_value=fill)
            theirs = torch.nonzero_static(torch.tensor(x), size=size, fill_value=fill)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda lib, x: x.index_copy(0, lib.tensor([0]), lib.ones(2, 3)), r"index_copy.*\[4, 3\]"),
        (lambda lib, x: x.index_fill(0, lib.tensor([5]), 1.0), r"index_fill.*5.*size 4"),
        (lambda lib, x: x.scatter_reduce(0, lib.zeros(1, 1, dtype=lib.long), x, "maxi"), "amax"),
        (lambda lib, x: x.index_reduce(0, lib.tensor([0]), x[:1], "sum"), "prod, mean"),
        (lambda lib, x: x.masked_scatter(x > -10, lib.ones(3)), r"at least 12.*\(3,\)"),
        (lambda lib, x: x.put(lib.tensor([12]), lib.ones(1)), r"put.*12.*\[4, 3\]"),
        (lambda lib, x: lib.select_scatter(x, lib.ones(4), 0, 0), r"select_scatter.*\[4\].*\[3\]"),
        (lambda lib, x: lib.slice_scatter(x, lib.ones(1, 3), 0, 0, 2), r"slice_scatter.*\[1, 3\]"),
        (lambda lib, x: lib.diagonal_scatter(x, lib.ones(4)), r"diagonal_scatter.*\[4\].*\[3\]"),
        (lambda lib, x: x.renorm(2, 0, -1.0), "maxnorm"),
        (lambda lib, x: x.split_with_sizes([1, 2]), r"split_with_sizes.*sum exactly to 4"),
        (lambda lib, x: x.sum_to_size(2, 3), r"sum_to_size.*\[2, 3\].*\[4, 3\]"),
    ],
)
def test_placement_errors_name_the_op(call, match) -> None:
    x = gg.ones(4, 3)
    with pytest.raises((RuntimeError, IndexError, TypeError)):
        call(torch, torch.ones(4, 3))  # PyTorch refuses it too
    with pytest.raises((RuntimeError, IndexError, TypeError), match=match) as info:
        call(gg, x)
    assert "ufunc" not in str(info.value) and "operands could not" not in str(info.value)


def test_index_fill_value_gradient_counts_each_position_once() -> None:
    """Repeated indices fill the same slice: the value's gradient sums it once (as PyTorch)."""
    for lib in (gg, torch):
        v = lib.tensor(2.0, dtype=lib.float64, requires_grad=True)
        out = lib.ones(3, 2, dtype=lib.float64).index_fill(0, lib.tensor([1, 1, 2]), v)
        out.sum().backward()
        assert v.grad.item() == 4.0


def test_scatter_reduce_integer_mean_and_prod_match_torch() -> None:
    x = np.arange(6).reshape(2, 3) + 1
    idx = np.array([[0, 0, 1], [1, 0, 1]])
    src = np.array([[5, 7, 2], [9, 4, 3]])
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            ours = gg.tensor(x).scatter_reduce(
                0, gg.tensor(idx), gg.tensor(src), reduce, include_self=include_self
            )
            theirs = torch.tensor(x).scatter_reduce(
                0, torch.tensor(idx), torch.tensor(src), reduce, include_self=include_self
            )
            assert ours.dtype == gg.int64
            np.testing.assert_array_equal(
                ours.numpy(), theirs.numpy(), err_msg=f"{reduce} {include_self}"
            )
