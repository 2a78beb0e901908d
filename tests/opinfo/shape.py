"""Registry entries for shape ops: views, permutations, broadcasting, repeats, joins and splits.

Multi-output ops (split, chunk, unbind...) are checked through one output that mixes every piece
with a different weight (``_weighted_cat``), so each piece's gradient is told apart.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from tests.opinfo import OpInfo, draw_shape, floats


def _x(min_dims=0, max_dims=3, min_side=0, max_side=4):
    def sample(draw):
        return (floats(draw, draw_shape(draw, min_dims, max_dims, min_side, max_side)),)

    return sample


def _dim(draw, ndim, extra=0):
    """A dim of a tensor with ``ndim`` dims (``extra`` more positions allowed), maybe negative."""
    n = max(ndim + extra, 1)
    d = draw(st.integers(0, n - 1))
    return d - n if draw(st.booleans()) else d


def _even(min_dims, dim):
    """A tensor whose ``dim`` has an even length (hsplit/vsplit into 2 need it)."""

    def sample(draw):
        shape = list(draw_shape(draw, min_dims, 3, 1, 3))
        shape[dim] *= 2
        return (floats(draw, tuple(shape)),)

    return sample


def _weighted_cat(lib, pieces, dim):
    """One tensor from all pieces, each scaled differently (so each piece's gradient differs)."""
    return lib.cat([p * (i + 1.5) for i, p in enumerate(pieces)], dim)


def _weighted_stack(lib, pieces, dim):
    return lib.stack([p * (i + 1.5) for i, p in enumerate(pieces)], dim)


# ---- samplers -------------------------------------------------------------------------------


def reshape_sample(draw):
    s = draw_shape(draw)
    n = math.prod(s)
    options = [(-1,), (n,), tuple(reversed(s)), (1, *s), (*s, 1)]
    if n and len(s) >= 2:
        options.append((s[0], -1))
    return floats(draw, s), draw(st.sampled_from(options))


def reshape_as_sample(draw):
    s = draw_shape(draw)
    return floats(draw, s), floats(draw, tuple(reversed(s)))


def flatten_sample(draw):
    s = draw_shape(draw)
    if not s:
        return floats(draw, s), 0, -1
    a = draw(st.integers(0, len(s) - 1))
    b = draw(st.integers(a, len(s) - 1))
    return floats(draw, s), a - len(s) if draw(st.booleans()) else a, b


def unflatten_sample(draw):
    s = draw_shape(draw, 1, 2)
    a, b = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    d = draw(st.integers(0, len(s) - 1))
    shape = (*s[:d], a * b, *s[d + 1 :])
    sizes = (a, -1) if draw(st.booleans()) else (a, b)
    return floats(draw, shape), d, sizes


def squeeze_sample(draw):
    s = tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(draw(st.integers(0, 4))))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        dim = None
    elif kind == "int" or not s:
        dim = _dim(draw, len(s))
    else:
        dim = tuple(draw(st.permutations(range(len(s))))[: draw(st.integers(1, len(s)))])
    return floats(draw, s), dim


def unsqueeze_sample(draw):
    s = draw_shape(draw)
    return floats(draw, s), _dim(draw, len(s), extra=1)


def permute_sample(draw):
    s = draw_shape(draw)
    perm = draw(st.permutations(range(len(s))))
    return floats(draw, s), tuple(p - len(s) if draw(st.booleans()) else p for p in perm)


def transpose_sample(draw):
    s = draw_shape(draw, 1)
    return floats(draw, s), _dim(draw, len(s)), _dim(draw, len(s))


def movedim_sample(draw):
    s = draw_shape(draw, 1)
    n = len(s)
    k = draw(st.integers(1, n))
    src = tuple(draw(st.permutations(range(n)))[:k])
    dst = tuple(draw(st.permutations(range(n)))[:k])
    if k == 1 and draw(st.booleans()):
        return floats(draw, s), src[0], dst[0]
    return floats(draw, s), src, dst


def as_strided_sample(draw):
    """Windows over a flat tensor, maybe overlapping (stride below the window length), from an
    offset: every element that lands in a window gets the sum of its windows' gradients."""
    n_windows, length, step = (draw(st.integers(1, 3)) for _ in range(3))
    offset = draw(st.integers(0, 2))
    size = offset + (n_windows - 1) * step + length + draw(st.integers(0, 2))
    return floats(draw, (size,)), (n_windows, length), (step, 1), offset


def expand_sample(draw):
    s = tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(draw(st.integers(0, 3))))
    lead = tuple(draw(st.integers(0, 3)) for _ in range(draw(st.integers(0, 2))))
    target = lead + tuple(
        draw(st.sampled_from([-1, n, 0, 2, 3])) if n == 1 else draw(st.sampled_from([-1, n]))
        for n in s
    )
    return floats(draw, s), target


def repeat_sample(draw):
    s = draw_shape(draw, max_side=3)
    reps = tuple(draw(st.integers(0, 3)) for _ in range(len(s) + draw(st.integers(0, 2))))
    return floats(draw, s), reps


def tile_sample(draw):
    s = draw_shape(draw, max_side=3)
    reps = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, len(s) + 1))))
    return floats(draw, s), reps


def flip_sample(draw):
    s = draw_shape(draw, 1)
    dims = tuple(draw(st.permutations(range(len(s))))[: draw(st.integers(1, len(s)))])
    return floats(draw, s), dims


def roll_sample(draw):
    s = draw_shape(draw, 1)
    if draw(st.booleans()):
        return floats(draw, s), draw(st.integers(-5, 5)), None
    dims = tuple(draw(st.permutations(range(len(s))))[: draw(st.integers(1, len(s)))])
    return floats(draw, s), tuple(draw(st.integers(-5, 5)) for _ in dims), dims


def joined(stacking=False):
    """2-3 tensors that join along a drawn dim (sizes along it may differ, be 0, for cat)."""

    def sample(draw):
        s = draw_shape(draw, 0 if stacking else 1, max_side=3)
        d = _dim(draw, len(s), extra=1 if stacking else 0)
        arrays = []
        for _ in range(draw(st.integers(1, 3))):
            shape = list(s)
            if not stacking:
                shape[d] = draw(st.integers(0, 3))
            arrays.append(floats(draw, tuple(shape)))
        return (d, *arrays)

    return sample


def split_sample(draw):
    s = draw_shape(draw, 1, max_side=5)
    d = _dim(draw, len(s))
    n = s[d]
    if draw(st.booleans()):
        return floats(draw, s), draw(st.integers(1, 4)) if n else draw(st.integers(0, 2)), d
    cuts = sorted(draw(st.integers(0, n)) for _ in range(draw(st.integers(0, 3))))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, n])]
    return floats(draw, s), sizes, d


def chunk_sample(draw):
    s = draw_shape(draw, 1, max_side=5)
    return floats(draw, s), draw(st.integers(1, 4)), _dim(draw, len(s))


def tensor_split_sample(draw):
    s = draw_shape(draw, 1, max_side=5)
    d = _dim(draw, len(s))
    if draw(st.booleans()):
        return floats(draw, s), draw(st.integers(1, 4)), d
    idx = sorted(draw(st.integers(-s[d] - 1, s[d] + 1)) for _ in range(draw(st.integers(0, 3))))
    return floats(draw, s), idx, d


def unbind_sample(draw):
    s = draw_shape(draw, 1, min_side=1)
    return floats(draw, s), _dim(draw, len(s))


def narrow_sample(draw):
    s = draw_shape(draw, 1)
    d = _dim(draw, len(s))
    n = s[d]
    start = draw(st.integers(-n, n))
    length = draw(st.integers(0, n - (start % n if n and start < n else n)))
    return floats(draw, s), d, start, length


def broadcast_pair(draw):
    s = tuple(draw(st.sampled_from([1, 2, 3])) for _ in range(draw(st.integers(0, 3))))
    t = tuple(n if draw(st.booleans()) else 1 for n in s)[draw(st.integers(0, len(s))) :]
    if draw(st.booleans()):
        s, t = t, s
    return floats(draw, s), floats(draw, t)


def stackable(min_dims, max_dims):
    def sample(draw):
        s = draw_shape(draw, min_dims, max_dims, 1, 3)
        return tuple(floats(draw, s) for _ in range(draw(st.integers(1, 3))))

    return sample


OPS: list[OpInfo] = [
    OpInfo("reshape", lambda lib, x, s: x.reshape(s), reshape_sample),
    OpInfo("reshape_fn", lambda lib, x, s: lib.reshape(x, s), reshape_sample),
    OpInfo("view", lambda lib, x, s: x.view(s), reshape_sample),
    OpInfo("view_as", lambda lib, x, y: x.view_as(y), reshape_as_sample),
    OpInfo("reshape_as", lambda lib, x, y: x.reshape_as(y), reshape_as_sample),
    OpInfo("flatten", lambda lib, x, a, b: lib.flatten(x, a, b), flatten_sample),
    OpInfo("unflatten", lambda lib, x, d, s: x.unflatten(d, s), unflatten_sample),
    OpInfo("squeeze", lambda lib, x, d: x.squeeze() if d is None else x.squeeze(d), squeeze_sample),
    OpInfo("unsqueeze", lambda lib, x, d: x.unsqueeze(d), unsqueeze_sample),
    OpInfo("permute", lambda lib, x, p: x.permute(p), permute_sample),
    OpInfo("permute_fn", lambda lib, x, p: lib.permute(x, p), permute_sample),
    OpInfo("transpose", lambda lib, x, a, b: lib.transpose(x, a, b), transpose_sample),
    OpInfo("movedim", lambda lib, x, s, d: lib.movedim(x, s, d), movedim_sample),
    OpInfo("moveaxis", lambda lib, x, s, d: x.moveaxis(s, d), movedim_sample),
    OpInfo("T", lambda lib, x: x.T, _x(2, 2)),
    OpInfo(
        "as_strided",
        lambda lib, x, sz, st_, off: lib.as_strided(x, sz, st_, off) * 1.5,
        as_strided_sample,
    ),
    OpInfo(
        "as_strided_method",
        lambda lib, x, sz, st_, off: x.as_strided(sz, st_, off) * 1.5,
        as_strided_sample,
    ),
    OpInfo("t", lambda lib, x: x.t(), _x(2, 2)),
    OpInfo("t_fn", lambda lib, x: lib.t(x), _x(1, 1)),
    OpInfo("ravel", lambda lib, x: x.ravel() * 1.5, _x()),
    OpInfo("atleast_1d", lambda lib, x: lib.atleast_1d(x) * 1.5, _x(0, 2)),
    OpInfo("atleast_2d", lambda lib, x: lib.atleast_2d(x) * 1.5, _x(0, 2)),
    OpInfo("hsplit", lambda lib, x: _weighted_cat(lib, x.hsplit(2), 1), _even(2, 1)),
    OpInfo("vsplit", lambda lib, x: _weighted_cat(lib, lib.vsplit(x, 2), 0), _even(2, 0)),
    OpInfo("dsplit", lambda lib, x: _weighted_cat(lib, x.dsplit(2), 2), _even(3, 2)),
    OpInfo("H", lambda lib, x: x.H * 1.5, _x(2, 2)),
    OpInfo("cdouble", lambda lib, x: lib.imag(x.cdouble() * (1 + 2j)), _x(), tags=("cast",)),
    OpInfo("cfloat", lambda lib, x: x.cfloat().real, _x(), rtol=1e-6, tags=("nondiff", "cast")),
    # casts: compared with torch (values, dtypes, gradients); float32/16 rounding defeats gradcheck
    OpInfo("double", lambda lib, x: (x * 1.5).double(), _x(), tags=("cast",)),
    OpInfo("to_float64", lambda lib, x: (x * 1.5).to(lib.float64), _x(), tags=("cast",)),
    OpInfo("type_as", lambda lib, x: x.type_as(x * 2), _x()),
    OpInfo("float", lambda lib, x: x.float(), _x(), rtol=1e-6, tags=("nondiff", "cast")),
    OpInfo("half", lambda lib, x: x.half(), _x(), rtol=1e-3, tags=("nondiff", "cast")),
    OpInfo("mT", lambda lib, x: x.mT, _x(2, 3)),
    OpInfo("expand", lambda lib, x, s: x.expand(s), expand_sample),
    OpInfo("broadcast_to", lambda lib, x, s: lib.broadcast_to(x, s), expand_sample),
    OpInfo("expand_as", lambda lib, x, y: x.expand_as(y * 1 + x), broadcast_pair),
    OpInfo(
        "broadcast_tensors",
        lambda lib, x, y: (lambda a, b: a * b + a)(*lib.broadcast_tensors(x, y)),
        broadcast_pair,
    ),
    OpInfo("repeat", lambda lib, x, r: x.repeat(r), repeat_sample),
    OpInfo("tile", lambda lib, x, r: lib.tile(x, r), tile_sample),
    OpInfo("flip", lambda lib, x, d: lib.flip(x, d), flip_sample),
    OpInfo("flip_method", lambda lib, x, d: x.flip(*d), flip_sample),
    OpInfo("fliplr", lambda lib, x: lib.fliplr(x), _x(2, 3)),
    OpInfo("flipud", lambda lib, x: lib.flipud(x), _x(1, 3)),
    OpInfo("roll", lambda lib, x, s, d: lib.roll(x, s, d), roll_sample),
    OpInfo("clone", lambda lib, x: lib.clone(x) * 2, _x()),
    OpInfo("contiguous", lambda lib, x: x.mT.contiguous() * 2, _x(2, 3)),
    OpInfo("cat", lambda lib, d, *xs: lib.cat(xs, d), joined()),
    OpInfo("concat", lambda lib, d, *xs: lib.concat(list(xs), dim=d), joined()),
    OpInfo("stack", lambda lib, d, *xs: lib.stack(xs, d), joined(stacking=True)),
    OpInfo("hstack", lambda lib, *xs: lib.hstack(xs), stackable(0, 3)),
    OpInfo("vstack", lambda lib, *xs: lib.vstack(xs), stackable(0, 3)),
    OpInfo("dstack", lambda lib, *xs: lib.dstack(xs), stackable(0, 3)),
    OpInfo("column_stack", lambda lib, *xs: lib.column_stack(xs), stackable(0, 2)),
    OpInfo("atleast_3d", lambda lib, x: lib.atleast_3d(x), _x()),
    OpInfo("split", lambda lib, x, s, d: _weighted_cat(lib, x.split(s, d), d), split_sample),
    OpInfo(
        "split_fn", lambda lib, x, s, d: _weighted_cat(lib, lib.split(x, s, d), d), split_sample
    ),
    OpInfo("chunk", lambda lib, x, c, d: _weighted_cat(lib, x.chunk(c, d), d), chunk_sample),
    OpInfo(
        "tensor_split",
        lambda lib, x, s, d: _weighted_cat(lib, lib.tensor_split(x, s, d), d),
        tensor_split_sample,
    ),
    OpInfo("unbind", lambda lib, x, d: _weighted_stack(lib, x.unbind(d), d), unbind_sample),
    OpInfo("narrow", lambda lib, x, d, s, n: x.narrow(d, s, n), narrow_sample),
]


def split_with_sizes_sample(draw):
    s = draw_shape(draw, 1, 3, 0, 4)
    d = draw(st.integers(0, len(s) - 1))
    sizes, left = [], s[d]
    while left:
        k = draw(st.integers(0, left))
        sizes.append(k)
        left -= k
    sizes = sizes or [0]  # (a dim of length 0 splits into one empty piece)
    return (
        floats(draw, s),
        sizes + [0] * draw(st.integers(0, 1)),
        d - len(s) * draw(st.integers(0, 1)),
    )


def sum_to_size_sample(draw, min_dims=0):
    s = draw_shape(draw, min_dims, 3, 1, 4)
    lead = draw(st.integers(0, len(s)))
    target = tuple(1 if draw(st.booleans()) else n for n in s[lead:])
    return floats(draw, s), target


OPS += [
    OpInfo(
        "split_with_sizes",
        lambda lib, x, s, d: _weighted_cat(lib, lib.split_with_sizes(x, s, d), d),
        split_with_sizes_sample,
    ),
    OpInfo(
        "split_with_sizes_method",
        lambda lib, x, s, d: _weighted_cat(lib, x.split_with_sizes(s, dim=d), d),
        split_with_sizes_sample,
    ),
    OpInfo(
        "sum_to_size",
        lambda lib, x, s: x.sum_to_size(*s) * 1.0,  # (the same shape: x itself, no node)
        lambda draw: (lambda x, s: (x, s or (1,) * x.ndim))(*sum_to_size_sample(draw, 1)),
    ),
    OpInfo("sum_to_size_tuple", lambda lib, x, s: x.sum_to_size(s), sum_to_size_sample),
]
