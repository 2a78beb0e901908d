"""Structure ops beyond the sweep (tests/opinfo/structure.py): integer results, indices, views,
warnings and errors, each against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg


def _same(ours, theirs) -> None:
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("fn", ["tril_indices", "triu_indices"])
@pytest.mark.parametrize("args", [(3, 3), (3, 5, 1), (5, 3, -2), (0, 4), (4, 2, 7), (2, 4, -9)])
def test_triangle_indices(fn, args) -> None:
    _same(getattr(gg, fn)(*args), getattr(torch, fn)(*args))
    assert getattr(gg, fn)(3, 3, dtype=gg.int32).dtype == np.int32


def test_tril_inplace_and_integers() -> None:
    x = np.arange(12).reshape(3, 4)
    t, g = torch.tensor(x), gg.tensor(x)
    assert g.tril_(1) is g
    t.tril_(1)
    _same(g, t)
    _same(gg.triu(gg.tensor(x), -1), torch.triu(torch.tensor(x), -1))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        gg.tril(gg.ones(3))


def test_diagonal_is_a_writable_view() -> None:
    x = gg.zeros(3, 4)
    d = x.diagonal(1)
    d.fill_(5.0)
    t = torch.zeros(3, 4)
    t.diagonal(1).fill_(5.0)
    _same(x, t)
    assert x._version == d._version == 1
    with pytest.raises(RuntimeError, match="cannot be identical"):
        x.diagonal(0, 1, -1)


def test_diag_forms_and_errors() -> None:
    v = np.arange(3.0)
    _same(gg.diag(gg.tensor(v), -2), torch.diag(torch.tensor(v), -2))
    _same(
        gg.diag(gg.tensor(np.arange(12).reshape(3, 4)), 1),
        torch.diag(torch.arange(12).view(3, 4), 1),
    )
    with pytest.raises(RuntimeError, match="1D or 2D"):
        gg.diag(gg.zeros(2, 2, 2))


def test_diagonal_second_order() -> None:
    x = gg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    (g,) = gg.autograd.grad((x.diagonal(1) ** 3).sum(), x, create_graph=True)
    assert g.grad_fn.name() == "DiagonalBackwardBackward0"
    (h,) = gg.autograd.grad(g.sum(), x)
    expected = np.zeros((3, 4))
    expected[[0, 1, 2], [1, 2, 3]] = 6 * x.detach().numpy()[[0, 1, 2], [1, 2, 3]]
    np.testing.assert_allclose(h.numpy(), expected)


def test_unfold_is_a_view_and_folds_overlaps() -> None:
    x = gg.arange(7.0)
    w = x.unfold(0, 3, 2)
    _same(w, torch.arange(7.0).unfold(0, 3, 2))
    w[0, 0] = 100.0
    assert x[0].item() == 100.0 and x._version == w._version
    a = gg.tensor(np.arange(10.0).reshape(2, 5), requires_grad=True)
    b = torch.tensor(np.arange(10.0).reshape(2, 5), requires_grad=True)
    a.unfold(1, 3, 1).sum().backward()
    b.unfold(1, 3, 1).sum().backward()
    _same(a.grad, b.grad)
    with pytest.raises(RuntimeError, match="maximum size"):
        x.unfold(0, 8, 1)
    with pytest.raises(RuntimeError, match="step"):
        x.unfold(0, 2, 0)
    assert not hasattr(gg, "unfold")  # a method only, as in PyTorch


def test_repeat_interleave_forms() -> None:
    x = np.arange(6).reshape(2, 3)
    _same(gg.tensor(x).repeat_interleave(2), torch.tensor(x).repeat_interleave(2))
    r = np.array([1, 0, 2])
    _same(
        gg.repeat_interleave(gg.tensor(x), gg.tensor(r), dim=1, output_size=3),
        torch.repeat_interleave(torch.tensor(x), torch.tensor(r), dim=1, output_size=3),
    )
    _same(
        gg.repeat_interleave(gg.tensor([2, 0, 1])), torch.repeat_interleave(torch.tensor([2, 0, 1]))
    )
    _same(
        gg.tensor(x).repeat_interleave(gg.tensor([2]), dim=0),
        torch.tensor(x).repeat_interleave(torch.tensor([2]), dim=0),
    )
    with pytest.raises(RuntimeError):
        gg.tensor(x).repeat_interleave(gg.tensor([1, 2]), dim=1)
    with pytest.raises(RuntimeError):
        gg.tensor(x).repeat_interleave(2, dim=0, output_size=5)


def test_meshgrid_indexing_and_warning() -> None:
    a, b = np.arange(3.0), np.arange(2.0)
    for indexing in ("ij", "xy"):
        ours = gg.meshgrid(gg.tensor(a), gg.tensor(b), indexing=indexing)
        theirs = torch.meshgrid(torch.tensor(a), torch.tensor(b), indexing=indexing)
        for o, t in zip(ours, theirs):
            _same(o, t)
    with pytest.warns(UserWarning, match="indexing argument"):
        gg.meshgrid(gg.tensor(a), gg.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gg.meshgrid([gg.tensor(a)], indexing="ij")
    with pytest.raises(RuntimeError, match="indexing"):
        gg.meshgrid(gg.tensor(a), indexing="ab")


def test_cartesian_prod_and_kron_integers() -> None:
    a, b = np.array([1, 2]), np.array([3, 4, 5])
    _same(
        gg.cartesian_prod(gg.tensor(a), gg.tensor(b)),
        torch.cartesian_prod(torch.tensor(a), torch.tensor(b)),
    )
    v = gg.tensor([1.0, 2.0])
    assert gg.cartesian_prod(v) is v
    m = np.arange(4).reshape(2, 2)
    _same(gg.kron(gg.tensor(m), gg.tensor(a)), torch.kron(torch.tensor(m), torch.tensor(a)))


def test_cdist_modes_and_errors() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((30, 3)), rng.standard_normal((4, 3))
    gx = gg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    for p in (0.0, 0.5, 1.0, 2.0, 3.0, float("inf")):
        ours, theirs = gg.cdist(gx, gg.tensor(y), p), torch.cdist(tx, torch.tensor(y), p)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)
        assert ours.grad_fn.name() == theirs.grad_fn.name()  # the mm path above 25 rows: a view
    with pytest.raises(RuntimeError, match="columns"):
        gg.cdist(gg.zeros(2, 3), gg.zeros(2, 4))
    with pytest.raises(RuntimeError, match="non-negative"):
        gg.cdist(gg.zeros(2, 3), gg.zeros(2, 3), p=-1)


def test_cross_default_dim_warns() -> None:
    x = np.random.default_rng(0).standard_normal((3, 4))
    with pytest.warns(UserWarning, match="dim arg is deprecated"):
        ours = gg.cross(gg.tensor(x), gg.tensor(x[::-1].copy()))
    theirs = torch.linalg.cross(torch.tensor(x), torch.tensor(x[::-1].copy()), dim=0)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(RuntimeError, match="length 3"):
        gg.cross(gg.zeros(2, 4), gg.zeros(2, 4), dim=1)


def test_diff_of_bools_and_edge_orders() -> None:
    b = np.array([True, False, False, True])
    _same(gg.tensor(b).diff(), torch.tensor(b).diff())
    x = np.arange(5.0) ** 2
    for n in (0, 2, 4, 6):
        _same(gg.tensor(x).diff(n), torch.tensor(x).diff(n))


def test_running_extremes_indices() -> None:
    x = np.array([[1.0, 1.0, 0.0, 2.0, 2.0], [3.0, np.nan, 5.0, 0.0, 1.0]])
    for fn in ("cummax", "cummin"):
        ours, theirs = getattr(gg.tensor(x), fn)(1), getattr(torch.tensor(x), fn)(1)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        _same(ours.indices, theirs.indices)
    i = np.array([3, 1, 4, 1, 5])
    _same(gg.tensor(i).cummax(0).values, torch.tensor(i).cummax(0).values)


def test_histc_and_bincount() -> None:
    x = np.random.default_rng(0).standard_normal(50).astype(np.float32)
    _same(gg.histc(gg.tensor(x), bins=7), torch.histc(torch.tensor(x), bins=7))
    _same(gg.tensor(x).histc(4, -1, 1), torch.tensor(x).histc(4, -1, 1))
    i, w = np.array([0, 3, 3, 1]), np.array([0.5, 1.0, 2.0, 0.25])
    _same(gg.bincount(gg.tensor(i)), torch.bincount(torch.tensor(i)))
    _same(gg.tensor(i).bincount(minlength=7), torch.tensor(i).bincount(minlength=7))
    _same(gg.bincount(gg.tensor(i), gg.tensor(w)), torch.bincount(torch.tensor(i), torch.tensor(w)))
    with pytest.raises(RuntimeError):
        gg.bincount(gg.tensor([-1, 2]))


def test_trace_block_diag_rot90_integers() -> None:
    m = np.arange(12).reshape(3, 4)
    _same(gg.tensor(m).trace(), torch.tensor(m).trace())
    _same(
        gg.block_diag(gg.tensor(m), gg.tensor([1.5])),
        torch.block_diag(torch.tensor(m), torch.tensor([1.5])),
    )
    _same(gg.rot90(gg.tensor(m), -1), torch.rot90(torch.tensor(m), -1))
    with pytest.raises(RuntimeError, match="different"):
        gg.rot90(gg.tensor(m), 1, [1, -1])


HISTOGRAM_CALLS = [
    "torch.histogram(x)",  # 100 bins over the data's range
    "torch.histogram(x, 7, density=True)",
    "x.histogram(4, range=(-1.0, 1.0))",
    "torch.histogram(x, bins=5, range=[-0.5, 0.5], weight=x.abs())",
    "torch.histogram(x, torch.tensor([-2.0, -0.3, 0.0, 0.25, 1.0], dtype=x.dtype), density=True)",
    "torch.histogram(x.double(), 6)",
    "torch.histogram(torch.ones(5), 3)",  # one value: the range widened by 0.5 each way
    "torch.histogram(torch.zeros(0), 2)",  # no data: the range [0, 1]
    "torch.histogram(torch.zeros(0), 2, density=True)",  # and NaN densities
    "torch.histogram(x.reshape(5, 10), bins=3, weight=x.reshape(5, 10) ** 2)",
    "torch.histogram(x, 4, range=(float(x.min()), float(x.max()) - 0.1))",  # points beyond
]


@pytest.mark.parametrize("call", HISTOGRAM_CALLS)
def test_histogram_matches_torch(call) -> None:
    data = np.random.default_rng(1).standard_normal(50).astype(np.float32)
    data[:4] = [-1.0, 1.0, 0.5, 0.25]  # values on bin edges

    def run(lib):
        return eval(call, {"torch": lib, "x": lib.tensor(data)})

    ours, theirs = run(gg), run(torch)
    assert type(ours).__name__ == "histogram" and ours._fields == ("hist", "bin_edges")
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.numpy().dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize(
    "call, words",
    [
        ("torch.histogram(torch.tensor([1, 2]), 3)", "float tensor, got dtype torch.int64"),
        ("torch.histogram(x, 0)", "bins must be > 0"),
        ("torch.histogram(x, 3, range=(2.0, 1.0))", "min should not exceed max"),
        ("torch.histogram(x, 3, range=(0.0, float('inf')))", "not finite"),
        ("torch.histogram(torch.tensor([1.0, float('nan')]), 3)", "not finite"),
        ("torch.histogram(x, torch.tensor([0.0, 1.0], dtype=torch.float64))", "1-d with the"),
        ("torch.histogram(x, 3, weight=torch.ones(3))", "weight must have the input's shape"),
    ],
)
def test_histogram_refuses_what_torch_refuses(call, words) -> None:
    with pytest.raises(RuntimeError):
        eval(call, {"torch": torch, "x": torch.ones(4)})
    with pytest.raises(RuntimeError, match=words):
        eval(call, {"torch": gg, "x": gg.ones(4)})


def test_gradient_of_samples_as_numpys_and_pytorchs_with_clear_errors():
    import torch

    x = np.array([1.0, 4.0, 9.0, 16.0, 25.0])
    coords = np.array([0.0, 1.0, 1.5, 3.5, 4.0])
    for edge in (1, 2):
        (ours,) = gg.gradient(gg.tensor(x), spacing=(gg.tensor(coords),), edge_order=edge)
        np.testing.assert_allclose(ours.numpy(), np.gradient(x, coords, edge_order=edge))
    (ints,) = gg.gradient(gg.tensor([1, 4, 9]))
    assert (
        ints.dtype == gg.float32
        and ints.tolist() == torch.gradient(torch.tensor([1, 4, 9]))[0].tolist()
    )
    with pytest.raises(RuntimeError, match="dim 0 has 2 samples; edge_order=2 needs at least 3"):
        gg.gradient(gg.tensor([1.0, 2.0]), edge_order=2)
    with pytest.raises(RuntimeError, match="spacing has 1 entries but there are 2 dims"):
        gg.gradient(gg.ones(3, 3), spacing=[1.0])
    with pytest.raises(RuntimeError, match="edge_order must be 1 or 2"):
        gg.gradient(gg.ones(4), edge_order=3)
