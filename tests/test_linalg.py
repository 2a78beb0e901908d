"""Linear algebra beyond the registry sweep: PyTorch's strict shape rules and their messages,
Tensor methods, NumPy dispatch, and derivatives of order three against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg
import glassgrad.nn.functional as F

R = np.random.default_rng(0)


def _pair(*shapes, dtype=np.float64):
    arrays = [R.standard_normal(s).astype(dtype) for s in shapes]
    return [gg.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


# ---- errors: both libraries refuse, ours names the op and the shapes ----------------------------

SHAPE_ERRORS = [
    # (call, shapes, words our message must contain)
    ("mm", [(2, 3), (4, 5)], ["mm", "cannot be multiplied", "2x3", "4x5"]),
    ("mm", [(3,), (3, 3)], ["mm", "must be a matrix", "(3,)"]),
    ("mm", [(2, 2, 3), (3, 3)], ["mm", "must be a matrix"]),
    ("bmm", [(3, 4), (2, 4, 5)], ["bmm", "3D", "(3, 4)"]),
    ("bmm", [(2, 3, 4), (3, 4, 5)], ["bmm", "[2, 4]", "[3, 4]"]),
    ("bmm", [(2, 3, 4), (2, 5, 5)], ["bmm", "[2, 4]", "[2, 5]"]),
    ("mv", [(2, 3), (4,)], ["mv", "(2, 3)", "(4,)"]),
    ("mv", [(3,), (3,)], ["mv", "(3,)"]),
    ("dot", [(2, 3), (3,)], ["dot", "1D tensors expected", "2D and 1D"]),
    ("dot", [(3,), (4,)], ["dot", "[3]", "[4]"]),
    ("outer", [(2, 3), (4,)], ["outer", "1-D", "(2, 3)"]),
    ("matmul", [(2, 3), (4, 5)], ["matmul", "(2, 3)", "(4, 5)"]),
    ("matmul", [(), (3,)], ["matmul", "at least 1 dimension"]),
    ("matmul", [(2, 2, 3), (3, 3, 4)], ["matmul", "broadcast", "(2, 2, 3)", "(3, 3, 4)"]),
]


@pytest.mark.parametrize("name,shapes,words", SHAPE_ERRORS)
def test_shape_errors_match_torch(name, shapes, words) -> None:
    ours, theirs = _pair(*shapes)
    with pytest.raises(RuntimeError):
        getattr(torch, name)(*theirs)
    with pytest.raises(RuntimeError) as err:
        getattr(gg, name)(*ours)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


@pytest.mark.parametrize("name", ["matmul", "mm", "dot", "tensordot"])
def test_mixed_dtypes_are_refused(name) -> None:
    shapes = {"matmul": (3, 3), "mm": (3, 3), "tensordot": (3, 3)}.get(name, (3,))
    a = gg.tensor(R.standard_normal(shapes), dtype=gg.float32)
    b = gg.tensor(R.standard_normal(shapes), dtype=gg.float64)
    with pytest.raises(RuntimeError, match=r"float32.*float64|float64.*float32"):
        getattr(gg, name)(a, b)


@pytest.mark.parametrize(
    "dtypes",
    [("int64", "float32"), ("float32", "float64"), ("int64", "int32"), ("bool", "float32")],
)
def test_outer_promotes_mixed_dtypes_as_torch(dtypes) -> None:
    """outer is ``x[:, None] * y`` in PyTorch, so it promotes (llama2.c's RoPE table is
    ``torch.outer(torch.arange(n), freqs)``); a float operand's gradient keeps its dtype."""
    a, b = R.integers(0, 5, 4), R.standard_normal(3)
    theirs = [torch.tensor(v).to(getattr(torch, d)) for v, d in zip((a, b), dtypes)]
    ours = [gg.tensor(t.numpy()) for t in theirs]
    for t in (*theirs, *ours):
        t.requires_grad_(t.is_floating_point())
    expected, got = torch.outer(*theirs), gg.outer(*ours)
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    if expected.requires_grad:
        expected.sum().backward()
        got.sum().backward()
        for o, t in zip(ours, theirs):
            if t.requires_grad:
                assert str(o.grad.dtype).split(".")[-1] == str(t.grad.dtype).split(".")[-1]
                np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-6)


TENSORDOT_ERRORS = [
    ([(2, 3), (4, 5)], 1, "contracted dimensions need to match"),
    ([(2, 3), (3, 5)], -1, "dims >= 0"),
    ([(2, 3), (3, 5)], 3, "more than the number of dimensions"),
    ([(2, 3), (3, 5)], ([0, 1], [0]), "same length"),
]


@pytest.mark.parametrize("shapes,dims,words", TENSORDOT_ERRORS)
def test_tensordot_errors(shapes, dims, words) -> None:
    ours, theirs = _pair(*shapes)
    with pytest.raises(RuntimeError):
        torch.tensordot(*theirs, dims=dims)
    with pytest.raises(RuntimeError, match=words):
        gg.tensordot(*ours, dims=dims)


def test_tensordot_dim_out_of_range_is_an_index_error() -> None:
    a, b = gg.ones(2, 3), gg.ones(3, 2)
    with pytest.raises(IndexError):
        gg.tensordot(a, b, dims=([2], [0]))


EINSUM_ERRORS = [
    ("ij,jk->ik", [(2, 3)], "fewer operands"),
    ("ij->ik", [(2, 3)], "output subscript k does not appear"),
    ("ij->iij", [(2, 3)], "output subscript i appears more than once"),
    ("ii->i", [(2, 3)], "subscript i is repeated for operand 0 but the sizes don't match"),
    ("ijk->i", [(2, 3)], "does not match the number of dimensions"),
    ("ij,jk", [(2, 3), (4, 5)], "subscript j has size 4 for operand 1"),
    ("...ij,...jk", [(2, 2, 3), (3, 3, 4)], "ellipsis dimension has size 3"),
    ("i1->i", [(2, 3)], "invalid subscript '1'"),
    ("i.j->i", [(2, 3)], "not part of any ellipsis"),
    ("ijk...->i", [(2, 3)], "more than the number of dimensions"),
]


@pytest.mark.parametrize("eq,shapes,words", EINSUM_ERRORS)
def test_einsum_errors(eq, shapes, words) -> None:
    ours, theirs = _pair(*shapes)
    with pytest.raises((RuntimeError, ValueError)):
        torch.einsum(eq, *theirs)
    with pytest.raises(RuntimeError, match=words.replace("(", r"\(").replace(".", r"\.")):
        gg.einsum(eq, *ours)


def test_einsum_refuses_mixed_dtypes() -> None:
    with pytest.raises(RuntimeError, match="same dtype"):
        gg.einsum("i,i", gg.ones(3, dtype=gg.float32), gg.ones(3, dtype=gg.float64))


# ---- methods, NumPy dispatch, aliasing --------------------------------------------------------


@pytest.mark.parametrize(
    "method,shapes",
    [
        ("mm", [(2, 3), (3, 4)]),
        ("bmm", [(2, 2, 3), (2, 3, 4)]),
        ("mv", [(2, 3), (3,)]),
        ("dot", [(3,), (3,)]),
        ("vdot", [(3,), (3,)]),
        ("inner", [(2, 3), (4, 3)]),
        ("outer", [(2,), (3,)]),
        ("ger", [(2,), (3,)]),
        ("matmul", [(2, 2, 3), (3,)]),
    ],
)
def test_tensor_methods_match_torch(method, shapes) -> None:
    ours, theirs = _pair(*shapes)
    got = getattr(ours[0], method)(ours[1])
    want = getattr(theirs[0], method)(theirs[1])
    np.testing.assert_allclose(got._data, want.numpy(), rtol=1e-12, atol=1e-12)


def test_matmul_with_ndarray_on_either_side() -> None:
    a = R.standard_normal((2, 3))
    x = gg.tensor(R.standard_normal((3, 3)), requires_grad=True)
    y = a @ x  # ndarray.__matmul__ defers to the Tensor
    assert isinstance(y, gg.Tensor) and y.requires_grad
    np.testing.assert_allclose(y._data, a @ x._data, rtol=1e-12)
    np.testing.assert_allclose((x @ a.T).data, x._data @ a.T, rtol=1e-12)


def test_numpy_functions_dispatch_to_differentiable_ops() -> None:
    a = gg.tensor(R.standard_normal((2, 3, 4)), requires_grad=True)
    b = gg.tensor(R.standard_normal((4, 5)), requires_grad=True)
    v = gg.tensor(R.standard_normal(4), requires_grad=True)
    cases = [
        (np.einsum("ijk,kl->ijl", a, b), np.einsum("ijk,kl->ijl", a._data, b._data)),
        (np.tensordot(a, b, axes=1), np.tensordot(a._data, b._data, axes=1)),
        (np.tensordot(a, b, axes=(2, 0)), np.tensordot(a._data, b._data, axes=(2, 0))),
        (np.dot(a, b), np.dot(a._data, b._data)),
        (np.dot(a, v), np.dot(a._data, v._data)),
        (np.inner(a, v), np.inner(a._data, v._data)),
        (np.outer(a, v), np.outer(a._data, v._data)),
    ]
    for got, want in cases:
        assert isinstance(got, gg.Tensor) and got.requires_grad
        np.testing.assert_allclose(got._data, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("eq", ["ij->ji", "ii->i", "ij->ij", "ij"])
def test_einsum_never_aliases_its_input(eq) -> None:
    x = gg.tensor(R.standard_normal((3, 3)))
    y = gg.einsum(eq, x)
    assert not np.shares_memory(y._data, x._data)


def test_einsum_sublist_format_and_implicit_order_match_torch() -> None:
    (a, b), (ta, tb) = _pair((2, 3), (3, 4))
    got = gg.einsum(a, [0, 1], b, [1, 2])  # implicit output: labels in increasing order
    np.testing.assert_allclose(got._data, torch.einsum(ta, [0, 1], tb, [1, 2]).numpy(), rtol=1e-12)
    got = gg.einsum(a, [Ellipsis, 1], b[:, 0], [1], [Ellipsis])
    want = torch.einsum(ta, [Ellipsis, 1], tb[:, 0], [1], [Ellipsis])
    assert got.shape == tuple(want.shape)
    np.testing.assert_allclose(got._data, want.numpy(), rtol=1e-12)
    # implicit mode puts upper-case labels before lower-case ones, like torch and NumPy
    (c, d), (tc, td) = _pair((2, 3), (3, 4))
    np.testing.assert_allclose(
        gg.einsum("bA,Ac", c, d)._data, torch.einsum("bA,Ac", tc, td).numpy(), rtol=1e-12
    )


def test_integer_matmul_has_integer_result() -> None:
    a = np.arange(6).reshape(2, 3)
    got = gg.tensor(a) @ gg.tensor(a.T)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got._data, a @ a.T)


def test_linear_errors_name_the_shapes() -> None:
    x, w = gg.ones(4, 3), gg.ones(5, 2)
    with pytest.raises(RuntimeError, match=r"\(4, 3\).*\(5, 2\)"):
        F.linear(x, w)
    with pytest.raises(RuntimeError, match=r"bias of shape \(4,\)"):
        F.linear(x, gg.ones(5, 3), gg.ones(4))


# ---- derivatives of higher order, against torch --------------------------------------------------


def _third_order(lib, fn, xs):
    """d/dx0 of sum(d/dx1 of sum(d/dx0 of fn)), each step with create_graph."""
    grad = lib.autograd.grad
    (g1,) = grad(fn(*xs), [xs[0]], create_graph=True)
    (g2,) = grad((g1 * g1).sum(), [xs[1]], create_graph=True)
    (g3,) = grad((g2 * g2).sum(), [xs[0]])
    return g3


@pytest.mark.parametrize(
    "eq,shapes",
    [
        ("ii,ij,j->", [(3, 3), (3, 2), (2,)]),  # diagonal of one operand
        ("ij,jk,ki->", [(2, 3), (3, 2), (2, 2)]),  # trace of a product
        ("...ij,...j->...i", [(2, 1, 3, 2), (4, 2)]),  # broadcast ellipsis
        ("iij,j->ij", [(2, 2, 3), (3,)]),  # partial diagonal
    ],
)
def test_einsum_third_derivatives_match_torch(eq, shapes) -> None:
    arrays = [R.standard_normal(s) for s in shapes]
    ours = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    got = _third_order(gg, lambda *xs: (gg.einsum(eq, *xs) ** 3).sum(), ours)
    want = _third_order(torch, lambda *xs: (torch.einsum(eq, *xs) ** 3).sum(), theirs)
    np.testing.assert_allclose(got._data, want.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "fn,shapes",
    [
        (lambda lib, a, b: lib.matmul(a, b), [(2, 1, 3, 4), (5, 4, 2)]),
        (lambda lib, a, b: lib.matmul(a, b), [(4,), (2, 4, 3)]),
        (lambda lib, a, b: lib.tensordot(a, b, dims=([2, 0], [1, 2])), [(2, 3, 4), (3, 4, 2)]),
        (lambda lib, a, b: lib.outer(a, b), [(3,), (4,)]),
        (lambda lib, a, b: lib.nn.functional.linear(a, b), [(2, 3, 4), (5, 4)]),
    ],
)
def test_products_third_derivatives_match_torch(fn, shapes) -> None:
    arrays = [R.standard_normal(s) for s in shapes]
    ours = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    got = _third_order(gg, lambda *xs: (fn(gg, *xs) ** 3).sum(), ours)
    want = _third_order(torch, lambda *xs: (fn(torch, *xs) ** 3).sum(), theirs)
    np.testing.assert_allclose(got._data, want.numpy(), rtol=1e-9, atol=1e-9)


# ---- beta * input + alpha * product --------------------------------------------------------------

PRODUCTS = {
    "addmm": ((3, 4), (3, 2), (2, 4)),
    "addmv": ((3,), (3, 2), (2,)),
    "addr": ((3, 4), (3,), (4,)),
    "baddbmm": ((2, 3, 4), (2, 3, 5), (2, 5, 4)),
    "addbmm": ((3, 4), (2, 3, 5), (2, 5, 4)),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products_beta_zero_ignore_nan_and_inplace_match_torch(name) -> None:
    rng = np.random.default_rng(0)
    c, a, b = (rng.standard_normal(s) for s in PRODUCTS[name])
    c[0] = np.nan  # beta=0: input is not read at all
    outs = []
    for lib in (gg, torch):
        x, y, z = (lib.tensor(v, requires_grad=True) for v in (c, a, b))
        out = getattr(lib, name)(x, y, z, beta=0, alpha=2.0)
        out.backward(lib.ones_like(out))
        w = x.detach().clone()
        assert getattr(w, name + "_")(y.detach(), z.detach(), beta=0.5) is w
        outs.append((out.detach().numpy(), x.grad.numpy(), y.grad.numpy(), w.numpy()))
    for ours, theirs in zip(*outs):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_addmm_integers_and_errors_match_torch() -> None:
    a = np.arange(6).reshape(2, 3)
    for lib in (gg, torch):
        t = lib.tensor(a)
        out = lib.addmm(lib.ones(2, 2, dtype=lib.int64), t, t.T, beta=2, alpha=3)
        np.testing.assert_array_equal(out.numpy(), 2 + 3 * (a @ a.T))
        truncated = lib.addmm(t[:, :2], t, t.T, beta=0.5, alpha=1.5)  # int(0.5), int(1.5)
        np.testing.assert_array_equal(truncated.numpy(), a @ a.T)
    with pytest.raises(RuntimeError, match=r"addmm.*\(2x3 and 2x3\)"):
        gg.addmm(gg.ones(2, 3), gg.ones(2, 3), gg.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"addmm.*\(5,\).*\(2, 3\)"):
        gg.addmm(gg.ones(5), gg.ones(2, 4), gg.ones(4, 3))
    with pytest.raises(RuntimeError, match=r"baddbmm.*batch2"):
        gg.baddbmm(gg.ones(2, 3, 3), gg.ones(2, 3, 4), gg.ones(3, 4, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        gg.addmv(gg.ones(2), gg.ones(2, 2, dtype=gg.float64), gg.ones(2))


def test_chain_matmul_and_adjoint_match_torch() -> None:
    rng = np.random.default_rng(0)
    ms = [rng.standard_normal(s) for s in ((2, 3), (3, 4), (4, 2))]
    for k in (1, 2, 3):
        with pytest.warns(UserWarning, match="deprecated"):
            ours = gg.chain_matmul(*(gg.tensor(m) for m in ms[:k]))
        with warnings.catch_warnings():  # (PyTorch warns once per process)
            warnings.simplefilter("ignore", UserWarning)
            theirs = torch.chain_matmul(*(torch.tensor(m) for m in ms[:k]))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    z = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    np.testing.assert_array_equal(
        gg.tensor(z).adjoint().numpy(), torch.tensor(z).adjoint().resolve_conj().numpy()
    )
    np.testing.assert_array_equal(
        gg.tensor(z).mH.numpy(), torch.tensor(z).mH.resolve_conj().numpy()
    )
    with pytest.raises(RuntimeError, match="adjoint"):
        gg.ones(3).adjoint()
