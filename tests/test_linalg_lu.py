"""The LU family and its neighbours against torch.linalg beyond the registry sweep: pivots and
``info`` (LAPACK's conventions), singular inputs, named results, flags and error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg

R = np.random.default_rng(11)


@pytest.mark.parametrize("shape", [(4, 4), (3, 5, 5), (6, 3), (3, 6), (2, 0, 3, 3), (1, 1)])
def test_factors_and_pivots_as_torch(shape):
    a = R.standard_normal(shape)
    ours, theirs = gg.linalg.lu_factor_ex(gg.tensor(a)), torch.linalg.lu_factor_ex(torch.tensor(a))
    assert type(ours).__name__ == type(theirs).__name__
    assert len(ours) == len(theirs) and all(hasattr(theirs, f) for f in ours._fields)
    np.testing.assert_allclose(ours.LU._data, theirs.LU.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(ours.pivots._data, theirs.pivots.numpy())
    assert ours.pivots.dtype == np.int32 and ours.info.dtype == np.int32
    np.testing.assert_array_equal(ours.info._data, theirs.info.numpy())
    p, low, up = gg.linalg.lu(gg.tensor(a))
    tp, tl, tu = torch.linalg.lu(torch.tensor(a))
    for x, y in ((p, tp), (low, tl), (up, tu)):
        assert tuple(x.shape) == tuple(y.shape)
        np.testing.assert_allclose(x._data, y.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose((p @ low @ up)._data, a, atol=1e-12)


def test_singular_matrices_report_info_and_check_errors():
    a = np.array([[[1.0, 2.0], [2.0, 4.0]], [[0.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])
    ours, theirs = gg.linalg.lu_factor_ex(gg.tensor(a)), torch.linalg.lu_factor_ex(torch.tensor(a))
    np.testing.assert_array_equal(ours.info._data, theirs.info.numpy())
    np.testing.assert_allclose(ours.LU._data, theirs.LU.numpy())
    with pytest.raises(RuntimeError) as t:
        torch.linalg.lu_factor_ex(torch.tensor(a[:1]), check_errors=True)
    with pytest.raises(RuntimeError) as o:
        gg.linalg.lu_factor_ex(gg.tensor(a[:1]), check_errors=True)
    assert str(o.value).split(": ", 1)[-1] == str(t.value)  # (ours names the op first)


def test_lu_unpack_flags_and_old_spellings():
    a = R.standard_normal((2, 3, 3))
    lu, piv = gg.linalg.lu_factor(gg.tensor(a))
    tlu, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    for flags in [(True, True), (False, True), (True, False)]:
        ours, theirs = gg.lu_unpack(lu, piv, *flags), torch.lu_unpack(tlu, tpiv, *flags)
        assert type(ours).__name__ == type(theirs).__name__
        for x, y in zip(ours, theirs):
            assert tuple(x.shape) == tuple(y.shape)
            np.testing.assert_allclose(x._data, y.numpy(), atol=1e-14)
    b = R.standard_normal((2, 3, 2))
    np.testing.assert_allclose(
        gg.tensor(b).lu_solve(lu, piv)._data,
        torch.linalg.lu_solve(tlu, tpiv, torch.tensor(b)).numpy(),
        rtol=1e-12,
    )
    m = np.tril(R.standard_normal((3, 3))) + 3 * np.eye(3)
    np.testing.assert_allclose(
        gg.tensor(m).cholesky_inverse()._data, torch.tensor(m).cholesky_inverse().numpy()
    )


def test_solve_ex_named_result_and_info():
    a, b = R.standard_normal((2, 3, 3)) + 3 * np.eye(3), R.standard_normal((2, 3))
    ours, theirs = (
        gg.linalg.solve_ex(gg.tensor(a), gg.tensor(b)),
        torch.linalg.solve_ex(torch.tensor(a), torch.tensor(b)),
    )
    assert len(ours) == len(theirs) and all(hasattr(theirs, f) for f in ours._fields)
    np.testing.assert_allclose(ours.result._data, theirs.result.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ours.info._data, theirs.info.numpy())
    assert ours.info.dtype == np.int32


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.linalg.lu_solve(*lib.linalg.lu_factor(lib.eye(3)), lib.zeros(2, 1)),
        lambda lib: lib.linalg.vander(lib.zeros(3), N=1),
        lambda lib: lib.linalg.tensorinv(lib.zeros(2, 3, 4), ind=1),
        lambda lib: lib.linalg.tensorinv(lib.zeros(2, 2), ind=0),
        lambda lib: lib.linalg.cond(lib.zeros(2, 3), "fro"),
        lambda lib: lib.linalg.householder_product(lib.zeros(4, 3), lib.zeros(4)),
        lambda lib: lib.linalg.householder_product(lib.zeros(3, 4), lib.zeros(2)),
    ],
)
def test_errors_as_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(gg)
    assert str(ours.value).split(": ", 1)[-1] == str(theirs.value)  # (ours names the op first)


def test_eig_is_complex_with_unit_eigenvectors_and_torch_values():
    a = R.standard_normal((2, 4, 4))
    (lam, v), (tlam, tv) = gg.linalg.eig(gg.tensor(a)), torch.linalg.eig(torch.tensor(a))
    assert lam.dtype == np.complex128 and v.dtype == np.complex128
    assert gg.linalg.eig(gg.tensor(a.astype(np.float32))).eigenvalues.dtype == np.complex64
    np.testing.assert_allclose(lam._data, tlam.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.linalg.norm(v._data, axis=-2), 1.0, rtol=1e-12)
    # each eigenvector is unique up to a phase: compare |v| and A v = λ v
    np.testing.assert_allclose(np.abs(v._data), np.abs(tv.numpy()), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a @ v._data, v._data * lam._data[..., None, :], atol=1e-12)
    np.testing.assert_allclose(gg.linalg.eigvals(gg.tensor(a))._data, tlam.numpy(), atol=1e-13)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_differentiates_in_the_whole_factor_as_torch(upper):
    """PyTorch's kernel reads the factor as a whole matrix: the other triangle gets a gradient."""
    f = np.tril(R.standard_normal((2, 3, 3))) + 3 * np.eye(3)
    f = np.swapaxes(f, -1, -2) if upper else f
    b, w = R.standard_normal((3, 2)), R.standard_normal((2, 3, 2))
    grads = []
    for lib in (torch, gg):
        ft, bt = lib.tensor(f, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = lib.cholesky_solve(bt, ft, upper)
        (out * lib.tensor(w)).sum().backward()
        grads.append((out, ft.grad, bt.grad))
    for a, b_ in zip(grads[1], grads[0]):
        np.testing.assert_allclose(
            a._data if isinstance(a, gg.Tensor) else a, b_.detach().numpy(), rtol=1e-12
        )
    assert grads[1][0].grad_fn.name() == grads[0][0].grad_fn.name() == "CholeskySolveBackward0"
