"""Registry entries for the spatial transformer's ops (``affine_grid``, ``grid_sample``) and
``ctc_loss`` (collected by ``nn_functional``).
"""

from __future__ import annotations

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
