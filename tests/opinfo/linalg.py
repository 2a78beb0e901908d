"""Registry entries for linear algebra (matmul and friends, einsum, tensordot, linear) and for
convolution and pooling (``glassgrad.nn.functional.conv``)."""

from __future__ import annotations

import warnings

from hypothesis import strategies as st

import glassgrad.nn.functional  # noqa: F401  (makes gg.nn.functional reachable as lib.nn...)
from tests.opinfo import OpInfo, broadcastable, distinct, draw_shape, floats


def shaped(*templates: str, lo: int = 0, hi: int = 3):
    """Operands whose shapes follow letter templates ('bnk', 'km'): equal letters, equal sizes.

    Digits are literal sizes, so 'B1nk' puts a broadcasting 1 in place.
    """

    def sample(draw):
        size = {}
        for c in "".join(templates):
            if c.isdigit():
                size[c] = int(c)
            elif c not in size:
                size[c] = draw(st.integers(lo, hi))
        return tuple(floats(draw, tuple(size[c] for c in t)) for t in templates)

    return sample


def batched_matmul(draw):
    """(batch..., n, k) @ (batch'..., k, m) with batch' broadcastable against batch."""
    batch = draw_shape(draw, 1, 3, 0, 3)
    other = broadcastable(draw, batch)
    if draw(st.booleans()):
        batch, other = other, batch
    n, k, m = (draw(st.integers(0, 3)) for _ in range(3))
    return floats(draw, (*batch, n, k)), floats(draw, (*other, k, m))


def _chain_matmul(lib, *ms):
    with warnings.catch_warnings():  # deprecated in both libraries, and said so
        warnings.simplefilter("ignore", UserWarning)
        return lib.chain_matmul(*ms)


def _matmul(name: str, sample) -> OpInfo:
    return OpInfo(f"matmul_{name}", lambda lib, x, y: lib.matmul(x, y), sample)


MATMUL = [
    _matmul("1d_1d", shaped("k", "k")),
    _matmul("1d_2d", shaped("k", "km")),
    _matmul("2d_1d", shaped("nk", "k")),
    _matmul("2d_2d", shaped("nk", "km")),
    _matmul("batched_2d", shaped("bnk", "km")),
    _matmul("2d_batched", shaped("nk", "bkm")),
    _matmul("batched_batched", shaped("bnk", "bkm")),
    _matmul("broadcast_batch", shaped("B1nk", "Ckm", lo=1)),  # like (2,1,3,4) @ (5,4,2)
    _matmul("1d_batched", shaped("k", "bkm")),
    _matmul("batched_1d", shaped("bnk", "k")),
    _matmul("1d_4d", shaped("k", "abkm")),
    _matmul("random_batches", batched_matmul),
    OpInfo("matmul_operator", lambda lib, x, y: x @ y, batched_matmul),
    OpInfo("mm", lambda lib, x, y: lib.mm(x, y), shaped("nk", "km")),
    OpInfo("mm_method", lambda lib, x, y: x.mm(y), shaped("nk", "km")),
    OpInfo("bmm", lambda lib, x, y: lib.bmm(x, y), shaped("bnk", "bkm")),
    OpInfo("mv", lambda lib, x, y: lib.mv(x, y), shaped("nk", "k")),
    OpInfo("dot", lambda lib, x, y: lib.dot(x, y), shaped("k", "k")),
    OpInfo("vdot", lambda lib, x, y: lib.vdot(x, y), shaped("k", "k")),
    OpInfo("inner", lambda lib, x, y: lib.inner(x, y), shaped("abk", "ck")),
    OpInfo("outer", lambda lib, x, y: lib.outer(x, y), shaped("n", "m")),
    OpInfo("ger", lambda lib, x, y: x.ger(y), shaped("n", "m")),
    OpInfo("addmm", lambda lib, c, a, b: lib.addmm(c, a, b), shaped("np", "nk", "kp")),
    OpInfo(
        "addmm_scaled_broadcast",
        lambda lib, c, a, b: c.addmm(a, b, beta=0.5, alpha=-2.0),
        shaped("p", "nk", "kp"),
    ),
    OpInfo(
        "addmm_beta0", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0), shaped("1p", "nk", "kp")
    ),
    OpInfo("addmv", lambda lib, c, a, v: lib.addmv(c, a, v, alpha=3.0), shaped("n", "nk", "k")),
    OpInfo("addr", lambda lib, c, u, v: c.addr(u, v, beta=2.0), shaped("n1", "n", "p")),
    OpInfo(
        "baddbmm", lambda lib, c, a, b: lib.baddbmm(c, a, b, alpha=0.5), shaped("bnp", "bnk", "bkp")
    ),
    OpInfo("addbmm", lambda lib, c, a, b: c.addbmm(a, b, beta=-1.0), shaped("np", "bnk", "bkp")),
    OpInfo("chain_matmul", _chain_matmul, shaped("nk", "km", "mp")),
    OpInfo("adjoint", lambda lib, x: lib.adjoint(x), shaped("bnk")),
    OpInfo("mH", lambda lib, x: x.mH, shaped("nk")),
]


def _einsum(name: str, eq: str, *templates: str, lo: int = 0) -> OpInfo:
    return OpInfo(f"einsum_{name}", lambda lib, *xs: lib.einsum(eq, *xs), shaped(*templates, lo=lo))


EINSUM = [
    _einsum("matmul", "ij,jk->ik", "ij", "jk"),
    _einsum("implicit", "ij,jk", "ij", "jk"),
    _einsum("implicit_order", "ba,ca", "ba", "ca"),  # implicit output sorts labels: 'bc'
    _einsum("transpose", "ij->ji", "ij"),
    _einsum("sum_rows", "ij->i", "ij"),
    _einsum("sum_all", "ijk->", "ijk"),
    _einsum("diagonal", "ii->i", "ii"),
    _einsum("trace", "ii->", "ii"),
    _einsum("trace_implicit", "ii", "ii"),
    _einsum("partial_diagonal", "iij->ji", "iij"),
    _einsum("diag_times_matrix", "ii,ij->j", "ii", "ij"),
    _einsum("outer", "i,j->ij", "i", "j"),
    _einsum("dot", "i,i->", "i", "i"),
    _einsum("hadamard_broadcast", "ij,ij->ij", "i1", "ij"),
    _einsum("label_broadcast", "ij,jk->ik", "i1", "jk"),
    _einsum("bmm", "bij,bjk->bik", "bij", "bjk"),
    _einsum("ellipsis_matmul", "...ij,...jk", "B1ij", "Cjk", lo=1),
    _einsum("ellipsis_sum", "...ij->...", "aij"),
    _einsum("ellipsis_dropped", "...ij->ij", "abij"),
    _einsum("ellipsis_middle", "a...c,c...->a...", "abc", "cb"),
    _einsum("three_operands", "bi,bj,bk->ijk", "bi", "bj", "bk"),
    _einsum("chain", "ij,jk,kl,lm->im", "ij", "jk", "kl", "lm"),
    _einsum("bilinear", "bn,anm,bm->ba", "bn", "anm", "bm"),
    _einsum("scalar_operand", ",ij->ji", "", "ij"),
    _einsum("repeated_across", "iji,jk->k", "iji", "jk"),
    _einsum("spaces_upper", "aB , Bc -> ca", "aB", "Bc"),
    OpInfo(
        "einsum_sublist",
        lambda lib, x, y: lib.einsum(x, [0, 1], y, [1, 2], [2, 0]),
        shaped("ij", "jk"),
    ),
    OpInfo(
        "einsum_list_operands",
        lambda lib, x, y: lib.einsum("ij,kj->ik", [x, y]),
        shaped("ij", "kj"),
    ),
]


def _tensordot(name: str, dims, *templates: str) -> OpInfo:
    return OpInfo(
        f"tensordot_{name}",
        lambda lib, x, y: lib.tensordot(x, y, dims=dims),
        shaped(*templates),
    )


TENSORDOT = [
    _tensordot("int0", 0, "ab", "c"),
    _tensordot("int1", 1, "abk", "kc"),
    _tensordot("int2", 2, "akl", "klc"),
    _tensordot("lists", ([1, 0], [0, 1]), "abc", "bad"),
    _tensordot("lists_unsorted", ([2, 0], [1, 2]), "abc", "dca"),
    _tensordot("negative", ([-1], [0]), "abk", "kc"),
]


def linear_sample(batch: str, bias: bool):
    def sample(draw):
        size = {c: draw(st.integers(0, 3)) for c in batch + "io"}
        x = floats(draw, tuple(size[c] for c in batch) + (size["i"],))
        w = floats(draw, (size["o"], size["i"]))
        return (x, w, floats(draw, (size["o"],))) if bias else (x, w)

    return sample


def _linear(lib, x, w, b=None):
    f = lib.nn.functional
    return f.linear(x, w) if b is None else f.linear(x, w, b)


LINEAR = [
    OpInfo(
        f"linear_{len(batch) + 1}d{'_bias' if bias else ''}", _linear, linear_sample(batch, bias)
    )
    for batch in ("", "n", "an")
    for bias in (False, True)
]


# ---- convolution and pooling ----------------------------------------------------------------
# Small on purpose: inputs like (2, 2, 5, 5), kernels of 1-3, so the full-Jacobian gradchecks stay
# quick. Options are drawn together (stride, padding, dilation, groups, bias, ceil_mode...).


def _ints(draw, d: int, lo: int, hi: int) -> tuple[int, ...]:
    return tuple(draw(st.integers(lo, hi)) for _ in range(d))


def conv_sample(
    d: int, groups: bool = False, same: bool = False, unbatched: bool = False, extra: int = 3
):
    """(x, w, b or None, stride, padding, dilation, groups) with a kernel that fits the input.

    Each spatial size is at least the (dilated) kernel's and at most ``extra`` more.
    """

    def sample(draw):
        gr = draw(st.sampled_from([2, 3])) if groups else 1
        cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        kernel = _ints(draw, d, 1, 3)
        dilation = _ints(draw, d, 1, 2)
        stride = 1 if same else _ints(draw, d, 1, 2)
        padding = "same" if same else _ints(draw, d, 0, 1)
        span = [dl * (k - 1) + 1 for dl, k in zip(dilation, kernel)]
        pads = [0] * d if same else padding
        size = tuple(
            draw(st.integers(max(1, s - 2 * p), max(1, s - 2 * p) + extra))
            for s, p in zip(span, pads)
        )
        lead = () if unbatched else (draw(st.integers(0, 2)),)
        x = floats(draw, lead + (gr * cg, *size))
        w = floats(draw, (gr * og, cg, *kernel))
        b = floats(draw, (gr * og,)) if draw(st.booleans()) else None
        return x, w, b, stride, padding, dilation, gr

    return sample


def _conv(name: str, d: int, **kw) -> OpInfo:
    def fn(lib, x, w, b, stride, padding, dilation, groups):
        conv = getattr(lib.nn.functional, f"conv{d}d")
        with warnings.catch_warnings():  # torch notes that even kernels with 'same' copy the input
            warnings.simplefilter("ignore", UserWarning)
            return conv(x, w, b, stride, padding, dilation, groups)

    return OpInfo(name, fn, conv_sample(d, **kw))


def pool_sample(d: int, values, dilation: bool = True, unbatched: bool = False):
    """(x, kernel, stride or None, padding, dilation, ceil_mode) giving at least one window."""

    def sample(draw):
        kernel = _ints(draw, d, 1, 3)
        dil = _ints(draw, d, 1, 2) if dilation else (1,) * d
        stride = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 3)] * d)))
        padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
        span = [dl * (k - 1) + 1 for dl, k in zip(dil, kernel)]
        size = tuple(
            draw(st.integers(max(1, s - 2 * p), max(1, s - 2 * p) + 3))
            for s, p in zip(span, padding)
        )
        ceil_mode = draw(st.booleans())
        if _has_empty_window(size, kernel, stride or kernel, padding, dil, ceil_mode):
            padding = (0,) * d  # padding-only windows: PyTorch's gradient there is arbitrary
            size = tuple(max(n, s) for n, s in zip(size, span))
        lead = () if unbatched else (draw(st.integers(0, 2)),)
        x = values(draw, lead + (draw(st.integers(1, 2)), *size))
        return x, kernel, stride, padding, dil, ceil_mode

    return sample


def _has_empty_window(size, kernel, stride, padding, dilation, ceil_mode) -> bool:
    for n, k, s, p, dl in zip(size, kernel, stride, padding, dilation):
        span = dl * (k - 1) + 1
        out = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= n + p:
            out -= 1
        for o in range(out):
            if not any(0 <= o * s - p + j * dl < n for j in range(k)):
                return True
    return False


def _max_pool(name: str, d: int, **kw) -> OpInfo:
    def fn(lib, x, kernel, stride, padding, dilation, ceil_mode):
        pool = getattr(lib.nn.functional, f"max_pool{d}d")
        return pool(x, kernel, stride, padding, dilation, ceil_mode)

    return OpInfo(name, fn, pool_sample(d, distinct, **kw))  # no ties: argmax is unambiguous


def _avg_sample(d: int, **kw):
    base = pool_sample(d, floats, dilation=False, **kw)

    def sample(draw):
        x, kernel, stride, padding, _, ceil_mode = base(draw)
        divisor = draw(st.sampled_from([None, None, 3])) if d == 2 else None
        return x, kernel, stride, padding, ceil_mode, draw(st.booleans()), divisor

    return sample


def _avg_pool(name: str, d: int, **kw) -> OpInfo:
    def fn(lib, x, kernel, stride, padding, ceil_mode, include_pad, divisor):
        f = lib.nn.functional
        if d == 1:
            return f.avg_pool1d(x, kernel, stride, padding, ceil_mode, include_pad)
        return f.avg_pool2d(x, kernel, stride, padding, ceil_mode, include_pad, divisor)

    return OpInfo(name, fn, _avg_sample(d, **kw))


def adaptive_sample(d: int):
    """Output sizes below, equal to and above the input's; 2-D ones may keep a size (None)."""

    def sample(draw):
        x = floats(draw, (draw(st.integers(0, 2)), draw(st.integers(1, 2)), *_ints(draw, d, 1, 6)))
        if d == 1:
            return x, draw(st.integers(1, 7))
        return x, tuple(draw(st.one_of(st.integers(1, 7), st.none())) for _ in range(d))

    return sample


CONV = [
    _conv("conv2d", 2),
    _conv("conv2d_groups", 2, groups=True),
    _conv("conv2d_same", 2, same=True),
    _conv("conv2d_unbatched", 2, unbatched=True),
    _conv("conv1d", 1),
    _conv("conv1d_groups_same", 1, groups=True, same=True),
    _conv("conv3d", 3, extra=1),
    _max_pool("max_pool2d", 2),
    _max_pool("max_pool2d_unbatched", 2, unbatched=True),
    _max_pool("max_pool1d", 1),
    OpInfo(
        "max_pool2d_with_indices",
        lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True)[0],
        lambda draw: (distinct(draw, (2, 2, draw(st.integers(3, 6)), draw(st.integers(3, 6)))),),
    ),
    _avg_pool("avg_pool2d", 2),
    _avg_pool("avg_pool2d_unbatched", 2, unbatched=True),
    _avg_pool("avg_pool1d", 1),
    OpInfo(
        "adaptive_avg_pool2d",
        lambda lib, x, size: lib.nn.functional.adaptive_avg_pool2d(x, size),
        adaptive_sample(2),
    ),
    OpInfo(
        "adaptive_avg_pool1d",
        lambda lib, x, size: lib.nn.functional.adaptive_avg_pool1d(x, size),
        adaptive_sample(1),
    ),
]

OPS: list[OpInfo] = MATMUL + EINSUM + TENSORDOT + LINEAR + CONV
