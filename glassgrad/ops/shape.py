"""Shape ops: they move or view elements without changing them, so each backward undoes the move.

Results that share memory with their input (reshape, permute, expand, squeeze...) share its
version counter, so an in-place change through either one is seen by backward's checks.
Joining and splitting (cat, stack, split, chunk...) live in ``glassgrad.ops.joining`` and are
re-exported from here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.device import parse_to
from glassgrad.ops import indexing
from glassgrad.ops._common import Node, Tensor, as_tensor, check_dim, normalize_dims
from glassgrad.ops.indexing import view_of as _view_of
from glassgrad.ops.joining import _named_shape, _shape_arg
from glassgrad.ops.registry import numpy_queries, op

# ---- reshape and view -------------------------------------------------------------------------


class Reshape(Node):
    __slots__ = ("in_shape",)

    @staticmethod
    def forward(ctx: Any, x: Any, shape: Any) -> Any:
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g.reshape(ctx.in_shape), None


class View(Node):
    __slots__ = ("in_shape",)

    @staticmethod
    def forward(ctx: Any, x: Any, shape: Any) -> Any:
        ctx.in_shape = x.shape
        return np.reshape(x, shape, copy=False)  # raises where a copy would be needed

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g.reshape(ctx.in_shape), None


# PyTorch's name for a reshape says how it was done: ``ViewBackward0`` for a view of contiguous
# memory, ``ReshapeAliasBackward0`` for a view of strided memory, ``UnsafeViewBackward0`` for a
# copy; squeeze/unsqueeze have their own. These compute what Reshape computes.


class ViewReshape(Reshape):
    __slots__ = ()
    op_name = "View"


class ReshapeAlias(Reshape):
    __slots__ = ()


class UnsafeView(Reshape):
    __slots__ = ()


class Squeeze(Reshape):
    __slots__ = ()


class SqueezeDim(Reshape):
    __slots__ = ()
    op_name = "Squeeze"
    variant = 1


class SqueezeDims(Reshape):
    __slots__ = ()
    op_name = "Squeeze"
    variant = 2


class Unsqueeze(Reshape):
    __slots__ = ()


def _reshape_node(x: np.ndarray, shape: tuple[int, ...]) -> type[Reshape]:
    """The node class of ``x.reshape(shape)`` for a non-contiguous ``x`` (see above)."""
    try:
        np.reshape(x, shape, copy=False)
    except ValueError:
        return UnsafeView
    return ReshapeAlias


def _shape_error(op: str, x: Tensor, shape: tuple[int, ...]) -> RuntimeError:
    """Why ``shape`` can't hold ``x``'s elements, in PyTorch's words; None if it can."""
    if shape.count(-1) > 1:
        return RuntimeError(f"{op}: only one dimension can be inferred")
    for s in shape:
        if s < -1:
            return RuntimeError(f"{op}: invalid shape dimension {s}")
    known = math.prod(s for s in shape if s != -1)
    n = x._data.size
    if (n != known) if -1 not in shape else (known == 0 or n % known):
        return RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
    return RuntimeError(
        f"view size is not compatible with input tensor's size and stride (at least one "
        f"dimension spans across two contiguous subspaces): viewing shape {tuple(x.shape)} as "
        f"{list(shape)}. Use .reshape(...) instead."
    )


@op(
    numpy={
        np.reshape: lambda a, shape=None, **kw: reshape(
            a, shape if shape is not None else kw["newshape"]
        )
    }
)
def reshape(input: Any, *sizes: Any, shape: Any = None) -> Tensor:
    """The same elements in a new shape (-1 infers one size): a view when possible, else a copy.

    >>> import glassgrad as gg
    >>> gg.arange(6.0).reshape(2, -1)
    tensor([[0., 1., 2.],
            [3., 4., 5.]])
    """
    x = input if isinstance(input, Tensor) else as_tensor(input)
    shape = sizes if shape is None else _named_shape("reshape", "shape", sizes, shape)
    if len(shape) == 1 and type(shape[0]) is not int:
        shape = _shape_arg(shape)
    if shape and min(shape) < -1:  # NumPy would read any negative size as "infer"
        raise _shape_error("reshape", x, shape)
    try:
        data = x._data
        cls = ViewReshape if data.flags.c_contiguous else _reshape_node(data, shape)
        out = cls.apply(x, shape)
    except ValueError:
        raise _shape_error("reshape", x, shape) from None
    return _view_of(out, x)


def _reshape_to(x: Tensor, shape: tuple[int, ...], cls: type[Reshape] | None = None) -> Tensor:
    """``reshape`` for a shape already known to fit (no parsing, no checks)."""
    if cls is None:
        data = x._data
        cls = ViewReshape if data.flags.c_contiguous else _reshape_node(data, shape)
    return _view_of(cls.apply(x, shape), x)


@op(namespaces=())
def view(input: Any, *shape: Any, size: Any = None) -> Tensor:
    """A view with a new shape; like PyTorch, refuses where the memory layout would need a copy."""
    x = input if isinstance(input, Tensor) else as_tensor(input)
    if size is not None:
        shape = _named_shape("view", "size", shape, size)
    if len(shape) == 1 and type(shape[0]) is not int:
        shape = _shape_arg(shape)
    if shape and min(shape) < -1:
        raise _shape_error("view", x, shape)
    try:
        out = View.apply(x, shape)
    except ValueError:
        raise _shape_error("view", x, shape) from None
    return _view_of(out, x)


@op(namespaces=())
def view_as(input: Any, other: Any) -> Tensor:
    return view(input, other.shape)


@op(namespaces=())
def reshape_as(input: Any, other: Any) -> Tensor:
    return reshape(input, other.shape)


@op
def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim`` .. ``end_dim`` into one (a 0-d tensor becomes shape (1,))."""
    x = as_tensor(input)
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = check_dim("flatten", start_dim, x.ndim), check_dim("flatten", end_dim, x.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return x
    shp = x.shape
    return _reshape_to(x, (*shp[:s], math.prod(shp[s : e + 1]), *shp[e + 1 :]))


@op(numpy={np.ravel: lambda a, order="C": ravel(a)})
def ravel(input: Any) -> Tensor:
    """All elements as a 1-D tensor (a view when possible)."""
    x = as_tensor(input)
    return _reshape_to(x, (x._data.size,), ViewReshape)  # PyTorch: contiguous().view(-1)


@op
def unflatten(input: Any, dim: int, sizes: Any) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one of them may be -1)."""
    x = as_tensor(input)
    d = check_dim("unflatten", dim, x.ndim)
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = x.shape[d]
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1 or (n != known if -1 not in sizes else (known == 0 or n % known)):
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
            f"({n}) in the input tensor"
        )
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    return reshape(x, (*x.shape[:d], *sizes, *x.shape[d + 1 :]))


@op(inplace="view", numpy={np.squeeze: lambda a, axis=None: squeeze(a, axis)})
def squeeze(input: Any, dim: Any = None) -> Tensor:
    """Remove dims of size 1 (only those in ``dim`` if given; others are left alone)."""
    x = as_tensor(input)
    if dim is None:
        axes: Any = range(x.ndim)
    elif isinstance(dim, (tuple, list)):
        axes = normalize_dims("squeeze", dim, x.ndim) if dim else ()
    else:
        axes = (check_dim("squeeze", dim, x.ndim),)
    drop = {a for a in axes if a < x.ndim and x.shape[a] == 1}
    cls = Squeeze if dim is None else SqueezeDims if isinstance(dim, (tuple, list)) else SqueezeDim
    return _reshape_to(x, tuple(s for i, s in enumerate(x.shape) if i not in drop), cls)


@op(inplace="view", numpy={np.expand_dims: lambda a, axis: _np_expand_dims(a, axis)})
def unsqueeze(input: Any, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    x = as_tensor(input)
    d = check_dim("unsqueeze", dim, x.ndim + 1)
    shape = x._data.shape
    return _reshape_to(x, (*shape[:d], 1, *shape[d:]), Unsqueeze)


# ---- permuting dims -----------------------------------------------------------------------------


class Permute(Node):
    __slots__ = ("dims",)

    @staticmethod
    def forward(ctx: Any, x: Any, dims: Any) -> Any:
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return np.transpose(g, tuple(np.argsort(ctx.dims).tolist())), None


class Transpose(Permute):
    __slots__ = ()


class T(Permute):
    """``t()``: PyTorch's ``TBackward0``."""

    __slots__ = ()


@op(
    numpy={
        np.transpose: lambda a, axes=None: permute(
            a, axes if axes is not None else tuple(reversed(range(a.ndim)))
        )
    }
)
def permute(input: Any, *args: Any, dims: Any = None) -> Tensor:
    """Reorder dimensions; the gradient is permuted back by the inverse permutation."""
    x = input if isinstance(input, Tensor) else as_tensor(input)
    dims = args if dims is None else _named_shape("permute", "dims", args, dims)
    if len(dims) == 1 and type(dims[0]) is not int:
        dims = _shape_arg(dims)
    n = x._data.ndim
    if len(dims) != n:
        raise RuntimeError(
            f"permute(): number of dims don't match: input.dim() = {n} is not equal to "
            f"len(dims) = {len(dims)}"
        )
    wrapped = tuple([d if 0 <= d < n else check_dim("permute", d, n) for d in dims])
    if len(set(wrapped)) != n:
        raise RuntimeError(f"permute(): duplicate dims are not allowed (got {dims}).")
    return _view_of(Permute.apply(x, wrapped), x)


@op(
    inplace="view",
    aliases=("swapaxes", "swapdims"),
    numpy={np.swapaxes: lambda a, axis1, axis2: transpose(a, axis1, axis2)},
)
def transpose(input: Any, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions (a view)."""
    x = as_tensor(input)
    n = x._data.ndim
    d0, d1 = check_dim("transpose", dim0, n), check_dim("transpose", dim1, n)
    dims = list(range(n))
    if n:
        dims[d0], dims[d1] = dims[d1], dims[d0]
    return _view_of(Transpose.apply(x, tuple(dims)), x)


@op(inplace="view")
def t(input: Any) -> Tensor:
    """Transpose of a matrix (0-d and 1-d tensors are returned as they are)."""
    x = as_tensor(input)
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return _view_of(T.apply(x, (1, 0) if x.ndim == 2 else tuple(range(x.ndim))), x)


@op(
    aliases=("moveaxis",),
    numpy={np.moveaxis: lambda a, source, destination: movedim(a, source, destination)},
)
def movedim(input: Any, source: Any, destination: Any) -> Tensor:
    """Move dims ``source`` to positions ``destination``; the others keep their order."""
    x = as_tensor(input)
    n = x.ndim
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    src = tuple(check_dim("movedim", d, n) for d in src)
    dst = tuple(check_dim("movedim", d, n) for d in dst)
    for name, dd in (("source", src), ("destination", dst)):
        if len(set(dd)) != len(dd):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(dd)})")
    order = [d for d in range(n) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, tuple(order)) if n else x


# ---- broadcasting --------------------------------------------------------------------------------


class Expand(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any, shape: Any) -> Any:
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g, None  # the engine sums the gradient back to the input's shape


@op(namespaces=())
def expand(input: Any, *sizes: Any, size: Any = None) -> Tensor:
    """A broadcast view to ``sizes`` (-1 keeps a size); the gradient sums over the copies."""
    x = as_tensor(input)
    if size is not None:
        sizes = _named_shape("expand", "size", sizes, size)
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({x.ndim})"
        )
    for i in range(lead):
        if sizes[i] < 0:
            raise RuntimeError(
                f"expand: the expanded size of the tensor ({sizes[i]}) isn't allowed in a "
                f"leading, non-existing dimension {i}"
            )
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    try:  # recorded even when the shape is unchanged, as PyTorch does
        out = Expand.apply(x, shape)
    except ValueError:
        raise RuntimeError(
            f"expand: the shape {tuple(x.shape)} cannot be expanded to {list(sizes)}: a "
            "dimension of size != 1 can only be expanded to its own size"
        ) from None
    return _view_of(out, x)


class AsStrided(Node):
    """A view re-derived from its base's graph after an in-place op changed the base: the
    view's elements, picked from the base (PyTorch's ``AsStridedBackward0``)."""

    __slots__ = ("base_shape", "inside", "positions")

    @staticmethod
    def forward(ctx: Any, base: Any, positions: Any, inside: Any = None) -> Any:
        """``inside``: where ``positions`` name an element of ``base`` (None: everywhere); the
        others (``as_strided`` reaching past a view) get no gradient, as in PyTorch."""
        ctx.positions, ctx.base_shape, ctx.inside = positions, base.shape, inside
        return base.reshape(-1)[positions]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        size = int(np.prod(ctx.base_shape))
        if ctx.inside is not None:
            g = g * ctx.inside
        flat = indexing.index_add_zeros(g, (size,), (ctx.positions,))
        return (flat.reshape(ctx.base_shape), *(None,) * (len(ctx.next) - 1))


@op(inplace="view")
def as_strided(input: Any, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
    """A view of ``input``'s memory with the given sizes and strides (in elements), starting
    ``storage_offset`` elements into it (``input``'s own offset by default): windows that may
    overlap (``unfold`` by hand). On a view, elements of the memory outside it are read and get
    no gradient, as in PyTorch. Read-only, as NumPy's: writing into overlapping windows would
    write one element several times. The gradient adds up over the windows each element is in."""
    x = as_tensor(input)
    size = _shape_arg((size,)) if not isinstance(size, int) else (size,)
    stride = tuple(int(st) for st in ((stride,) if isinstance(stride, int) else stride))
    if len(size) != len(stride):
        raise RuntimeError(
            f"as_strided: mismatch in length of strides and shape: size {list(size)} has "
            f"{len(size)} dimensions, stride {list(stride)} has {len(stride)}"
        )
    if any(st < 0 for st in stride):
        raise RuntimeError(f"as_strided: negative strides are not supported (got {list(stride)})")
    root = x._data
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        x = x.contiguous()  # (its memory has gaps: a tensor of its own first)
        root = x._data
    offset = x.storage_offset() if storage_offset is None else int(storage_offset)
    at = np.full(size, offset, np.intp)  # each element's position in the memory
    for d, (n, st) in enumerate(zip(size, stride)):
        at += (np.arange(n, dtype=np.intp) * st).reshape((n,) + (1,) * (len(size) - d - 1))
    if at.size and (offset < 0 or at.max() >= root.size):
        raise RuntimeError(
            f"as_strided: size {list(size)}, stride {list(stride)} and storage offset {offset} "
            f"reach element {int(at.max())} of a storage of {root.size} elements"
        )
    own = np.full(root.size, -1, np.intp)  # memory position -> input element (-1: not one)
    flat = np.arange(x._data.size, dtype=np.intp).reshape(x._data.shape)
    own[_memory_positions(x._data, root)] = flat
    picked = own[at]
    if (picked < 0).any():  # memory past this view: read, but no gradient goes there
        inside = picked >= 0
        out = AsStrided.apply(x, np.where(inside, picked, 0), inside)
    else:
        out = AsStrided.apply(x, picked)
    start = root.reshape(-1, order="A")[offset:]
    itemsize = root.itemsize
    out._data = np.lib.stride_tricks.as_strided(
        start, size, tuple(st * itemsize for st in stride), writeable=False
    )
    out._vc = x._vc
    out._base = x if x._base is None else x._base
    return out


def _memory_positions(view: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Each element's position in ``root``'s memory (counted in elements from its start)."""
    start = root.__array_interface__["data"][0]
    at = np.full(view.shape, (view.__array_interface__["data"][0] - start) // root.itemsize)
    for d, (n, st) in enumerate(zip(view.shape, view.strides)):
        at += (np.arange(n) * (st // root.itemsize)).reshape((n,) + (1,) * (view.ndim - d - 1))
    return at


@op(numpy={np.broadcast_to: lambda a, shape, **kw: expand(a, *shape)})
def broadcast_to(input: Any, size: Any) -> Tensor:
    """``expand`` to ``size``."""
    return expand(input, *size)


@op(namespaces=())
def expand_as(input: Any, other: Any) -> Tensor:
    return expand(input, *other.shape)


@op(method=False)
def broadcast_tensors(*tensors: Any) -> tuple[Tensor, ...]:
    """Expand all tensors to their common broadcast shape."""
    ts = [as_tensor(t) for t in tensors]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in ts))
    except ValueError:
        shapes = ", ".join(str(tuple(t.shape)) for t in ts)
        raise RuntimeError(f"broadcast_tensors: shapes {shapes} cannot be broadcast") from None
    return tuple(t if t.shape == shape else expand(t, *shape) for t in ts)


# ---- copies --------------------------------------------------------------------------------------


class Clone(Node):
    __slots__ = ()

    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return x.copy()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g


@op(numpy={np.copy: lambda a, **kw: clone(a)})
def clone(input: Any, *, memory_format: Any = None) -> Tensor:
    """A copy with its own memory; differentiable (the gradient passes through)."""
    return Clone.apply(as_tensor(input))


@op(namespaces=())
def contiguous(input: Any, memory_format: Any = None) -> Tensor:
    """``input`` itself if its memory is C-contiguous, else a contiguous copy."""
    x = as_tensor(input)
    return x if x._data.flags.c_contiguous else Clone.apply(x)


@op(namespaces=(), differentiable=False)
def is_contiguous(input: Tensor, memory_format: Any = None) -> bool:
    """Whether the elements lie in memory in row-major order (what ``view`` needs)."""
    return bool(input._data.flags.c_contiguous)


@op(namespaces=(), differentiable=False)
def stride(input: Tensor, dim: int | None = None) -> Any:
    """Steps in elements between neighbours along each dim (PyTorch counts elements, not bytes)."""
    steps = tuple(s // input._data.itemsize for s in input._data.strides)
    return steps if dim is None else steps[check_dim("stride", dim, input.ndim)]


# ---- dtype conversion ----------------------------------------------------------------------------


class Cast(Node):
    __slots__ = ("in_dtype",)
    op_name = "ToCopy"  # PyTorch: a dtype change is a copy (ToCopyBackward0)

    @staticmethod
    def forward(ctx: Any, x: Any, dtype: Any) -> Any:
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if ctx.in_dtype.kind != "c" and g.dtype.kind == "c":  # real -> complex: the real part
            g = np.real(g)
        return np.astype(g, ctx.in_dtype), None


@op(namespaces=(), numpy={np.astype: lambda a, dtype, **kw: to(a, dtype)})
def to(input: Any, *args: Any, dtype: Any = None, copy: bool = False, **kwargs: Any) -> Tensor:
    """Convert dtype (``t.to(glassgrad.float64)``); devices other than 'cpu' are refused."""
    x = as_tensor(input)
    _, dtype, _, copy = parse_to(*args, dtype=dtype, copy=copy, **kwargs)
    if dtype is None:
        return x
    d = dtypes.as_dtype(dtype)
    if d == x._data.dtype and not copy:
        return x
    if d.kind not in "fc" or x._data.dtype.kind not in "fc":
        return Tensor._make(x._data.astype(d))
    return Cast.apply(x, d)


@op(name="float", namespaces=())
def float_(x: Any) -> Tensor:
    return to(x, dtypes.np_float32)


@op(namespaces=())
def double(x: Any) -> Tensor:
    return to(x, dtypes.np_float64)


@op(namespaces=())
def cfloat(x: Any) -> Tensor:
    """``t.cfloat()``: the values as complex64."""
    return to(x, dtypes.np_complex64)


@op(namespaces=())
def cdouble(x: Any) -> Tensor:
    """``t.cdouble()``: the values as complex128."""
    return to(x, dtypes.np_complex128)


@op(namespaces=(), differentiable=False)
def long(x: Any) -> Tensor:
    return to(x, dtypes.np_int64)


@op(name="int", namespaces=(), differentiable=False)
def int_(x: Any) -> Tensor:
    return to(x, dtypes.np_int32)


@op(name="bool", namespaces=(), differentiable=False)
def bool_(x: Any) -> Tensor:
    return to(x, dtypes.np_bool)


@op(namespaces=())
def half(x: Any) -> Tensor:
    return to(x, dtypes.np_float16)


@op(namespaces=(), differentiable=False)
def byte(x: Any) -> Tensor:
    """``t.byte()``: the values as uint8."""
    return to(x, dtypes.np_uint8)


@op(namespaces=(), differentiable=False)
def char(x: Any) -> Tensor:
    """``t.char()``: the values as int8."""
    return to(x, dtypes.np_int8)


@op(namespaces=(), differentiable=False)
def short(x: Any) -> Tensor:
    """``t.short()``: the values as int16."""
    return to(x, dtypes.np_int16)


@op(namespaces=(), differentiable=False)
def bfloat16(x: Any) -> Tensor:
    """``t.bfloat16()``: refused, NumPy has no bfloat16 (``half()`` gives float16)."""
    raise TypeError(
        f"bfloat16(): glassgrad has no bfloat16 dtype (NumPy has none); got a tensor of dtype "
        f"{dtypes.name(as_tensor(x).dtype)} and shape {tuple(as_tensor(x).shape)}: use half() "
        "(float16) or float() instead"
    )


@op(namespaces=())
def type_as(x: Any, other: Any) -> Tensor:
    return to(x, other.dtype)


@op(method=False, differentiable=False)
def broadcast_shapes(*shapes: Any) -> Any:
    """The shape tensors of these shapes broadcast to (a ``glassgrad.Size``), or an error."""
    from glassgrad.size import Size

    dims = [
        (int(s),) if isinstance(s, (int, np.integer)) else tuple(int(n) for n in s) for s in shapes
    ]
    for s in dims:
        if any(n < 0 for n in s):
            raise RuntimeError(
                f"broadcast_shapes: Trying to create tensor with negative dimension in shape {s}"
            )
    try:
        return Size(np.broadcast_shapes(*dims))
    except ValueError:
        raise RuntimeError(
            "broadcast_shapes: Shape mismatch: objects cannot be broadcast to a single shape, got "
            + ", ".join(str(s) for s in dims)
        ) from None


numpy_queries(
    {
        np.shape: lambda a: a.shape,
        np.ndim: lambda a: a.ndim,
        np.size: lambda a, axis=None: a._data.size if axis is None else a.shape[axis],
    }
)


def _np_expand_dims(a: Any, axis: Any) -> Tensor:
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    n = a.ndim + len(axes)
    axes = sorted(ax % n for ax in axes)
    shape = list(a.shape)
    for ax in axes:
        shape.insert(ax, 1)
    return reshape(a, tuple(shape))


@op(name="T", namespaces=(), is_property=True)
def reversed_dims(input: Tensor) -> Tensor:
    """``t.T``: every dimension reversed (a 0-d tensor is returned as it is, as in PyTorch)."""
    return permute(input, *reversed(range(input.ndim))) if input.ndim else input


@op(name="mT", namespaces=(), is_property=True)
def matrix_transpose(input: Tensor) -> Tensor:
    """``t.mT``: the last two dimensions swapped (a batch of matrices transposed)."""
    return transpose(input, -2, -1)
