"""Registry entries for linear algebra (matmul and friends, einsum, tensordot, linear) and for
convolution and pooling (``glassgrad.nn.functional.conv``)."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.opinfo import OpInfo, broadcastable, draw_shape, floats


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

OPS: list[OpInfo] = MATMUL + EINSUM + TENSORDOT + LINEAR
