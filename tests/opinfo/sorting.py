"""Registry entries for sorting and selection by rank (values only: indices carry no gradient).

Samples have no ties (``distinct``), so every library picks the same positions.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.opinfo import OpInfo, distinct, draw_shape


def _along(min_side=1):
    """(x, dim) with distinct values and a non-empty ``dim``."""

    def sample(draw):
        shape = draw_shape(draw, min_dims=1, min_side=min_side)
        d = draw(st.integers(-len(shape), len(shape) - 1))
        return distinct(draw, shape), d

    return sample


def _k_sample(draw):
    x, d = _along()(draw)
    return x, d, draw(st.integers(1, x.shape[d]))


OPS: list[OpInfo] = [
    OpInfo("sort", lambda lib, x, d: lib.sort(x, d).values, _along(0)),
    OpInfo("sort_descending", lambda lib, x, d: x.sort(d, descending=True)[0], _along(0)),
    OpInfo("sort_stable", lambda lib, x, d: x.sort(dim=d, stable=True).values, _along(0)),
    OpInfo("msort", lambda lib, x, d: lib.msort(x), _along()),
    OpInfo("topk", lambda lib, x, d, k: lib.topk(x, k, d).values, _k_sample),
    OpInfo("topk_smallest", lambda lib, x, d, k: x.topk(k, d, largest=False)[0], _k_sample),
    OpInfo("kthvalue", lambda lib, x, d, k: lib.kthvalue(x, k, d).values, _k_sample),
    OpInfo("kthvalue_keepdim", lambda lib, x, d, k: x.kthvalue(k, d, True)[0], _k_sample),
    OpInfo("mode", lambda lib, x, d: lib.mode(x, d).values, _along()),
    OpInfo("mode_keepdim", lambda lib, x, d: x.mode(d, keepdim=True).values, _along()),
]
