"""Registry entries for indexing: getitem patterns, index_put/setitem, masks, gather/scatter.

Index arrays are passed as separate arguments (they become integer or bool tensors in both
libraries) and put in place inside ``fn``. Ops that write with possibly repeated indices and no
accumulation (``index_put``, ``scatter``) draw unique positions: PyTorch leaves repeated writes
unspecified, and a numerical derivative sees only the write that wins.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import strategies as st

from tests.opinfo import OpInfo, distinct, draw_shape, floats, integers


def _seed(draw):
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def _mask(draw, shape):
    return np.asarray(_seed(draw).random(shape) < 0.5)


def _ints(draw, shape, lo, hi):
    return np.asarray(integers(draw, shape, lo, hi))


def basic_index(draw, shape):
    """A tuple of ints, slices (steps, negative bounds), None and at most one Ellipsis."""
    entries = []
    dims = list(shape)
    ellipsis = draw(st.booleans()) and draw(st.booleans())
    k = draw(st.integers(0, len(dims)))
    for n in dims[:k]:
        kind = draw(st.sampled_from(["int", "slice", "slice", "none"] if n else ["slice", "none"]))
        if kind == "none":
            entries.append(None)
            kind = draw(st.sampled_from(["int", "slice"] if n else ["slice"]))
        if kind == "int":
            entries.append(draw(st.integers(-n, n - 1)))
        else:
            a = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            b = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            entries.append(slice(a, b, draw(st.sampled_from([None, 1, 2, 3]))))
    if ellipsis:
        entries.append(Ellipsis)  # it stands for the dims not indexed yet
    if draw(st.booleans()):
        entries.append(None)
    return tuple(entries)


def getitem_basic(draw):
    s = draw_shape(draw)
    return floats(draw, s), basic_index(draw, s)


def int_array(draw, n, shape=None, repeats=True):
    """Indices in [-n, n) (or distinct ones); ``shape`` drawn if not given."""
    if shape is None:
        shape = draw_shape(draw, 0, 2, 0, 4)
    size = int(np.prod(shape))
    if repeats:
        return _ints(draw, shape, -n, n)
    if size > n:
        shape = (n,)
        size = n
    perm = _seed(draw).permutation(n)[:size].reshape(shape)
    return np.asarray(perm - (n if draw(st.booleans()) else 0))


def getitem_int_array(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    return floats(draw, s), int_array(draw, s[0])


def getitem_int_vector(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    return floats(draw, s), int_array(draw, s[0], (draw(st.integers(0, 5)),))


def getitem_int_array_dim(draw):
    s = draw_shape(draw, 2, 3, 1, 4)
    return floats(draw, s), int_array(draw, s[1])


def getitem_two_arrays(draw):
    s = draw_shape(draw, 2, 3, 1, 4)
    k = draw(st.integers(0, 3))
    return floats(draw, s), int_array(draw, s[0], (k, 1)), int_array(draw, s[1], (3,))


def getitem_repeated(draw):
    s = draw_shape(draw, 1, 3, 1, 3)
    n = s[0]
    idx = np.repeat(_ints(draw, (draw(st.integers(1, 3)),), 0, n), draw(st.integers(2, 4)))
    return floats(draw, s), idx


def getitem_bool_mask(draw):
    s = draw_shape(draw)
    k = draw(st.integers(0, len(s)))  # the mask covers the first k dims
    return floats(draw, s), _mask(draw, s[:k])


def getitem_bool_dim1(draw):
    s = draw_shape(draw, 2, 3)
    return floats(draw, s), _mask(draw, s[1])


# x[...] with an index array mixed with ints, slices, None and Ellipsis. Templates 3 and 4 are
# where NumPy and PyTorch order the result's dims differently (ints apart from the array).
MIXED = [
    lambda x, i: x[i, 1:],
    lambda x, i: x[..., i],
    lambda x, i: x[None, i, ::2],
    lambda x, i: x[0, :, i],
    lambda x, i: x[:, i, ..., 0],
    lambda x, i: x[i, :, -1],
    lambda x, i: x[1:, None, i, 0],
]


def getitem_mixed(draw):
    s = tuple(draw(st.integers(2, 3)) for _ in range(3))
    which = draw(st.integers(0, len(MIXED) - 1))
    pos = {0: 0, 1: 2, 2: 0, 3: 2, 4: 1, 5: 0, 6: 1}[which]
    return floats(draw, s), int_array(draw, s[pos], draw_shape(draw, 1, 2, 0, 3)), which


def index_put_sample(accumulate):
    def sample(draw):
        s = draw_shape(draw, 1, 3, 1, 4)
        idx = int_array(draw, s[0], repeats=accumulate)
        vshape = idx.shape + s[1:]
        if draw(st.booleans()) and vshape:  # broadcast values
            vshape = vshape[draw(st.integers(0, len(vshape))) :]
        return floats(draw, s), idx, floats(draw, vshape)

    return sample


def index_put_two(draw):
    s = draw_shape(draw, 2, 3, 1, 4)
    n = min(s[0], s[1])
    i = _seed(draw).permutation(s[0])[:n]
    j = _seed(draw).permutation(s[1])[:n]
    return floats(draw, s), i, j, floats(draw, (n, *s[2:]))


def setitem_basic(draw):
    s = draw_shape(draw, 1)
    idx = basic_index(draw, s)
    target = np.empty(s)[idx].shape
    vshape = target[draw(st.integers(0, len(target))) :]
    return floats(draw, s), floats(draw, vshape), idx


def setitem_mask(draw):
    s = draw_shape(draw, 1)
    return floats(draw, s), floats(draw, ()), _mask(draw, s)


def _setitem(lib, x, v, idx):
    y = x * 1.0
    y[idx] = v
    return y


def masked_fill_sample(draw):
    s = draw_shape(draw)
    m = _mask(draw, s[draw(st.integers(0, len(s))) :])  # broadcastable mask
    return floats(draw, s), m, draw(st.sampled_from([-1.5, 0.0, 2.0, 3]))


def masked_fill_tensor(draw):
    s = draw_shape(draw)
    return floats(draw, s), _mask(draw, s), floats(draw, ())


def masked_select_sample(draw):
    s = draw_shape(draw)
    t = s[draw(st.integers(0, len(s))) :]
    m = _mask(draw, t)
    if draw(st.booleans()):
        return floats(draw, t), _mask(draw, s)
    return floats(draw, s), m


def _index_like(draw, shape, dim, unique):
    """An index for gather/scatter: no larger than ``shape`` off ``dim``, values in range."""
    n = shape[dim]
    ishape = tuple(
        draw(st.integers(0, n if unique else 4)) if d == dim else draw(st.integers(0, m))
        for d, m in enumerate(shape)
    )
    if not unique:
        return _ints(draw, ishape, 0, max(n, 1)) if n else np.zeros(ishape, np.int64)
    full = list(ishape)
    full[dim] = n
    order = np.argsort(_seed(draw).random(full), axis=dim)
    return np.take(order, np.arange(ishape[dim]), axis=dim)


def gather_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    return floats(draw, s), d - len(s) if draw(st.booleans()) else d, _index_like(draw, s, d, False)


def scatter_sample(unique):
    def sample(draw):
        s = draw_shape(draw, 1, 3, 1, 4)
        d = draw(st.integers(0, len(s) - 1))
        idx = _index_like(draw, s, d, unique)
        return floats(draw, s), d, idx, floats(draw, idx.shape)

    return sample


def scatter_value(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    return floats(draw, s), d, _index_like(draw, s, d, False), 1.25


def index_select_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    return floats(draw, s), d, _ints(draw, (draw(st.integers(0, 5)),), 0, s[d])


def index_add_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    idx = _ints(draw, (draw(st.integers(0, 5)),), 0, s[d])
    src = s[:d] + (idx.size,) + s[d + 1 :]
    return floats(draw, s), d, idx, floats(draw, src)


def take_along_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    ishape = tuple(
        draw(st.integers(0, 3)) if k == d else draw(st.sampled_from([1, n]))
        for k, n in enumerate(s)
    )
    if draw(st.booleans()):  # broadcast the input instead
        s = tuple(1 if k != d and draw(st.booleans()) else n for k, n in enumerate(s))
        ishape = tuple(
            draw(st.sampled_from([1, 2])) if s[k] == 1 else m for k, m in enumerate(ishape)
        )
    return floats(draw, s), _ints(draw, ishape, -s[d], s[d]), d


def take_sample(draw):
    s = draw_shape(draw, 0, 3, 1, 4)
    n = int(np.prod(s))
    return floats(draw, s), _ints(draw, draw_shape(draw, 0, 2), -n, n)


def select_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    return floats(draw, s), d, draw(st.integers(-s[d], s[d] - 1))


OPS: list[OpInfo] = [
    OpInfo("getitem_basic", lambda lib, x, idx: x[idx], getitem_basic),
    OpInfo("getitem_int_array", lambda lib, x, i: x[i], getitem_int_array),
    OpInfo("getitem_int_array_dim1", lambda lib, x, i: x[:, i], getitem_int_array_dim),
    OpInfo("getitem_int_list", lambda lib, x, i: x[i.tolist()], getitem_int_vector),
    OpInfo("getitem_two_arrays", lambda lib, x, i, j: x[i, j], getitem_two_arrays),
    OpInfo("getitem_repeated_indices", lambda lib, x, i: x[i], getitem_repeated),
    OpInfo("getitem_bool_mask", lambda lib, x, m: x[m], getitem_bool_mask),
    OpInfo("getitem_bool_dim1", lambda lib, x, m: x[:, m], getitem_bool_dim1),
    OpInfo("getitem_mixed", lambda lib, x, i, w: MIXED[w](x, i), getitem_mixed),
    OpInfo("index_put", lambda lib, x, i, v: lib.index_put(x, (i,), v), index_put_sample(False)),
    OpInfo(
        "index_put_accumulate",
        lambda lib, x, i, v: lib.index_put(x, (i,), v, accumulate=True),
        index_put_sample(True),
    ),
    OpInfo("index_put_two", lambda lib, x, i, j, v: x.index_put((i, j), v), index_put_two),
    OpInfo("setitem_basic", _setitem, setitem_basic),
    OpInfo("setitem_mask", _setitem, setitem_mask),
    OpInfo(
        "setitem_int_array",
        lambda lib, x, i, v: _setitem(lib, x, v, i),
        index_put_sample(False),
    ),
    OpInfo("masked_fill", lambda lib, x, m, v: x.masked_fill(m, v), masked_fill_sample),
    OpInfo("masked_fill_tensor", lambda lib, x, m, v: lib.masked_fill(x, m, v), masked_fill_tensor),
    OpInfo("masked_select", lambda lib, x, m: lib.masked_select(x, m), masked_select_sample),
    OpInfo("gather", lambda lib, x, d, i: lib.gather(x, d, i), gather_sample),
    OpInfo("scatter", lambda lib, x, d, i, s: x.scatter(d, i, s), scatter_sample(True)),
    OpInfo("scatter_value", lambda lib, x, d, i, v: lib.scatter(x, d, i, v), scatter_value),
    OpInfo(
        "scatter_add", lambda lib, x, d, i, s: lib.scatter_add(x, d, i, s), scatter_sample(False)
    ),
    OpInfo("index_select", lambda lib, x, d, i: lib.index_select(x, d, i), index_select_sample),
    OpInfo("index_add", lambda lib, x, d, i, s: x.index_add(d, i, s), index_add_sample),
    OpInfo(
        "index_add_alpha",
        lambda lib, x, d, i, s: lib.index_add(x, d, i, s, alpha=-1.5),
        index_add_sample,
    ),
    OpInfo("take_along_dim", lambda lib, x, i, d: lib.take_along_dim(x, i, d), take_along_sample),
    OpInfo(
        "take_along_dim_flat",
        lambda lib, x, i: lib.take_along_dim(x, i),
        lambda draw: (lambda x: (x, _ints(draw, (3,), 0, x.size)))(
            floats(draw, draw_shape(draw, 1, 3, 1, 3))
        ),
    ),
    OpInfo("take", lambda lib, x, i: lib.take(x, i), take_sample),
    OpInfo("select", lambda lib, x, d, i: x.select(d, i), select_sample),
]


# ---- writing into a copy (glassgrad/ops/placement.py) ------------------------------------------


def index_copy_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    idx = _seed(draw).permutation(s[d])[: draw(st.integers(0, s[d]))]  # no repeats: one writer
    return floats(draw, s), d, idx, floats(draw, s[:d] + (idx.size,) + s[d + 1 :])


def index_fill_sample(draw):
    x, d, idx, _ = index_copy_sample(draw)
    if draw(st.booleans()):
        idx = np.concatenate([idx, idx])  # repeats fill the same value twice
    return x, d, idx


def scatter_reduce_sample(draw):
    """Distinct values (no ties for amax/amin) away from 0 (prod divides by them)."""
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    idx = _index_like(draw, s, d, False)
    vals = distinct(draw, (int(np.prod(s)) + idx.size,), 0.5, 1.5)
    sign = np.where(_mask(draw, vals.shape), -1.0, 1.0)
    vals = vals * sign
    return vals[: int(np.prod(s))].reshape(s), d, idx, vals[int(np.prod(s)) :].reshape(idx.shape)


def _scatter_reduce(reduce, include_self):
    def fn(lib, x, d, i, s):
        return x.scatter_reduce(d, i, s, reduce, include_self=include_self)

    return OpInfo(
        f"scatter_reduce_{reduce}{'' if include_self else '_exclude_self'}",
        fn,
        scatter_reduce_sample,
    )


def index_reduce_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    idx = _ints(draw, (draw(st.integers(0, 5)),), 0, s[d])
    src = s[:d] + (idx.size,) + s[d + 1 :]
    n = int(np.prod(s))
    vals = distinct(draw, (n + int(np.prod(src)),), 0.5, 1.5)
    vals = vals * np.where(_mask(draw, vals.shape), -1.0, 1.0)
    return vals[:n].reshape(s), d, idx, vals[n:].reshape(src)


def _index_reduce(lib, x, d, i, s, reduce, include_self):
    with warnings.catch_warnings():  # PyTorch: "index_reduce() is in beta"
        warnings.simplefilter("ignore", UserWarning)
        return lib.index_reduce(x, d, i, s, reduce, include_self=include_self)


def _index_reduce_entry(reduce, include_self):
    return OpInfo(
        f"index_reduce_{reduce}{'' if include_self else '_exclude_self'}",
        lambda lib, x, d, i, s: _index_reduce(lib, x, d, i, s, reduce, include_self),
        index_reduce_sample,
    )


def masked_scatter_sample(draw):
    s = draw_shape(draw)
    m = _mask(draw, s[draw(st.integers(0, len(s))) :])  # broadcastable mask
    n = int(np.count_nonzero(np.broadcast_to(m, np.broadcast_shapes(s, m.shape))))
    extra = draw(st.integers(0, 3))
    return floats(draw, s), m, floats(draw, (n + extra,))


def put_sample(accumulate):
    def sample(draw):
        s = draw_shape(draw, 0, 3, 1, 4)
        n = int(np.prod(s))
        if accumulate:
            idx = _ints(draw, draw_shape(draw, 0, 2), -n, n)
        else:
            idx = int_array(draw, n, repeats=False)
        return floats(draw, s), idx, floats(draw, idx.shape)

    return sample


def select_scatter_sample(draw):
    s = draw_shape(draw, 1, 3, 1, 4)
    d = draw(st.integers(0, len(s) - 1))
    i = draw(st.integers(-s[d], s[d] - 1))
    return floats(draw, s), floats(draw, s[:d] + s[d + 1 :]), d, i


def slice_scatter_sample(draw):
    s = draw_shape(draw, 1, 3, 0, 4)
    d = draw(st.integers(0, len(s) - 1))
    start = draw(st.one_of(st.none(), st.integers(-s[d] - 1, s[d] + 1)))
    end = draw(st.one_of(st.none(), st.integers(-s[d] - 1, s[d] + 1)))
    step = draw(st.integers(1, 3))
    target = np.empty(s)[(slice(None),) * d + (slice(start, end, step),)].shape
    return floats(draw, s), floats(draw, target), d, start, end, step


def diagonal_scatter_sample(draw):
    s = draw_shape(draw, 2, 3, 0, 4)
    d1, d2 = draw(st.permutations(range(len(s))))[:2]
    off = draw(st.integers(-3, 3))
    target = np.diagonal(np.empty(s), off, d1, d2).shape
    return floats(draw, s), floats(draw, target), off, d1 - len(s), d2


PLACEMENT: list[OpInfo] = [
    OpInfo("index_copy", lambda lib, x, d, i, s: lib.index_copy(x, d, i, s), index_copy_sample),
    OpInfo("index_fill", lambda lib, x, d, i: x.index_fill(d, i, -1.25), index_fill_sample),
    OpInfo(
        "index_fill_tensor",
        lambda lib, x, d, i, v: lib.index_fill(x, d, i, v),
        lambda draw: (*index_fill_sample(draw), floats(draw, ())),
    ),
    *(
        _scatter_reduce(r, inc)
        for r in ("sum", "prod", "mean", "amax", "amin")
        for inc in (True, False)
    ),
    *(
        _index_reduce_entry(r, inc)
        for r in ("prod", "mean", "amax", "amin")
        for inc in (True, False)
    ),
    OpInfo("masked_scatter", lambda lib, x, m, s: x.masked_scatter(m, s), masked_scatter_sample),
    OpInfo("put", lambda lib, x, i, s: lib.put(x, i, s), put_sample(False)),
    OpInfo("put_accumulate", lambda lib, x, i, s: x.put(i, s, accumulate=True), put_sample(True)),
    OpInfo(
        "select_scatter",
        lambda lib, x, s, d, i: lib.select_scatter(x, s, d, i),
        select_scatter_sample,
    ),
    OpInfo(
        "slice_scatter",
        lambda lib, x, s, d, a, b, st: x.slice_scatter(s, d, a, b, st),
        slice_scatter_sample,
    ),
    OpInfo(
        "diagonal_scatter",
        lambda lib, x, s, o, d1, d2: lib.diagonal_scatter(x, s, o, d1, d2),
        diagonal_scatter_sample,
    ),
]
OPS += PLACEMENT
