"""Sparse COO tensors against PyTorch: what a graph network's data preparation and layers use.

The registry sweep (``tests/opinfo/sparse.py``) checks each op's values and gradients on drawn
inputs; these tests pin what it cannot: printing, the sparse view kept through the ops that
keep it, PyTorch's gradient masking, and the errors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg

warnings.filterwarnings("ignore", message="Sparse invariant checks", category=UserWarning)

INDICES = [[0, 1, 1, 0], [2, 0, 2, 2]]  # (0, 2) twice: repeats add up
VALUES = [3.0, 4.0, 5.0, 1.5]


def _both(fn):
    return fn(gg), fn(torch)


def _same(a, b) -> None:
    a = a.to_dense() if getattr(a, "is_sparse", False) else a
    b = b.to_dense() if getattr(b, "is_sparse", False) else b
    np.testing.assert_allclose(np.asarray(a.detach()._data), b.detach().numpy(), rtol=1e-6)


def test_repr_matches_torch() -> None:
    cases = [
        lambda lib: lib.sparse_coo_tensor(INDICES, VALUES, (2, 3)),
        lambda lib: lib.sparse_coo_tensor(INDICES, VALUES, (2, 3)).coalesce(),
        lambda lib: lib.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2]),
        lambda lib: lib.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], dtype=lib.float64),
        lambda lib: lib.tensor([[1.0, 0.0], [0.0, 0.0], [3.0, 4.0]]).to_sparse(1),
        lambda lib: lib.sparse_coo_tensor(lib.zeros(2, 0, dtype=lib.long), lib.zeros(0), (3, 3)),
        lambda lib: lib.tensor([1.0, 2.0], requires_grad=True).to_sparse(),
        lambda lib: lib.sparse_coo_tensor(
            [[0, 0], [1, 1]], lib.tensor([1.0, 2.0], requires_grad=True), (2, 2)
        ),
    ]
    for case in cases:
        ours, theirs = _both(case)
        assert repr(ours) == repr(theirs)


def test_queries_match_torch() -> None:
    for make in (
        lambda lib: lib.sparse_coo_tensor(INDICES, VALUES, (2, 3)),
        lambda lib: lib.tensor([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]).to_sparse(),
        lambda lib: lib.tensor([[1.0, 0.0], [0.0, 0.0], [3.0, 4.0]]).to_sparse(1),
    ):
        ours, theirs = _both(make)
        assert ours.is_sparse and str(ours.layout) == str(theirs.layout) == "torch.sparse_coo"
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert ours.dim() == theirs.dim() and ours.numel() == theirs.numel()
        assert ours.sparse_dim() == theirs.sparse_dim()
        assert ours.dense_dim() == theirs.dense_dim()
        assert ours._nnz() == theirs._nnz()
        assert ours.is_coalesced() == theirs.is_coalesced()
        np.testing.assert_array_equal(ours._indices()._data, theirs._indices().numpy())
        np.testing.assert_array_equal(ours._values()._data, theirs._values().numpy())
        c, d = ours.coalesce(), theirs.coalesce()
        np.testing.assert_array_equal(c.indices()._data, d.indices().numpy())
        np.testing.assert_allclose(c.values()._data, d.values().numpy())
        _same(ours, theirs)
    dense = gg.ones(2, 3)
    assert not dense.is_sparse and str(dense.layout) == "torch.strided"
    assert dense.to_dense() is dense
    assert (dense.sparse_dim(), dense.dense_dim()) == (0, 2)


def test_ops_that_keep_the_sparse_view() -> None:
    """transpose, scaling, sparse + sparse and conversions give sparse tensors with PyTorch's
    values; anything else computes densely."""
    ops = [
        lambda s: s.t(),
        lambda s: s.transpose(0, 1),
        lambda s: s * 2.5,
        lambda s: 2.5 * s,
        lambda s: s / 4,
        lambda s: -s,
        lambda s: s + s,
        lambda s: s - 2 * s,
        lambda s: s.double(),
        lambda s: s.float(),
        lambda s: s.clone(),
        lambda s: s.detach(),
        lambda s: s.to(torch.float64) if isinstance(s, torch.Tensor) else s.to(gg.float64),
    ]
    for fn in ops:
        ours = fn(gg.sparse_coo_tensor(INDICES, VALUES, (2, 3)).coalesce())
        theirs = fn(torch.sparse_coo_tensor(INDICES, VALUES, (2, 3)).coalesce())
        assert ours.is_sparse and theirs.is_sparse
        assert (
            ours.dtype == gg.float64 if theirs.dtype == torch.float64 else ours.dtype == gg.float32
        )
        _same(ours, theirs)
        np.testing.assert_allclose(
            ours.coalesce().values()._data, theirs.coalesce().values().numpy(), rtol=1e-6
        )
    assert gg.tensor([[1.0, 0.0], [2.0, 0.0]]).to_sparse().t().grad_fn is None
    s = gg.tensor([[1.0, 0.0], [2.0, 0.0]], requires_grad=True).to_sparse()
    assert (
        s.t().grad_fn.name() == torch.ones(2, 2, requires_grad=True).to_sparse().t().grad_fn.name()
    )


def test_dense_results_match_torch() -> None:
    """The products and sums a graph network makes of a sparse adjacency matrix."""
    x = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)
    sq = np.random.default_rng(1).standard_normal((2, 2)).astype(np.float32)

    def run(lib):
        s = lib.sparse_coo_tensor(INDICES, VALUES, (2, 3))
        d = lib.tensor(x)
        return [
            s @ d,
            lib.mm(s, d),
            lib.spmm(s, d),
            lib.sparse.mm(s, d),
            lib.matmul(s, d),
            lib.tensor(sq) @ s,
            lib.eye(2, 3) + s,
            lib.sum(lib.eye(2, 3) + s, dim=1),
            lib.sparse.FloatTensor(lib.tensor(INDICES), lib.tensor(VALUES), lib.Size([2, 3])),
        ]

    for ours, theirs in zip(*_both(run), strict=True):
        assert ours.is_sparse == theirs.is_sparse
        _same(ours, theirs)


def test_gradients_follow_torch_masking() -> None:
    """``to_dense`` and ``torch.sparse.mm`` keep the gradient to the specified positions; a
    dense op (``s @ w``, ``dense + s``) passes all of it, as in PyTorch."""
    base = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    w = np.random.default_rng(2).standard_normal((3, 2))
    cases = [
        lambda lib, d: (d.to_sparse() @ lib.tensor(w)).sum(),
        lambda lib, d: lib.sparse.mm(d.to_sparse(), lib.tensor(w)).sum(),
        lambda lib, d: (lib.ones(2, 3, dtype=lib.float64) + d.to_sparse()).sum(),
        lambda lib, d: (d.to_sparse().to_dense() * lib.tensor(base + 1)).sum(),
        lambda lib, d: (d.to_sparse().coalesce().values() ** 2).sum(),
        lambda lib, d: ((d.to_sparse() * 3).to_dense() ** 2).sum(),
    ]
    for case in cases:
        grads = []
        for lib in (gg, torch):
            d = lib.tensor(base, requires_grad=True)
            case(lib, d).backward()
            g = d.grad.to_dense() if d.grad.is_sparse else d.grad
            grads.append(np.asarray(g.detach()._data if lib is gg else g.numpy()))
        np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_values_gradient_through_construction() -> None:
    v = np.array(VALUES)
    w = np.random.default_rng(3).standard_normal((3, 4))
    grads = []
    for lib in (gg, torch):
        t = lib.tensor(v, requires_grad=True)
        s = lib.sparse_coo_tensor(INDICES, t, (2, 3))
        (lib.sparse.mm(s, lib.tensor(w)) ** 2).sum().backward()
        grads.append(t.grad)
    np.testing.assert_allclose(grads[0]._data, grads[1].numpy(), rtol=1e-12)


def test_graph_network_normalisation_matches_torch() -> None:
    """D^-1/2 (A + I) D^-1/2 built as pytorch/examples' GCN builds it, then two layers."""
    rng = np.random.default_rng(4)
    n = 6
    edges = rng.integers(0, n, (2, 10))
    x = rng.standard_normal((n, 4)).astype(np.float32)
    w = rng.standard_normal((4, 3)).astype(np.float32)

    def run(lib):
        adj = lib.sparse_coo_tensor(
            lib.tensor(edges), lib.ones(edges.shape[1]), (n, n), dtype=lib.int64
        )
        adj = lib.eye(n) + adj
        deg = lib.sqrt(1 / lib.sum(adj, dim=1))
        deg[deg == float("inf")] = 0
        deg = lib.diag(deg).to_sparse()
        adj = (deg @ adj @ deg).to_sparse()
        weight = lib.tensor(w, requires_grad=True)
        feats = lib.tensor(x).to_sparse()
        out = lib.spmm(adj, lib.mm(feats, weight))
        out = lib.spmm(adj, lib.relu(out))
        out.log_softmax(dim=1).sum().backward()
        return out, weight.grad

    (out, g), (ref, rg) = _both(run)
    _same(out, ref)
    np.testing.assert_allclose(g._data, rg.numpy(), rtol=1e-5, atol=1e-6)


def test_clear_errors() -> None:
    s = gg.sparse_coo_tensor(INDICES, VALUES, (2, 3))
    with pytest.raises(RuntimeError, match=r"values\(\).*uncoalesced.*coalesce\(\)"):
        s.values()
    with pytest.raises(RuntimeError, match=r"indices\(\).*uncoalesced"):
        s.indices()
    for name in ("values", "indices", "coalesce", "_nnz", "is_coalesced"):
        with pytest.raises(
            RuntimeError, match=rf"{name}\(\): expected a sparse COO tensor.*\(2, 2\)"
        ):
            getattr(gg.ones(2, 2), name)()
    for inplace in (lambda: s.mul_(2), lambda: s.zero_(), lambda: s.__setitem__(0, 1.0)):
        with pytest.raises(NotImplementedError, match="no in-place ops"):
            inplace()
    with pytest.raises(NotImplementedError, match="no in-place ops"):
        s += s
    with pytest.raises(RuntimeError, match=r"indices out of bounds for size \(2, 2\)"):
        gg.sparse_coo_tensor(INDICES, VALUES, (2, 2))
    with pytest.raises(RuntimeError, match=r"one entry per index column.*\(3,\)"):
        gg.sparse_coo_tensor(INDICES, VALUES[:3], (2, 3))
    with pytest.raises(RuntimeError, match="2-D integer tensor"):
        gg.sparse_coo_tensor([0.5, 1.0], VALUES[:2], (2, 3))
    with pytest.raises(RuntimeError, match=r"size \(2, 3, 4\) does not fit"):
        gg.sparse_coo_tensor(INDICES, VALUES, (2, 3, 4))
    with pytest.raises(RuntimeError, match=r"torch.sparse.mm\(\).*\(2, 3\) and \(2, 2\)"):
        gg.sparse.mm(s, gg.ones(2, 2))


def test_a_sparse_tensor_in_the_graph_records_nodes_with_torch_names() -> None:
    names = []
    for lib in (gg, torch):
        v = lib.tensor(VALUES, requires_grad=True)
        s = lib.sparse_coo_tensor(INDICES, v, (2, 3))
        d = lib.tensor([[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
        names.append(
            [
                s.grad_fn.name(),
                s.coalesce().grad_fn.name(),
                s.to_dense().grad_fn.name(),
                d.to_sparse().grad_fn.name(),
                d.to_sparse().values().grad_fn.name(),
                lib.sparse.mm(s, lib.ones(3, 1)).grad_fn.name(),
            ]
        )
    assert names[0] == names[1]
