"""Linear algebra: matmul and its strict forms (mm, bmm, mv, dot), outer, tensordot, einsum, linear.

Every product's gradient is again a product of ``g`` with the other operand, so each rule is
written with ``np.matmul`` / ``np.tensordot`` / ``np.einsum``, which dispatch back to these very
ops under ``create_graph``: the products are differentiable to any order.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from glassgrad.ops._common import (
    Node,
    Tensor,
    _cast,
    _promote_tensors,
    _scalar,
    as_tensor,
    check_dim,
)
from glassgrad.ops.complex_ops import conj
from glassgrad.ops.elementwise import mul
from glassgrad.ops.registry import FUNCTIONAL, LINALG, TORCH, op
from glassgrad.ops.shape import clone, reshape, transpose


def _mT(a: Any) -> Any:
    return np.swapaxes(a, -1, -2)


def _shape(t: Tensor) -> str:
    return "x".join(str(n) for n in t.shape)


def _same_dtype(op: str, x: Tensor, y: Tensor) -> None:
    if x.dtype != y.dtype:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, but got {x.dtype} and "
            f"{y.dtype} (shapes {tuple(x.shape)} and {tuple(y.shape)})"
        )


class Matmul(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return np.matmul(x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.next
        if x.ndim >= 2 and y.ndim >= 2:  # batch dims that broadcast are summed by the engine
            gx = np.matmul(g, _mT(y)) if nx is not None else None
            gy = np.matmul(_mT(x), g) if ny is not None else None
            return gx, gy
        if x.ndim == 1 and y.ndim == 1:  # dot product
            return (g * y if nx is not None else None), (g * x if ny is not None else None)
        gx = gy = None
        if x.ndim == 1:  # x is a row vector that the result does not keep
            if nx is not None:
                gx = np.sum(np.matmul(np.expand_dims(g, -2), _mT(y)), axis=-2)
            if ny is not None:
                gy = np.expand_dims(x, -1) * np.expand_dims(g, -2)
        else:  # y is a column vector that the result does not keep
            if nx is not None:
                gx = np.expand_dims(g, -1) * y
            if ny is not None:
                gy = np.sum(np.matmul(np.expand_dims(g, -2), x), axis=-2)
        return gx, gy


# The strict forms share matmul's rule; subclasses only give the graph node PyTorch's name.
class Mm(Matmul):
    __slots__ = ()
    saved_names = ("self", "mat2")


class Bmm(Matmul):
    __slots__ = ()
    saved_names = ("self", "mat2")


class Mv(Matmul):
    __slots__ = ()


class Dot(Matmul):
    __slots__ = ()


class Vdot(Matmul):
    __slots__ = ()


@op(
    operators=("__matmul__",),
    reflected=("__rmatmul__",),
    numpy=np.matmul,
    namespaces=(TORCH, LINALG),
)
def matmul(input: Any, other: Any) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: vectors, matrices and broadcast batches.

    >>> import glassgrad as gg
    >>> (gg.ones(2, 3) @ gg.ones(3)).tolist()
    [3.0, 3.0]
    """
    x, y = as_tensor(input), as_tensor(other)
    if x.ndim == 0 or y.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dimension, got shapes {tuple(x.shape)} "
            f"and {tuple(y.shape)}"
        )
    kx = x.shape[-1]
    ky = y.shape[-2] if y.ndim >= 2 else y.shape[0]
    if kx != ky:
        raise RuntimeError(
            f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be multiplied "
            f"(inner dimensions {kx} and {ky} differ)"
        )
    if x._data.dtype != y._data.dtype:
        _same_dtype("matmul", x, y)
    # PyTorch's node for the ranks it maps to mm/mv/dot (batched products: MatmulBackward0 here)
    nx, ny = x._data.ndim, y._data.ndim
    if nx == 2:
        cls: type[Matmul] = Mm if ny == 2 else Mv if ny == 1 else Matmul
    else:
        cls = Dot if nx == 1 and ny == 1 else Matmul
    try:
        return cls.apply(x, y)
    except ValueError as e:
        raise RuntimeError(
            f"matmul: batch dimensions of {tuple(x.shape)} and {tuple(y.shape)} do not "
            f"broadcast ({e})"
        ) from None


@op
def mm(input: Any, mat2: Any) -> Tensor:
    """Product of two matrices; unlike ``matmul`` it accepts 2-D operands only."""
    x, y = as_tensor(input), as_tensor(mat2)
    if x.ndim != 2 or y.ndim != 2:
        raise RuntimeError(
            f"mm: {'self' if x.ndim != 2 else 'mat2'} must be a matrix, got shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape[1] != y.shape[0]:
        raise RuntimeError(
            f"mm: mat1 and mat2 shapes cannot be multiplied ({_shape(x)} and {_shape(y)})"
        )
    _same_dtype("mm", x, y)
    return Mm.apply(x, y)


@op
def bmm(input: Any, mat2: Any) -> Tensor:
    """Batched product of (b, n, m) and (b, m, p) tensors; no broadcasting, as in PyTorch."""
    x, y = as_tensor(input), as_tensor(mat2)
    if x.ndim != 3 or y.ndim != 3:
        raise RuntimeError(
            f"bmm: {'batch1' if x.ndim != 3 else 'batch2'} must be a 3D tensor, got shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    if y.shape[:2] != (x.shape[0], x.shape[2]):
        raise RuntimeError(
            f"bmm: expected size for first two dimensions of batch2 tensor to be: "
            f"[{x.shape[0]}, {x.shape[2]}] but got: [{y.shape[0]}, {y.shape[1]}] "
            f"(shapes {tuple(x.shape)} and {tuple(y.shape)})"
        )
    _same_dtype("bmm", x, y)
    return Bmm.apply(x, y)


@op
def mv(input: Any, vec: Any) -> Tensor:
    """Matrix (n, m) times vector (m,)."""
    x, y = as_tensor(input), as_tensor(vec)
    if x.ndim != 2 or y.ndim != 1 or x.shape[1] != y.shape[0]:
        raise RuntimeError(
            f"mv: expected a matrix (n, m) and a vector (m,), got input {tuple(x.shape)} and "
            f"vec {tuple(y.shape)}"
        )
    _same_dtype("mv", x, y)
    return Mv.apply(x, y)


@op(numpy={np.dot: lambda a, b, out=None: _np_dot(as_tensor(a), as_tensor(b))})
def dot(input: Any, tensor: Any) -> Tensor:
    """Inner product of two 1-D tensors of the same length."""
    return _dot("dot", Dot, input, tensor)


@op
def vdot(input: Any, other: Any) -> Tensor:
    """``dot`` that would conjugate its first argument (real tensors here: the same product)."""
    return _dot("vdot", Vdot, input, other)


def _dot(op: str, cls: type[Matmul], input: Any, tensor: Any) -> Tensor:
    x, y = as_tensor(input), as_tensor(tensor)
    if x.ndim != 1 or y.ndim != 1:
        raise RuntimeError(
            f"{op}: 1D tensors expected, but got {x.ndim}D and {y.ndim}D tensors (shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)})"
        )
    if x.shape[0] != y.shape[0]:
        raise RuntimeError(
            f"{op}: inconsistent tensor size, expected tensor [{x.shape[0]}] and src "
            f"[{y.shape[0]}] to have the same number of elements"
        )
    _same_dtype(op, x, y)
    return cls.apply(x, y)


@op(numpy=np.inner)
def inner(input: Any, other: Any) -> Tensor:
    """Sum of products over the last dimension of both (a scalar times a tensor for 0-d)."""
    x, y = as_tensor(input), as_tensor(other)
    if x.ndim == 0 or y.ndim == 0:
        return mul(x, y)
    return tensordot(x, y, dims=([-1], [-1]))


class Outer(Node):
    __slots__ = ()
    op_name = "Mul"  # PyTorch computes outer(x, y) as x[:, None] * y

    @staticmethod
    def forward(ctx: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return np.multiply.outer(x, y)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, y = ctx.saved_tensors
        nx, ny = ctx.next
        return (g @ y if nx is not None else None), (x @ g if ny is not None else None)


@op(
    aliases=("ger",),
    numpy={np.outer: lambda a, b, out=None: outer(reshape(a, (-1,)), reshape(b, (-1,)))},
)
def outer(input: Any, vec2: Any) -> Tensor:
    """Outer product of two vectors: ``out[i, j] = input[i] * vec2[j]``.

    >>> import glassgrad as gg
    >>> gg.outer(gg.tensor([1.0, 2.0]), gg.tensor([3.0, 4.0])).tolist()
    [[3.0, 4.0], [6.0, 8.0]]
    """
    x, y = as_tensor(input), as_tensor(vec2)
    for name, t in (("self", x), ("vec2", y)):
        if t.ndim != 1:
            raise RuntimeError(
                f"outer: Expected 1-D argument {name}, but got {t.ndim}-D (shape {tuple(t.shape)})"
            )
    if x._data.dtype != y._data.dtype:  # promoted as x[:, None] * y is (RoPE: int positions)
        dtype = _promote_tensors(x._data, y._data)
        x, y = _cast(x, dtype), _cast(y, dtype)
    return Outer.apply(x, y)


class Tensordot(Node):
    __slots__ = ("axes_a", "axes_b", "perm_a", "perm_b")

    @staticmethod
    def forward(ctx: Any, a: Any, b: Any, axes_a: Any, axes_b: Any) -> Any:
        ctx.axes_a, ctx.axes_b = axes_a, axes_b
        ctx.save_for_backward(a, b)
        return np.tensordot(a, b, axes=(axes_a, axes_b))

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        a, b = ctx.saved_tensors
        na, nb = ctx.next[:2]
        ca, cb = ctx.axes_a, ctx.axes_b
        free_a = [i for i in range(a.ndim) if i not in ca]
        free_b = [i for i in range(b.ndim) if i not in cb]
        k = len(free_a)
        ga = gb = None
        if na is not None:
            # g's b-part contracts with b's free axes; what is left are b's contracted axes, in
            # increasing order, each standing for the axis of a it was paired with
            r = np.tensordot(g, b, axes=(list(range(k, g.ndim)), free_b))
            ga = _unpermute(r, free_a + [ca[cb.index(j)] for j in sorted(cb)])
        if nb is not None:
            r = np.tensordot(a, g, axes=(free_a, list(range(k))))
            gb = _unpermute(r, [cb[ca.index(i)] for i in sorted(ca)] + free_b)
        return ga, gb, None, None


def _unpermute(r: Any, order: list[int]) -> Any:
    """``r``'s axes stand for the axes ``order`` of the input: put them back in place."""
    if order == sorted(order):
        return r
    return np.transpose(r, tuple(int(i) for i in np.argsort(order)))


@op(method=False, numpy={np.tensordot: lambda a, b, axes=2: tensordot(a, b, dims=axes)})
def tensordot(a: Any, b: Any, dims: Any = 2) -> Tensor:
    """Contract the last ``dims`` axes of ``a`` with the first of ``b``, or the listed pairs.

    ``dims`` is an int or a pair of axis lists, e.g. ``dims=([1, 0], [0, 1])``.
    """
    x, y = as_tensor(a), as_tensor(b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > x.ndim or dims > y.ndim:
            raise RuntimeError(
                f"tensordot: dims={dims} is more than the number of dimensions of a "
                f"{tuple(x.shape)} or b {tuple(y.shape)}"
            )
        ca, cb = list(range(x.ndim - dims, x.ndim)), list(range(dims))
    else:
        if len(dims) != 2:
            raise RuntimeError(
                f"tensordot expects dims to be an int or a pair of lists, got {dims}"
            )
        da, db = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
        if len(da) != len(db):
            raise RuntimeError(
                f"tensordot: both dimension lists should have same length, got {da} and {db}"
            )
        ca = [check_dim("tensordot", int(d), x.ndim) for d in da]
        cb = [check_dim("tensordot", int(d), y.ndim) for d in db]
        if len(set(ca)) != len(ca) or len(set(cb)) != len(cb):
            raise RuntimeError(f"tensordot: a dimension appears twice in dims {da}, {db}")
    for i, j in zip(ca, cb):
        if x.shape[i] != y.shape[j]:
            raise RuntimeError(
                f"tensordot: contracted dimensions need to match, but first has size "
                f"{x.shape[i]} in dim {i} and second has size {y.shape[j]} in dim {j} (shapes "
                f"{tuple(x.shape)} and {tuple(y.shape)})"
            )
    _same_dtype("tensordot", x, y)
    return Tensordot.apply(x, y, ca, cb)


class Linear(Node):
    # NOTE: fused x @ W.T + b: one node instead of three, and no transposed copy of W is kept.
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, w: Any, b: Any) -> Any:
        ctx.save_for_backward(x, w)
        out = np.matmul(x, w.T)
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.next
        gx = np.matmul(g, w) if nx is not None else None
        gw = gb = None
        if nw is not None:
            if g.ndim == 2:
                gw = np.matmul(g.T, x)
            elif g.ndim == 1:
                gw = np.multiply.outer(g, x) if not isinstance(g, Tensor) else outer(g, x)
            else:  # fold the batch dims (explicit sizes: -1 is ambiguous for empty batches)
                n = math.prod(g.shape[:-1])
                gw = np.matmul(g.reshape(n, g.shape[-1]).T, x.reshape(n, x.shape[-1]))
        if nb is not None:
            # np.add.reduce: np.sum's Python wrapper costs as much as the sum at these sizes
            gb = np.add.reduce(g, axis=tuple(range(g.ndim - 1))) if g.ndim != 1 else g
        return gx, gw, gb


class Addmm(Linear):
    __slots__ = ()
    next_order = (2, 0, 1)  # PyTorch's addmm(bias, input, weight.t())


class LinearMm(Linear):
    __slots__ = ()
    op_name = "Mm"
    next_order = (0, 1)  # mm(input, weight.t()): no bias edge


@op(method=False, namespaces=(FUNCTIONAL,))
def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:
    """y = x Wᵀ + b, with W of shape (out_features, in_features) as in ``torch.nn.Linear``."""
    x, w = as_tensor(input), as_tensor(weight)
    xs, ws = x._data.shape, w._data.shape  # (the arrays' tuples: cheaper than Tensor.shape)
    if len(ws) != 2 or not xs or xs[-1] != ws[1]:
        raise RuntimeError(
            f"linear: input of shape {tuple(x.shape)} does not match weight of shape "
            f"{tuple(w.shape)} (expected input[..., {w.shape[1] if w.ndim == 2 else '?'}] and "
            "a 2-D weight (out_features, in_features))"
        )
    if bias is not None:
        b = as_tensor(bias)
        if b._data.shape != (ws[0],):
            raise RuntimeError(
                f"linear: bias of shape {tuple(b.shape)} does not match weight of shape "
                f"{tuple(w.shape)} (expected ({w.shape[0]},))"
            )
        bias = b
    if x._data.dtype != w._data.dtype:
        raise RuntimeError(f"linear: input dtype {x.dtype} and weight dtype {w.dtype} differ")
    # PyTorch's node for a batch of vectors: addmm (with a bias) or mm
    if x._data.ndim == 2:
        return (LinearMm if bias is None else Addmm).apply(x, w, bias)
    return Linear.apply(x, w, bias)


def _np_dot(a: Tensor, b: Tensor) -> Tensor:
    """``np.dot``: a's last axis with b's second-to-last (its only one when b is 1-D)."""
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    return tensordot(a, b, dims=([a.ndim - 1], [max(b.ndim - 2, 0)]))


# ---- beta * input + alpha * product: addmm, addmv, addr, baddbmm, addbmm ----------------------


def _scaled(t: Any, s: Any) -> Any:
    """``t * s``, skipping the multiplication when ``s`` is 1 (the common case)."""
    return t if s == 1 else t * s


class _AddProduct(Node):
    """``beta * input + alpha * product(a, b)``; ``beta == 0`` ignores ``input`` (NaN included),
    as PyTorch does. Subclasses give the product and its two partial products."""

    __slots__ = ("alpha", "beta")

    @staticmethod
    def product(a: Any, b: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def grads(g: Any, a: Any, b: Any, need_a: bool, need_b: bool) -> tuple[Any, Any]:
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx: Any, x: Any, a: Any, b: Any, beta: Any, alpha: Any) -> Any:
        ctx.beta, ctx.alpha = beta, alpha
        ctx.save_for_backward(a, b)
        p = _scaled(cls.product(a, b), alpha)
        if beta == 0:
            return np.broadcast_to(p, np.broadcast_shapes(p.shape, x.shape)).astype(p.dtype)
        out = _scaled(x, beta) + p
        return out.astype(p.dtype, copy=False)

    @classmethod
    def backward(cls, ctx: Any, g: Any) -> Any:
        a, b = ctx.saved_tensors
        nx, na, nb = ctx.next[:3]
        gx = _scaled(g, ctx.beta) if nx is not None else None
        ga, gb = cls.grads(g, a, b, na is not None, nb is not None)
        if ctx.alpha != 1:
            ga = ga * ctx.alpha if ga is not None else None
            gb = gb * ctx.alpha if gb is not None else None
        return gx, ga, gb, None, None


class AddmmFull(_AddProduct):  # (n, m) @ (m, p)
    __slots__ = ()
    op_name = "Addmm"

    @staticmethod
    def product(a: Any, b: Any) -> Any:
        return np.matmul(a, b)

    @staticmethod
    def grads(g: Any, a: Any, b: Any, need_a: bool, need_b: bool) -> tuple[Any, Any]:
        return (np.matmul(g, _mT(b)) if need_a else None), (
            np.matmul(_mT(a), g) if need_b else None
        )


class Baddbmm(AddmmFull):  # (B, n, m) @ (B, m, p)
    __slots__ = ()
    op_name = "Baddbmm"


class Addbmm(_AddProduct):  # sum over the batch of (B, n, m) @ (B, m, p)
    __slots__ = ()

    @staticmethod
    def product(a: Any, b: Any) -> Any:
        return np.sum(np.matmul(a, b), axis=0)

    @staticmethod
    def grads(g: Any, a: Any, b: Any, need_a: bool, need_b: bool) -> tuple[Any, Any]:
        g3 = np.expand_dims(g, 0)
        ga = np.matmul(g3, _mT(b)) if need_a else None
        gb = np.matmul(_mT(a), g3) if need_b else None
        return ga, gb


class Addmv(_AddProduct):  # (n, m) @ (m,)
    __slots__ = ()

    @staticmethod
    def product(a: Any, b: Any) -> Any:
        return np.matmul(a, b)

    @staticmethod
    def grads(g: Any, a: Any, b: Any, need_a: bool, need_b: bool) -> tuple[Any, Any]:
        ga = np.expand_dims(g, -1) * b if need_a else None
        gb = np.matmul(g, a) if need_b else None
        return ga, gb


class Addr(_AddProduct):  # outer product of (n,) and (p,)
    __slots__ = ()

    @staticmethod
    def product(a: Any, b: Any) -> Any:
        return np.multiply.outer(a, b)

    @staticmethod
    def grads(g: Any, a: Any, b: Any, need_a: bool, need_b: bool) -> tuple[Any, Any]:
        return (np.matmul(g, b) if need_a else None), (np.matmul(a, g) if need_b else None)


def _add_product(
    op: str, cls: type[_AddProduct], input: Any, a: Any, b: Any, beta: Any, alpha: Any
) -> Tensor:
    """Checks shared by the ``add*`` products: dtypes agree, ``input`` broadcasts to the
    product's shape (and, in place, equals it: the generated ``op_`` writes the result back)."""
    x, ta, tb = as_tensor(input), as_tensor(a), as_tensor(b)
    for t in (ta, tb):
        if t.dtype != x.dtype:
            raise RuntimeError(
                f"{op}: expected all operands to have the same dtype, but got input "
                f"{x.dtype}, {ta.dtype} and {tb.dtype} (shapes {tuple(x.shape)}, "
                f"{tuple(ta.shape)} and {tuple(tb.shape)})"
            )
    shape = _PRODUCT_SHAPE[op](ta._data.shape, tb._data.shape)
    try:
        if np.broadcast_shapes(x._data.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise RuntimeError(
            f"{op}: input of shape {tuple(x.shape)} does not broadcast to the product's shape "
            f"{shape} (operands {tuple(ta.shape)} and {tuple(tb.shape)})"
        ) from None
    beta, alpha = _scalar(beta), _scalar(alpha)  # (np.float64 must not make float32 float64)
    if x._data.dtype.kind in "iub":  # PyTorch truncates float scalars for integer tensors
        beta, alpha = int(beta), int(alpha)
    return cls.apply(x, ta, tb, beta, alpha)


def _need(op: str, names: tuple[str, str], dims: tuple[int, int], sa: Any, sb: Any) -> None:
    for name, want, s in zip(names, dims, (sa, sb)):
        if len(s) != want:
            raise RuntimeError(
                f"{op}: {name} must be a {want}D tensor, got shapes {tuple(sa)} and {tuple(sb)}"
            )


def _mm_shape(sa: Any, sb: Any) -> tuple[int, ...]:
    _need("addmm", ("mat1", "mat2"), (2, 2), sa, sb)
    if sa[1] != sb[0]:
        raise RuntimeError(
            f"addmm: mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and "
            f"{sb[0]}x{sb[1]})"
        )
    return (sa[0], sb[1])


def _mv_shape(sa: Any, sb: Any) -> tuple[int, ...]:
    _need("addmv", ("mat", "vec"), (2, 1), sa, sb)
    if sa[1] != sb[0]:
        raise RuntimeError(
            f"addmv: size mismatch, got mat {tuple(sa)} and vec {tuple(sb)} (inner dimensions "
            f"{sa[1]} and {sb[0]} differ)"
        )
    return (sa[0],)


def _r_shape(sa: Any, sb: Any) -> tuple[int, ...]:
    _need("addr", ("vec1", "vec2"), (1, 1), sa, sb)
    return (sa[0], sb[0])


def _bmm_shape(op: str) -> Any:
    def shape(sa: Any, sb: Any) -> tuple[int, ...]:
        _need(op, ("batch1", "batch2"), (3, 3), sa, sb)
        if sa[0] != sb[0] or sa[2] != sb[1]:
            raise RuntimeError(
                f"{op}: batch1 {tuple(sa)} and batch2 {tuple(sb)} cannot be multiplied (expected "
                f"batch2 of shape ({sa[0]}, {sa[2]}, p))"
            )
        return (sa[0], sa[1], sb[2]) if op == "baddbmm" else (sa[1], sb[2])

    return shape


_PRODUCT_SHAPE = {
    "addmm": _mm_shape,
    "addmv": _mv_shape,
    "addr": _r_shape,
    "baddbmm": _bmm_shape("baddbmm"),
    "addbmm": _bmm_shape("addbmm"),
}


@op(inplace=True)
def addmm(input: Any, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to the product's shape."""
    return _add_product("addmm", AddmmFull, input, mat1, mat2, beta, alpha)


@op(inplace=True)
def addmv(input: Any, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    return _add_product("addmv", Addmv, input, mat, vec, beta, alpha)


@op(inplace=True)
def addr(input: Any, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    return _add_product("addr", Addr, input, vec1, vec2, beta, alpha)


@op(inplace=True)
def baddbmm(input: Any, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``, one product per batch entry."""
    return _add_product("baddbmm", Baddbmm, input, batch1, batch2, beta, alpha)


@op(inplace=True)
def addbmm(input: Any, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``: the batch is summed."""
    return _add_product("addbmm", Addbmm, input, batch1, batch2, beta, alpha)


@op(method=False)
def chain_matmul(*matrices: Any) -> Tensor:
    """The product of 2-D tensors, left to right (deprecated in PyTorch for linalg.multi_dot)."""
    warnings.warn(
        "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. "
        "Use torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather "
        "than multiple parameters.",
        UserWarning,
        stacklevel=3,
    )
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    ts = [as_tensor(m) for m in matrices]
    for k, t in enumerate(ts):
        if t.ndim != 2:
            raise RuntimeError(
                f"chain_matmul(): Tensor {k} must have 2 dimensions, got shape {tuple(t.shape)}"
            )
    if len(ts) == 1:
        return clone(ts[0])
    result = ts[0]
    for t in ts[1:]:
        result = mm(result, t)
    return result


@op
def adjoint(input: Any) -> Tensor:
    """The conjugate transpose of the last two dims (a transposed view for real tensors)."""
    x = as_tensor(input)
    if x.ndim < 2:
        raise RuntimeError(
            f"adjoint(): tensor.adjoint() is only supported on matrices or batches of matrices. "
            f"Got {x.ndim}-D tensor."
        )
    out = transpose(x, -2, -1)
    return conj(out) if x._data.dtype.kind == "c" else out


@op(name="mH", namespaces=(), is_property=True)
def matrix_adjoint(input: Tensor) -> Tensor:
    """``t.mH``: the conjugate transpose of the last two dims (``adjoint``)."""
    return adjoint(input)


@op(name="H", namespaces=(), is_property=True)
def matrix_h(input: Tensor) -> Tensor:
    """``t.H``: the conjugate transpose of a matrix (2-D tensor); a 0-D tensor's conjugate."""
    x = as_tensor(input)
    if x.ndim == 0:
        return conj(x) if x._data.dtype.kind == "c" else x
    if x.ndim != 2:
        raise RuntimeError(
            f"tensor.H is only supported on matrices (2-D tensors). Got {x.ndim}-D tensor."
        )
    return adjoint(x)
