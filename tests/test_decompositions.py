"""``glassgrad.linalg`` beyond the registry sweep: every output's node name, result types, second
derivatives of decompositions against torch, the singular and error cases, tolerances of pinv /
matrix_rank, lstsq's extra outputs and NumPy dispatch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg
import glassgrad.linalg as LA
from tests.opinfo.decompositions import spd_pair, svd_matrix, symmetric

R = np.random.default_rng(0)


def _both(a):
    return gg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _names(out):
    outs = out if isinstance(out, tuple) else (out,)
    return [o.grad_fn.name() if o.grad_fn is not None else None for o in outs]


A = R.uniform(-0.5, 0.5, (3, 3)) + 2 * np.eye(3)
TALL = (
    np.linalg.qr(R.standard_normal((4, 3)))[0]
    @ np.diag([3.0, 2.0, 1.0])
    @ np.linalg.qr(R.standard_normal((3, 3)))[0]
)
WIDE = TALL.T.copy()
Q = np.linalg.qr(R.standard_normal((3, 3)))[0]
SYM = Q @ np.diag([-1.0, 0.5, 2.0]) @ Q.T
SPD = A @ A.T + np.eye(3)

NAMED = [
    ("det", lambda L, x: L.linalg.det(x), A),
    ("slogdet", lambda L, x: L.linalg.slogdet(x), A),
    ("torch_slogdet", lambda L, x: L.slogdet(x), A),
    ("logdet", lambda L, x: L.logdet(x), SPD),
    ("inv", lambda L, x: L.linalg.inv(x), A),
    ("inv_ex", lambda L, x: L.linalg.inv_ex(x), A),
    ("inverse", lambda L, x: x.inverse(), A),
    ("solve", lambda L, x: L.linalg.solve(x, x[:, :2] * 1), A),
    ("cholesky", lambda L, x: L.linalg.cholesky(x), SPD),
    ("cholesky_upper", lambda L, x: L.linalg.cholesky(x, upper=True), SPD),
    ("cholesky_ex", lambda L, x: L.linalg.cholesky_ex(x), SPD),
    ("torch_cholesky", lambda L, x: L.cholesky(x), SPD),
    ("qr", lambda L, x: L.linalg.qr(x), TALL),
    ("qr_r", lambda L, x: L.linalg.qr(x, mode="r")[1], TALL),
    ("torch_qr", lambda L, x: L.qr(x), TALL),
    ("svd", lambda L, x: L.linalg.svd(x), TALL),
    ("svd_reduced", lambda L, x: L.linalg.svd(x, full_matrices=False), WIDE),
    ("torch_svd", lambda L, x: L.svd(x), TALL),
    ("svdvals", lambda L, x: L.linalg.svdvals(x), TALL),
    ("eigh", lambda L, x: L.linalg.eigh(x), SYM),
    ("eigvalsh", lambda L, x: L.linalg.eigvalsh(x), SYM),
    ("pinv", lambda L, x: L.linalg.pinv(x), TALL),
    ("pinv_hermitian", lambda L, x: L.linalg.pinv(x, hermitian=True), SYM),
    ("pinverse", lambda L, x: L.pinverse(x), WIDE),
    ("lstsq", lambda L, x: L.linalg.lstsq(x, x[:, :2] * 1), TALL),
    ("matrix_power_2", lambda L, x: L.linalg.matrix_power(x, 2), A),
    ("matrix_power_1", lambda L, x: L.linalg.matrix_power(x, 1), A),
    ("matrix_power_-1", lambda L, x: L.linalg.matrix_power(x, -1), A),
    ("matrix_exp", lambda L, x: L.linalg.matrix_exp(x), A),
    ("cross", lambda L, x: L.linalg.cross(x, x.flip(0)), A),
    ("norm", lambda L, x: L.linalg.norm(x), A),
    ("norm_nuc", lambda L, x: L.linalg.norm(x, "nuc"), A),
    ("matrix_norm_inf", lambda L, x: L.linalg.matrix_norm(x, math.inf), A),
    ("matrix_norm_-2", lambda L, x: L.linalg.matrix_norm(x, -2), A),
]


@pytest.mark.parametrize("name,fn,a", NAMED, ids=[n for n, _, _ in NAMED])
def test_every_output_is_named_as_torch_names_it(name, fn, a) -> None:
    x, t = _both(a)
    ours, theirs = fn(gg, x), fn(torch, t)
    assert _names(ours) == _names(theirs)
    if isinstance(theirs, tuple):
        assert type(ours).__name__ == type(theirs).__name__
        for field in ours._fields:  # torch.return_types: attributes of the same names
            assert getattr(theirs, field) is not None


def test_multi_dot_is_a_chain_of_products() -> None:
    """PyTorch's multi_dot ends in a view of its last mm (ViewBackward0); ours is the mm."""
    xs = [R.standard_normal(s) for s in [(2, 5), (5, 1), (1, 4)]]
    ours = LA.multi_dot([gg.tensor(x) for x in xs])
    np.testing.assert_allclose(ours.numpy(), np.linalg.multi_dot(xs), rtol=1e-12)


# ---- second derivatives against torch ------------------------------------------------------------

SECOND = [
    ("svd", lambda L, x: (L.linalg.svd(x, full_matrices=False).U ** 4).sum(), TALL),
    ("svd_wide", lambda L, x: (L.linalg.svd(x, full_matrices=False).Vh ** 4).sum(), WIDE),
    ("svdvals", lambda L, x: (L.linalg.svdvals(x) ** 3).sum(), TALL),
    ("eigh", lambda L, x: (L.linalg.eigh(x + x.mT).eigenvectors ** 4).sum(), SYM),
    ("eigvalsh", lambda L, x: (L.linalg.eigvalsh(x + x.mT) ** 3).sum(), SYM),
    ("qr", lambda L, x: ((lambda r: r.Q**4 @ r.R**2)(L.linalg.qr(x))).sum(), TALL),
    ("qr_wide", lambda L, x: ((lambda r: r.Q**4 @ r.R**2)(L.linalg.qr(x))).sum(), WIDE),
    (
        "cholesky",
        lambda L, x: (L.linalg.cholesky(x @ x.mT + L.eye(3, dtype=x.dtype)) ** 3).sum(),
        A,
    ),
    ("det", lambda L, x: L.linalg.det(x) ** 2, A),
    ("slogdet", lambda L, x: L.linalg.slogdet(x).logabsdet ** 2, A),
    ("inv", lambda L, x: (L.linalg.inv(x) ** 3).sum(), A),
    ("solve", lambda L, x: (L.linalg.solve(x, x.mT, left=False) ** 3).sum(), A),
    ("pinv", lambda L, x: (L.linalg.pinv(x) ** 3).sum(), TALL),
    ("lstsq", lambda L, x: (L.linalg.lstsq(x, x[:, :2] ** 2).solution ** 3).sum(), TALL),
    ("matrix_exp", lambda L, x: (L.linalg.matrix_exp(x) ** 2).sum(), A - 2 * np.eye(3)),
    ("cross", lambda L, x: (L.linalg.cross(x, x**2) ** 2).sum(), A),
]


@pytest.mark.parametrize("name,fn,a", SECOND, ids=[n for n, _, _ in SECOND])
def test_second_derivatives_match_torch(name, fn, a) -> None:
    x, t = _both(a)
    v = R.standard_normal(a.shape)
    (g,) = gg.autograd.grad(fn(gg, x), x, create_graph=True)
    (gt,) = torch.autograd.grad(fn(torch, t), t, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-6, atol=1e-9)
    (h,) = gg.autograd.grad((g * gg.tensor(v)).sum(), x)
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), t)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-6, atol=1e-8)


# ---- values of the decompositions ----------------------------------------------------------------


def test_decompositions_reconstruct_and_agree_with_torch_up_to_signs() -> None:
    a = R.standard_normal((2, 5, 3))
    u, s, vh = LA.svd(gg.tensor(a), full_matrices=False)
    np.testing.assert_allclose(((u * s[..., None, :]) @ vh).numpy(), a, atol=1e-12)
    ts = torch.linalg.svd(torch.tensor(a), full_matrices=False)
    np.testing.assert_allclose(s.numpy(), ts.S.numpy(), rtol=1e-12)
    np.testing.assert_allclose(np.abs(u.numpy()), np.abs(ts.U.numpy()), atol=1e-12)
    full = LA.svd(gg.tensor(a))
    assert full.U.shape == (2, 5, 5) and full.Vh.shape == (2, 3, 3)
    q, r = LA.qr(gg.tensor(a))
    np.testing.assert_allclose((q @ r).numpy(), a, atol=1e-12)
    assert np.allclose(np.tril(r.numpy(), -1), 0)
    tq, tr = torch.linalg.qr(torch.tensor(a), mode="complete")
    q, r = LA.qr(gg.tensor(a), mode="complete")
    assert q.shape == tq.shape and r.shape == tr.shape
    sym = a[0, :3] + a[0, :3].T
    lam, v = LA.eigh(gg.tensor(sym))
    np.testing.assert_allclose(lam.numpy(), torch.linalg.eigvalsh(torch.tensor(sym)), rtol=1e-12)
    np.testing.assert_allclose((v * lam[None]) @ v.mT, sym, atol=1e-12)
    # the upper triangle (UPLO='U') is what is read
    lower_junk = np.triu(sym) + np.tril(R.standard_normal((3, 3)), -1)
    np.testing.assert_allclose(
        LA.eigvalsh(gg.tensor(lower_junk), UPLO="U").numpy(),
        torch.linalg.eigvalsh(torch.tensor(lower_junk), UPLO="U").numpy(),
        rtol=1e-12,
    )


def test_torch_svd_returns_v_and_zeros_without_uv() -> None:
    a = R.standard_normal((4, 3))
    u, s, v = gg.svd(gg.tensor(a))
    np.testing.assert_allclose(((u * s) @ v.mT).numpy(), a, atol=1e-12)
    assert u.shape == (4, 3) and v.shape == (3, 3)
    assert gg.svd(gg.tensor(a), some=False).U.shape == (4, 4)
    r, rt = gg.svd(gg.tensor(a), compute_uv=False), torch.svd(torch.tensor(a), compute_uv=False)
    for ours, theirs in zip(r, rt):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)


def test_slogdet_sign_logdet_of_negative_and_singular() -> None:
    for m in ([[-1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [1.0, 3.0]]):
        ours, theirs = gg.linalg.slogdet(gg.tensor(m)), torch.linalg.slogdet(torch.tensor(m))
        np.testing.assert_allclose(ours.sign.numpy(), theirs.sign.numpy())
        np.testing.assert_allclose(ours.logabsdet.numpy(), theirs.logabsdet.numpy())
        np.testing.assert_allclose(gg.logdet(gg.tensor(m)).numpy(), torch.logdet(torch.tensor(m)))


def test_det_gradient_at_singular_matrices_is_the_adjugate() -> None:
    """PyTorch gives the adjugate under create_graph (zeros without: documented difference)."""
    for m in ([[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 0.0]]):
        x, t = _both(np.array(m))
        (g,) = gg.autograd.grad(LA.det(x), x)
        (gt,) = torch.autograd.grad(torch.linalg.det(t), t, create_graph=True)
        np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), atol=1e-12)


# ---- errors ---------------------------------------------------------------------------------


def test_errors_name_the_function() -> None:
    with pytest.raises(RuntimeError, match=r"linalg.inv.*singular"):
        LA.inv(gg.tensor([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(LA.LinAlgError, match=r"linalg.cholesky.*order 2"):
        LA.cholesky(gg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(RuntimeError, match=r"square matrices.*3 by 4"):
        LA.det(gg.zeros(3, 4))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        LA.svd(gg.zeros(3))
    with pytest.raises(RuntimeError, match="floating point"):
        LA.det(gg.tensor([[1, 2], [3, 4]]))
    with pytest.raises(RuntimeError, match="dimension -1 must have length 3"):
        LA.cross(gg.zeros(4), gg.zeros(4))
    ex = LA.cholesky_ex(gg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    assert ex.info.item() == torch.linalg.cholesky_ex(torch.tensor([[1.0, 2.0], [2.0, 1.0]])).info
    assert LA.inv_ex(gg.tensor([[1.0, 2.0], [2.0, 4.0]])).info.item() != 0
    assert LA.inv_ex(gg.tensor(A)).info.item() == 0


@pytest.mark.parametrize(
    "mode,shape,message", [("r", (4, 3), "mode='r'"), ("complete", (4, 3), "complete")]
)
def test_qr_backward_refused_as_in_torch(mode, shape, message) -> None:
    x = gg.tensor(R.standard_normal(shape), requires_grad=True)
    with pytest.raises(RuntimeError, match=message):
        LA.qr(x, mode=mode).R.sum().backward()


# ---- tolerances, lstsq, matrix_rank -------------------------------------------------------------


def test_pinv_and_matrix_rank_tolerances_as_torch() -> None:
    a = np.linalg.qr(R.standard_normal((5, 4)))[0] @ np.diag([3.0, 1.0, 1e-3, 1e-17])
    a = a @ np.linalg.qr(R.standard_normal((4, 4)))[0]
    sym = a.T @ a
    for kw in ({}, {"rtol": 1e-2}, {"atol": 0.5}, {"atol": 0.5, "rtol": 0.5}, {"hermitian": True}):
        m = sym if kw.get("hermitian") else a
        np.testing.assert_allclose(
            LA.pinv(gg.tensor(m), **kw).numpy(), torch.linalg.pinv(torch.tensor(m), **kw), atol=1e-9
        )
        assert LA.matrix_rank(gg.tensor(m), **kw).item() == torch.linalg.matrix_rank(
            torch.tensor(m), **kw
        )
    np.testing.assert_allclose(
        gg.pinverse(gg.tensor(a), 1e-2).numpy(), torch.pinverse(torch.tensor(a), 1e-2), atol=1e-9
    )
    assert LA.matrix_rank(gg.tensor(a)).dtype == np.int64


def test_lstsq_outputs_as_torch_on_cpu() -> None:
    for shape in ((5, 3), (3, 3), (2, 4)):
        a, b = R.standard_normal(shape), R.standard_normal((shape[0], 2))
        ours, theirs = (
            LA.lstsq(gg.tensor(a), gg.tensor(b)),
            torch.linalg.lstsq(torch.tensor(a), torch.tensor(b)),
        )
        np.testing.assert_allclose(ours.solution.numpy(), theirs.solution.numpy(), atol=1e-10)
        for f in ("residuals", "rank", "singular_values"):
            np.testing.assert_array_equal(getattr(ours, f).numpy(), getattr(theirs, f).numpy())


def test_matrix_power_zero_and_numpy_dispatch() -> None:
    x = gg.tensor(A, requires_grad=True)
    np.testing.assert_array_equal(LA.matrix_power(x, 0).numpy(), np.eye(3))
    for f, g in [
        (np.linalg.det, LA.det),
        (np.linalg.inv, LA.inv),
        (lambda t: np.linalg.svd(t, compute_uv=False), LA.svdvals),
        (np.linalg.eigvalsh, LA.eigvalsh),
        (lambda t: np.linalg.matrix_power(t, 3), lambda t: LA.matrix_power(t, 3)),
        (np.linalg.norm, LA.norm),
        (lambda t: np.linalg.solve(t, t), lambda t: LA.solve(t, t)),
    ]:
        out = f(x)
        assert isinstance(out, gg.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.detach().numpy(), g(x).detach().numpy(), rtol=1e-12)


def test_cross_without_dim_warns_and_picks_the_first_size_3_dim() -> None:
    a, b = R.standard_normal((3, 2)), R.standard_normal((3, 2))
    with pytest.warns(UserWarning, match="dim"):
        ours = gg.cross(gg.tensor(a), gg.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.cross(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_samplers_give_well_conditioned_inputs() -> None:
    """The sweep's samplers: distinct singular values / eigenvalues, SPD with margin."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=20, deadline=None)
    @given(st.data())
    def check(data):
        (x,) = svd_matrix()(data.draw)
        if x.size:
            s = np.linalg.svd(x, compute_uv=False)
            assert np.all(s >= 0.49) and np.all(-np.diff(s, axis=-1) >= 0.39)
        (y,) = symmetric()(data.draw)
        if y.size:
            lam = np.linalg.eigvalsh(y)
            assert np.all(np.abs(lam) >= 0.19) and np.all(np.diff(lam, axis=-1) >= 0.39)
        xx, d = spd_pair(data.draw)
        if xx.size:
            assert np.all(np.linalg.eigvalsh(xx @ np.swapaxes(xx, -1, -2) + d @ d.T) > 1.4)

    check()


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (3, 5), (5, 3), (1, 1), (0, 0), (2, 0, 3)])
def test_lu_factor_pivots_and_unpack_as_torch(shape) -> None:
    """LAPACK's getrf: the same packed factor and the same 1-based int32 row swaps, square,
    wide, tall and empty; lu_unpack's P, L, U; ``Tensor.lu`` as ``linalg.lu_factor``."""
    a = R.standard_normal(shape)
    ours, theirs = LA.lu_factor(gg.tensor(a)), torch.linalg.lu_factor(torch.tensor(a))
    assert type(ours).__name__ == "linalg_lu_factor" and ours.pivots.dtype == gg.int32
    np.testing.assert_array_equal(ours.pivots._data, theirs.pivots.numpy())
    np.testing.assert_allclose(ours.LU._data, theirs.LU.numpy(), rtol=1e-12, atol=1e-12)
    for p, q in zip(gg.lu_unpack(*ours), torch.lu_unpack(*theirs)):
        np.testing.assert_allclose(p._data, q.numpy(), rtol=1e-12, atol=1e-12)
    for p, q in zip(LA.lu(gg.tensor(a)), torch.linalg.lu(torch.tensor(a))):
        np.testing.assert_allclose(p._data, q.numpy(), rtol=1e-12, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.lu is deprecated in PyTorch
        expected = torch.tensor(a).lu(get_infos=True)
    with pytest.warns(UserWarning, match="torch.lu is deprecated"):
        ours = gg.tensor(a).lu(get_infos=True)
    for p, q in zip(ours, expected):
        np.testing.assert_allclose(p._data, q.numpy(), rtol=1e-12, atol=1e-12)


def test_lu_factor_of_singular_matrices_reports_info_as_torch() -> None:
    for a in (np.array([[1.0, 2.0], [2.0, 4.0]]), np.zeros((3, 3)), np.array([[0.0, 1.0]])):
        ours, theirs = LA.lu_factor_ex(gg.tensor(a)), torch.linalg.lu_factor_ex(torch.tensor(a))
        np.testing.assert_array_equal(ours.info._data, theirs.info.numpy())
        np.testing.assert_array_equal(ours.pivots._data, theirs.pivots.numpy())
        np.testing.assert_allclose(ours.LU._data, theirs.LU.numpy())
    with pytest.raises(RuntimeError, match="U\\[2,2\\] is zero"):
        LA.lu_factor_ex(gg.tensor([[1.0, 2.0], [2.0, 4.0]]), check_errors=True)


def test_lu_errors_name_the_function() -> None:
    with pytest.raises(RuntimeError, match=r"lu_factor.*at least 2 dimensions"):
        LA.lu_factor(gg.ones(3))
    with pytest.raises(RuntimeError, match=r"lu_factor.*floating point.*int64"):
        LA.lu_factor(gg.ones(2, 2, dtype=gg.int64))
    with pytest.raises(RuntimeError, match="without pivoting"):
        LA.lu(gg.eye(2), pivot=False)
    with pytest.raises(RuntimeError, match=r"lu_unpack.*int32"):
        gg.lu_unpack(gg.eye(2), gg.ones(2))


def test_glow_invertible_1x1_conv_init_as_torch() -> None:
    """pytorch-normalizing-flows' Glow layer: ``P, L, U = torch.lu_unpack(*Q.lu())`` of an
    orthogonal Q, then P L U rebuilt; float32 throughout."""
    q, _ = np.linalg.qr(R.standard_normal((4, 4)))
    ours = gg.lu_unpack(*gg.tensor(q, dtype=gg.float32).lu())
    theirs = torch.lu_unpack(*torch.tensor(q, dtype=torch.float32).lu())
    for p, t in zip(ours, theirs):
        assert p.dtype == gg.float32
        np.testing.assert_allclose(p._data, t.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose((ours.P @ ours.L @ ours.U)._data, q, atol=1e-6)
