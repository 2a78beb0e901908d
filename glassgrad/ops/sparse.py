"""Sparse COO tensors: ``torch.sparse_coo_tensor``, ``t.to_sparse()``, ``torch.sparse.mm``.

A sparse tensor here keeps PyTorch's view of it (indices of shape ``(sparse_dim, nnz)`` and
values of shape ``(nnz, *dense_dims)``) *and* the dense array they stand for. Ops that PyTorch
gives a sparse meaning (coalesce, values, transpose, scaling, sparse + sparse) keep the sparse
view; every other op computes on the dense array and returns a dense tensor, with the values
PyTorch's sparse kernels give (``torch.mm(adj, x)``, ``torch.eye(n) + adj``). So a graph
network's adjacency matrix behaves as in PyTorch, at the memory cost of its dense form: fine
for a tutorial's graph (Cora: 2708 x 2708), not for a million nodes. In-place ops are refused
(they would change the dense array behind the indices' back).

Gradients follow PyTorch's: ``to_dense()`` and ``torch.sparse.mm`` keep only the positions the
sparse tensor specifies, a dense op (``adj @ x``) passes the whole gradient; a sparse leaf's
``.grad`` is dense (PyTorch's is sparse with the same values).
"""

from __future__ import annotations

import builtins
import re
from typing import Any

import numpy as np

from glassgrad import dtypes, printing
from glassgrad._convert import as_array
from glassgrad.layout import sparse_coo
from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim
from glassgrad.ops.indexing import index_add_zeros
from glassgrad.ops.registry import SPARSE, TORCH, op
from glassgrad.ops.shape import Clone

_ALLOWED_UNDERSCORE = {"requires_grad_", "detach_", "share_memory_"}


class SparseCOOTensor(Tensor):
    """A tensor of layout ``torch.sparse_coo``: indices and values, and the dense array they make.

    >>> import glassgrad as gg
    >>> s = gg.sparse_coo_tensor([[0, 1], [2, 0]], [3.0, 4.0], (2, 3))
    >>> s.to_dense()
    tensor([[0., 0., 3.],
            [4., 0., 0.]])
    """

    __slots__ = ("_coalesced_", "_indices_", "_values_")
    _indices_: np.ndarray  # int64, (sparse_dim, nnz)
    _values_: np.ndarray  # (nnz, *dense_dims)
    _coalesced_: bool

    def __getattribute__(self, name: str) -> Any:
        # every generated in-place method (``mul_``, ``zero_``...) would write the dense array
        # only: refused by name, before it runs
        if name[-1] == "_" and name[0] != "_" and name not in _ALLOWED_UNDERSCORE:
            raise NotImplementedError(
                f"{name}(): glassgrad's sparse COO tensors take no in-place ops (a tensor of "
                f"shape {tuple(object.__getattribute__(self, '_data').shape)}); use the "
                f"out-of-place op, or to_dense() first"
            )
        return object.__getattribute__(self, name)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"glassgrad's sparse COO tensors take no in-place ops (a tensor of shape "
            f"{tuple(self.shape)}); use the out-of-place op, or to_dense() first"
        )

    # ---- what PyTorch answers for a sparse tensor --------------------------------------------
    @property
    def is_sparse(self) -> bool:
        return True

    @property
    def layout(self) -> Any:
        return sparse_coo

    @property
    def data(self) -> Tensor:
        """The same sparse tensor outside the graph."""
        return self.detach()

    @data.setter
    def data(self, value: Any) -> None:
        self._refuse()

    def __repr__(self) -> str:
        indices = _part_repr(self._indices_, 15)
        values = _part_repr(self._values_, 14)
        text = f"tensor(indices={indices},\n       values={values}"
        suffixes = [f"size={tuple(self.shape)}", f"nnz={self._indices_.shape[1]}"]
        if self._data.dtype not in (dtypes.default_float(), np.int64, np.bool_):
            suffixes.append(f"dtype={dtypes.name(self._data.dtype)}")
        suffixes.append("layout=torch.sparse_coo")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return printing.add_suffixes(text, suffixes, 7, force_newline=True)

    __str__ = __repr__

    # ---- ops that keep the sparse view (the dense op records the graph) ----------------------
    def detach(self) -> Tensor:
        return _adopt(Tensor.detach(self), self._indices_, self._values_, self._coalesced_)

    def clone(self, *, memory_format: Any = None) -> Tensor:
        out = Tensor.clone(self)  # type: ignore[attr-defined]
        return _adopt(out, self._indices_.copy(), self._values_.copy(), self._coalesced_)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        out = Tensor.to(self, *args, **kwargs)  # type: ignore[attr-defined]
        if out is self:
            return self
        values = self._values_.astype(out._data.dtype)
        return _adopt(out, self._indices_, values, self._coalesced_)

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        if dtype is None:
            return Tensor.type(self).replace("torch.", "torch.sparse.")
        return _adopt_cast(self, Tensor.type(self, dtype, non_blocking, **kwargs))

    def float(self) -> Tensor:
        return self.to(dtypes.np_float32)

    def double(self) -> Tensor:
        return self.to(dtypes.np_float64)

    def half(self) -> Tensor:
        return self.to(dtypes.np_float16)

    def long(self) -> Tensor:
        return self.to(dtypes.np_int64)

    def int(self) -> Tensor:
        return self.to(dtypes.np_int32)

    def t(self) -> Tensor:
        if self._indices_.shape[0] != 2 or self._values_.ndim != 1:
            raise RuntimeError(
                f"t(): expects a 2-D sparse tensor with 2 sparse dims, got one of shape "
                f"{tuple(self.shape)} with {self._indices_.shape[0]} sparse dims"
            )
        out = Tensor.t(self)  # type: ignore[attr-defined]
        return _adopt(out, self._indices_[::-1].copy(), self._values_, False)

    def transpose(self, dim0: builtins.int, dim1: builtins.int) -> Tensor:
        n = self._indices_.shape[0]
        d0, d1 = check_dim("transpose", dim0, self.ndim), check_dim("transpose", dim1, self.ndim)
        if d0 >= n or d1 >= n:
            raise RuntimeError(
                f"transpose(): glassgrad's sparse tensors swap sparse dims only, got dims "
                f"{dim0} and {dim1} of a tensor of shape {tuple(self.shape)} with {n} sparse dims"
            )
        out = Tensor.transpose(self, d0, d1)  # type: ignore[attr-defined]
        order = list(range(n))
        order[d0], order[d1] = d1, d0
        coalesced = self._coalesced_ and d0 == d1
        return _adopt(out, self._indices_[order], self._values_, coalesced)

    def mul(self, other: Any) -> Tensor:
        if not _is_scalar(other):
            return Tensor.mul(self, other)  # type: ignore[attr-defined]
        out = Tensor.mul(self, other)  # type: ignore[attr-defined]
        return _adopt_scaled(self, out, np.multiply, other)

    def div(self, other: Any, *, rounding_mode: Any = None) -> Tensor:
        if not _is_scalar(other) or rounding_mode is not None:
            return Tensor.div(self, other, rounding_mode=rounding_mode)  # type: ignore[attr-defined]
        out = Tensor.div(self, other)  # type: ignore[attr-defined]
        return _adopt_scaled(self, out, np.true_divide, other)

    def neg(self) -> Tensor:
        out = Tensor.neg(self)  # type: ignore[attr-defined]
        return _adopt(out, self._indices_, -self._values_, self._coalesced_)

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        if not isinstance(other, SparseCOOTensor):
            return Tensor.add(self, other, alpha=alpha)  # type: ignore[attr-defined]
        return _sparse_sum(self, other, alpha)

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        if not isinstance(other, SparseCOOTensor):
            return Tensor.sub(self, other, alpha=alpha)  # type: ignore[attr-defined]
        return _sparse_sum(self, other, -alpha)

    def __mul__(self, other: Any) -> Tensor:
        return self.mul(other)

    def __rmul__(self, other: Any) -> Tensor:
        return self.mul(other) if _is_scalar(other) else Tensor.mul(other, self)  # type: ignore[attr-defined]

    def __truediv__(self, other: Any) -> Tensor:
        return self.div(other)

    def __neg__(self) -> Tensor:
        return self.neg()

    def __add__(self, other: Any) -> Tensor:
        return self.add(other)

    def __sub__(self, other: Any) -> Tensor:
        return self.sub(other)


for _dunder in (
    "__setitem__",
    "__iadd__",
    "__isub__",
    "__imul__",
    "__itruediv__",
    "__ifloordiv__",
    "__imod__",
    "__ipow__",
    "__imatmul__",
    "__iand__",
    "__ior__",
    "__ixor__",
):
    setattr(SparseCOOTensor, _dunder, SparseCOOTensor._refuse)


def _part_repr(a: np.ndarray, indent: int) -> str:
    """``indices=`` or ``values=``'s tensor, its rows lined up under the first (PyTorch shows an
    empty one by its shape, without a dtype)."""
    if a.size == 0:
        return f"tensor([], size={tuple(a.shape)})"
    text = re.sub(r",\s*dtype=[\w.]+\)$", ")", repr(Tensor._make(a)))  # (the size line has it)
    return text.replace("\n", "\n" + " " * indent)


def _is_scalar(x: Any) -> bool:
    if isinstance(x, Tensor):
        return x.ndim == 0 and not isinstance(x, SparseCOOTensor)
    return isinstance(x, (bool, int, float, np.number))


def _adopt(dense: Tensor, indices: np.ndarray, values: np.ndarray, coalesced: bool) -> Tensor:
    """``dense`` (an op's result, with its graph node) as a sparse tensor of these indices."""
    s = object.__new__(SparseCOOTensor)
    s._data = dense._data
    s.grad_fn = dense.grad_fn
    s.requires_grad = dense.requires_grad
    s._grad = None
    s._vc = dense._vc
    s._indices_, s._values_, s._coalesced_ = indices, values, coalesced
    return s


def _adopt_cast(s: SparseCOOTensor, out: Any) -> Any:
    if not isinstance(out, Tensor) or out is s:
        return out
    return _adopt(out, s._indices_, s._values_.astype(out._data.dtype), s._coalesced_)


def _adopt_scaled(s: SparseCOOTensor, out: Tensor, ufunc: Any, other: Any) -> Tensor:
    c = other._data if isinstance(other, Tensor) else other
    values = np.asarray(ufunc(s._values_, c)).astype(out._data.dtype, copy=False)
    return _adopt(out, s._indices_, values, s._coalesced_)


def _sparse_sum(a: SparseCOOTensor, b: SparseCOOTensor, alpha: Any) -> Tensor:
    if a.shape != b.shape or a._indices_.shape[0] != b._indices_.shape[0]:
        raise RuntimeError(
            f"add(): sparse tensors of shapes {tuple(a.shape)} and {tuple(b.shape)} (with "
            f"{a._indices_.shape[0]} and {b._indices_.shape[0]} sparse dims) must match"
        )
    out = Tensor.add(a, b, alpha=alpha)  # type: ignore[attr-defined]
    values = np.concatenate([a._values_, b._values_ * alpha]).astype(out._data.dtype)
    indices, values = _coalesced(
        np.concatenate([a._indices_, b._indices_], axis=1), values, tuple(a.shape)
    )
    return _adopt(out, indices, values, True)


# ---- the index bookkeeping ---------------------------------------------------------------------


def _coalesced(
    indices: np.ndarray, values: np.ndarray, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Indices sorted in row-major order, each once, with the values of repeats summed."""
    n = indices.shape[0]
    if indices.shape[1] == 0:
        return indices, values
    flat = np.ravel_multi_index(tuple(indices), shape[:n])
    unique, inverse = np.unique(flat, return_inverse=True)
    if len(unique) == len(flat):
        order = np.argsort(flat, kind="stable")
        return indices[:, order], values[order]
    summed = np.zeros((len(unique), *values.shape[1:]), values.dtype)
    np.add.at(summed, inverse.reshape(-1), values)
    return np.array(np.unravel_index(unique, shape[:n]), np.int64).reshape(n, -1), summed


def _dense_of(indices: np.ndarray, values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, values.dtype)
    idx, vals = _coalesced(indices, values, shape)
    out[tuple(idx)] = vals
    return out


def _pattern(indices: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A dense bool array, True where the sparse tensor specifies an element."""
    mask = np.zeros(shape, bool)
    mask[tuple(indices)] = True
    return mask


def _check_sparse(name: str, x: Any) -> SparseCOOTensor:
    if not isinstance(x, SparseCOOTensor):
        t = as_tensor(x)
        raise RuntimeError(
            f"{name}(): expected a sparse COO tensor (layout torch.sparse_coo), got a strided "
            f"(dense) tensor of shape {tuple(t.shape)}"
        )
    return x


def _check_coalesced(name: str, x: Any) -> SparseCOOTensor:
    """PyTorch gives ``values()``/``indices()`` of coalesced tensors only (indices may repeat)."""
    s = _check_sparse(name, x)
    if not s._coalesced_:
        raise RuntimeError(
            f"{name}(): cannot get the {name} of an uncoalesced sparse tensor (its indices may "
            "repeat); call .coalesce() first"
        )
    return s


# ---- construction ------------------------------------------------------------------------------


class SparseCooTensorWithDimsAndTensors(Node):
    """The dense array of (indices, values); the gradient of each value is read at its index."""

    __slots__ = ("indices",)

    @staticmethod
    def forward(ctx: Any, values: Any, indices: Any, shape: Any) -> Any:
        ctx.indices = indices
        return _dense_of(indices, values, shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g[tuple(ctx.indices)], None, None


def _index_array(indices: Any) -> np.ndarray:
    idx = indices._data if isinstance(indices, Tensor) else as_array(indices)
    if idx.dtype.kind not in "iu" or idx.ndim != 2:
        raise RuntimeError(
            f"sparse_coo_tensor(): indices must be a 2-D integer tensor of shape (sparse_dim, "
            f"nnz), got dtype {dtypes.name(idx.dtype)} and shape {tuple(idx.shape)}"
        )
    return idx.astype(np.int64)


@op(method=False, namespaces=(TORCH,))
def sparse_coo_tensor(
    indices: Any,
    values: Any,
    size: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants: Any = None,
    is_coalesced: Any = None,
) -> Tensor:
    """A sparse COO tensor with ``values[k]`` at ``indices[:, k]`` (repeats add up)."""
    idx = _index_array(indices)
    v = values if isinstance(values, Tensor) else Tensor._make(as_array(values))
    if dtype is not None:
        v = v.to(dtypes.as_dtype(dtype))
    n, nnz = idx.shape
    if v.ndim == 0 or v.shape[0] != nnz:
        raise RuntimeError(
            f"sparse_coo_tensor(): values must have one entry per index column (shape "
            f"({nnz}, ...)), got values of shape {tuple(v.shape)} for indices of shape "
            f"{tuple(idx.shape)}"
        )
    dense_dims = tuple(v.shape[1:])
    if size is None:
        sparse_sizes = tuple(int(m) + 1 for m in idx.max(axis=1)) if nnz else (0,) * n
        shape = sparse_sizes + dense_dims
    else:
        shape = tuple(int(s) for s in size)
        if len(shape) != n + len(dense_dims) or shape[n:] != dense_dims:
            raise RuntimeError(
                f"sparse_coo_tensor(): size {shape} does not fit indices of {n} sparse dims "
                f"and values of shape {tuple(v.shape)} (expected {n} sizes then {dense_dims})"
            )
    if nnz and (idx.min() < 0 or np.any(idx.max(axis=1) >= np.array(shape[:n]))):
        raise RuntimeError(
            f"sparse_coo_tensor(): indices out of bounds for size {shape}: they range over "
            f"{[(int(lo), int(hi)) for lo, hi in zip(idx.min(axis=1), idx.max(axis=1))]}"
        )
    out = SparseCooTensorWithDimsAndTensors.apply(v, idx, shape)
    coalesced = bool(is_coalesced) if is_coalesced is not None else False
    s = _adopt(out, idx, v._data, coalesced)
    if requires_grad:
        s.requires_grad_(True)
    return s


class ToSparse(Clone):
    """The same values; the whole gradient passes back (as PyTorch's ``ToSparseBackward1``)."""

    __slots__ = ()
    variant = 1


@op(namespaces=(), aliases=("to_sparse_coo",))
def to_sparse(input: Any, sparse_dim: int | None = None, *, layout: Any = None) -> Tensor:
    """This dense tensor as a sparse COO one: its nonzero entries (rows of them with
    ``sparse_dim``), in row-major order."""
    x = as_tensor(input)
    if isinstance(x, SparseCOOTensor):
        return x
    if layout not in (None, sparse_coo):
        raise NotImplementedError(f"to_sparse(): only layout torch.sparse_coo exists, got {layout}")
    n = x.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 < n <= x.ndim:
        raise RuntimeError(
            f"to_sparse(): sparse_dim must be in 1..{x.ndim} for a tensor of shape "
            f"{tuple(x.shape)}, got {sparse_dim}"
        )
    d = x._data
    occupied = d != 0 if n == d.ndim else np.any(d != 0, axis=tuple(range(n, d.ndim)))
    idx = np.array(np.nonzero(occupied), np.int64).reshape(n, -1)
    out = ToSparse.apply(x)
    return _adopt(out, idx, out._data[tuple(idx)], True)


class ToDense(Node):
    """The dense array; only the specified positions pass a gradient back (PyTorch's rule)."""

    __slots__ = ("mask",)

    @staticmethod
    def forward(ctx: Any, x: Any, mask: Any) -> Any:
        ctx.mask = mask
        return x.copy()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.where(ctx.mask, g, 0), None


@op(namespaces=())
def to_dense(input: Any, dtype: Any = None, *, masked_grad: bool = True) -> Tensor:
    """This sparse tensor as a dense one (a dense tensor is returned as it is)."""
    x = as_tensor(input)
    if not isinstance(x, SparseCOOTensor):
        return x if dtype is None else x.to(dtype)
    mask = _pattern(x._indices_, tuple(x.shape[: x._indices_.shape[0]]))
    if x._values_.ndim > 1:
        mask = mask.reshape(mask.shape + (1,) * (x._values_.ndim - 1))
    out = ToDense.apply(x, mask)
    return out if dtype is None else out.to(dtype)


class Coalesce(Clone):
    """The same dense array with each index once: the gradient passes through."""

    __slots__ = ()


@op(namespaces=())
def coalesce(input: Any) -> Tensor:
    """Sorted indices, each once, with the values of repeated ones summed (itself when it is)."""
    s = _check_sparse("coalesce", input)
    if s._coalesced_:
        return s
    idx, values = _coalesced(s._indices_, s._values_, tuple(s.shape))
    return _adopt(Coalesce.apply(s), idx, values, True)


class Values(Node):
    """The values array; each value's gradient goes to its position of the dense array."""

    __slots__ = ("indices", "shape_")

    @staticmethod
    def forward(ctx: Any, dense: Any, values: Any, indices: Any) -> Any:
        ctx.indices, ctx.shape_ = indices, dense.shape
        return values.copy()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return index_add_zeros(g, ctx.shape_, tuple(ctx.indices)), None, None


@op(namespaces=())
def values(input: Any) -> Tensor:
    """The values of a coalesced sparse tensor, shape ``(nnz, *dense_dims)``."""
    s = _check_coalesced("values", input)
    return Values.apply(s, s._values_, s._indices_)


@op(name="_values", namespaces=(), differentiable=False)
def values_uncoalesced(input: Any) -> Tensor:
    """The values as stored, repeats and all, outside the graph (PyTorch's ``_values()``, which
    records no gradient either)."""
    return Tensor._make(_check_sparse("_values", input)._values_.copy())


@op(namespaces=(), differentiable=False)
def indices(input: Any) -> Tensor:
    """The indices of a coalesced sparse tensor, shape ``(sparse_dim, nnz)``."""
    return Tensor._make(_check_coalesced("indices", input)._indices_.copy())


@op(name="_indices", namespaces=(), differentiable=False)
def indices_uncoalesced(input: Any) -> Tensor:
    """The indices as stored, repeats and all (PyTorch's ``_indices()``)."""
    return Tensor._make(_check_sparse("_indices", input)._indices_.copy())


@op(name="_nnz", namespaces=(), differentiable=False)
def nnz(input: Any) -> int:
    """How many index columns the sparse tensor stores."""
    return int(_check_sparse("_nnz", input)._indices_.shape[1])


@op(namespaces=(), differentiable=False)
def is_coalesced(input: Any) -> bool:
    return bool(_check_sparse("is_coalesced", input)._coalesced_)


@op(namespaces=(), differentiable=False)
def sparse_dim(input: Any) -> int:
    """Dims the indices address (0 for a dense tensor)."""
    x = as_tensor(input)
    return int(x._indices_.shape[0]) if isinstance(x, SparseCOOTensor) else 0


@op(namespaces=(), differentiable=False)
def dense_dim(input: Any) -> int:
    """Dims each value has (all of them for a dense tensor)."""
    x = as_tensor(input)
    return int(x._values_.ndim - 1) if isinstance(x, SparseCOOTensor) else x.ndim


# ---- products ----------------------------------------------------------------------------------


class SparseAddmm(Node):
    """sparse @ dense; the sparse operand's gradient is kept to its specified positions."""

    __slots__ = ("mask",)

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any, mask: Any) -> Any:
        ctx.save_for_backward(x, y)
        ctx.mask = mask
        return np.matmul(x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.next[:2]
        gx = np.where(ctx.mask, np.matmul(g, np.swapaxes(y, -1, -2)), 0) if nx is not None else None
        gy = np.matmul(np.swapaxes(x, -1, -2), g) if ny is not None else None
        return gx, gy, None


@op(name="sparse_mm", method=False, namespaces=(SPARSE,))
def sparse_mm(sparse: Any, dense: Any, reduce: str | None = None) -> Tensor:
    """``torch.sparse.mm``: a sparse matrix times a dense one, dense result; the sparse
    operand's gradient stays on its pattern (PyTorch's rule for this function)."""
    if reduce is not None:
        raise NotImplementedError(f"torch.sparse.mm(): reduce={reduce!r} is not supported")
    a, b = as_tensor(sparse), as_tensor(dense)
    if not isinstance(a, SparseCOOTensor):
        return a @ b  # torch.sparse.mm of two dense matrices is their product
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"torch.sparse.mm(): expected a (n, m) sparse and a (m, p) dense matrix, got shapes "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"torch.sparse.mm(): expected both operands to have the same dtype, got "
            f"{a.dtype} and {b.dtype}"
        )
    return SparseAddmm.apply(a, b, _pattern(a._indices_, tuple(a.shape)))


@op(method=False)
def spmm(input: Any, mat2: Any) -> Tensor:
    """``torch.spmm``: a (sparse or dense) matrix times a dense one; PyTorch records it as
    ``mm`` (``MmBackward0``), whose gradient is the dense one."""
    from glassgrad.ops.linalg import mm

    return mm(input, mat2)
