"""Sparse COO tensors: construction, conversion and products (``glassgrad/ops/sparse.py``).

Each entry ends in a dense tensor (PyTorch's sparse results have no ``numpy()``). Indices are
drawn with repeats, which sum, as in PyTorch; converted tensors hold no exact zeros, where
``to_dense``'s masked gradient and a finite difference would part (a zero is unspecified).
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.opinfo import OpInfo, floats, integers

SHAPE = (4, 3)


def _coo(draw, dense=()):
    """(values, indices) of a sparse tensor of shape SHAPE + dense, repeats allowed."""
    nnz = draw(st.integers(0, 6))
    return floats(draw, (nnz, *dense)), integers(draw, (2, nnz), 0, 3)


def _coo_and_matrix(draw):
    v, i = _coo(draw)
    return v, i, floats(draw, (SHAPE[1], draw(st.integers(1, 3))))


def _matrix(draw):
    return (floats(draw, (draw(st.integers(1, 4)), draw(st.integers(1, 4)))),)


def _matrix_pair(draw):
    n, m, p = (draw(st.integers(1, 4)) for _ in range(3))
    return floats(draw, (n, m)), floats(draw, (m, p))


def _hybrid(draw):
    return _coo(draw, (2,))


OPS: list[OpInfo] = [
    OpInfo(
        "sparse_coo_tensor",
        lambda lib, v, i: lib.sparse_coo_tensor(i, v, SHAPE).to_dense(),
        _coo,
    ),
    OpInfo(
        "sparse_coo_tensor_hybrid",
        lambda lib, v, i: lib.sparse_coo_tensor(i, v, (*SHAPE, 2)).to_dense(),
        _hybrid,
    ),
    OpInfo("to_sparse", lambda lib, x, w: lib.mm(x.to_sparse(), w), _matrix_pair),
    OpInfo("to_sparse_coo", lambda lib, x: x.to_sparse_coo().to_dense() * 1.5, _matrix),
    OpInfo("to_dense", lambda lib, x: x.to_sparse().to_dense(), _matrix),
    OpInfo(
        "coalesce",
        lambda lib, v, i: lib.sparse_coo_tensor(i, v, SHAPE).coalesce().values(),
        _coo,
    ),
    OpInfo("values", lambda lib, x: x.to_sparse().values() * 1.5, _matrix),
    OpInfo(
        "sparse_mm",
        lambda lib, v, i, w: lib.sparse.mm(lib.sparse_coo_tensor(i, v, SHAPE), w),
        _coo_and_matrix,
    ),
    OpInfo("spmm", lambda lib, x, w: lib.spmm(x.to_sparse(), w), _matrix_pair),
]
