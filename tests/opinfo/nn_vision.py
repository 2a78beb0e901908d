"""Registry entries for the spatial transformer's ops (``affine_grid``, ``grid_sample``) and
``ctc_loss`` (collected by ``nn_functional``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tests.opinfo import OpInfo, floats


def F(lib):
    return lib.nn.functional


def affine_sample(d: int):
    """(theta (N, d, d+1), size, align_corners)."""

    def sample(draw):
        n = draw(st.integers(1, 2))
        spatial = tuple(draw(st.integers(2, 4)) for _ in range(d))
        theta = floats(draw, (n, d, d + 1))
        return theta, (n, draw(st.integers(1, 3)), *spatial), draw(st.booleans())

    return sample


def grid_sample_sample(d: int, mode: str):
    """(input (N, C, *spatial), grid (N, *out, d) a little beyond [-1, 1], padding, corners)."""

    def sample(draw):
        n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        spatial = tuple(draw(st.integers(1, 4)) for _ in range(d))
        out = tuple(draw(st.integers(1, 3)) for _ in range(d))
        x = floats(draw, (n, c, *spatial))
        grid = floats(draw, (n, *out, d), -1.3, 1.3)
        padding = draw(st.sampled_from(["zeros", "border", "reflection"]))
        return x, grid, mode, padding, draw(st.booleans())

    return sample


def _grid_sample(lib, x, grid, mode, padding, corners):
    return F(lib).grid_sample(x, grid, mode, padding, corners)


OPS: list[OpInfo] = [
    OpInfo("affine_grid", lambda lib, t, s, c: F(lib).affine_grid(t, s, c), affine_sample(2)),
    OpInfo("affine_grid_3d", lambda lib, t, s, c: F(lib).affine_grid(t, s, c), affine_sample(3)),
    # kinks (integer source coordinates, the clamp and reflection edges) have probability zero
    OpInfo("grid_sample", _grid_sample, grid_sample_sample(2, "bilinear")),
    OpInfo("grid_sample_3d", _grid_sample, grid_sample_sample(3, "bilinear")),
    # nearest: a rounding of the grid, piecewise constant in it
    OpInfo(
        "grid_sample_nearest",
        _grid_sample,
        grid_sample_sample(2, "nearest"),
        gradgrad=False,
        tags=("nondiff",),
    ),
    OpInfo(
        "grid_sample_nearest_3d",
        _grid_sample,
        grid_sample_sample(3, "nearest"),
        gradgrad=False,
        tags=("nondiff",),
    ),
]


def ctc_sample(concatenated: bool):
    """(log_probs (T, N, C) normalised, targets, input/target lengths, blank, reduction, zero_inf)
    with repeated labels now and then and some impossible alignments (for zero_infinity)."""

    def sample(draw):
        n, c = draw(st.integers(1, 3)), draw(st.integers(2, 5))
        t = draw(st.integers(1, 6))
        blank = draw(st.integers(0, c - 1))
        labels = [k for k in range(c) if k != blank]
        s = draw(st.integers(1, 4))
        targets = np.array(
            [[draw(st.sampled_from(labels)) for _ in range(s)] for _ in range(n)], np.int64
        )
        tl = np.array([draw(st.integers(0, s)) for _ in range(n)], np.int64)
        il = np.array([draw(st.integers(0, t)) for _ in range(n)], np.int64)
        zero_inf = draw(st.booleans())
        if not zero_inf:  # feasible: enough frames for the labels and the blanks between repeats
            for b in range(n):
                seq = targets[b, : tl[b]]
                need = len(seq) + int(np.sum(seq[1:] == seq[:-1]))
                il[b] = max(il[b], need)
            t = max(t, int(il.max()))
        x = floats(draw, (t, n, c), -3.0, 3.0)
        if concatenated:
            targets = np.concatenate([targets[b, : tl[b]] for b in range(n)])
        reduction = draw(st.sampled_from(["none", "mean", "sum"]))
        return x, targets, il, tl, blank, reduction, zero_inf

    return sample


def _ctc(lib, x, targets, il, tl, blank, reduction, zero_inf):
    # the gradient of ctc_loss is PyTorch's: that of the logits of a log_softmax input
    lp = F(lib).log_softmax(x, 2)
    return F(lib).ctc_loss(lp, targets, il, tl, blank, reduction, zero_inf)


OPS += [
    # no second derivatives: PyTorch has none for ctc_loss's backward either
    OpInfo("ctc_loss", _ctc, ctc_sample(False), gradgrad=False),
    OpInfo("ctc_loss_concatenated", _ctc, ctc_sample(True), gradgrad=False),
]
