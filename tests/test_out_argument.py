"""``torch.<op>(..., out=t)``: the result written into ``t``, as PyTorch does (tutorials write
``torch.matmul(a, b, out=c)``; ``glassgrad/ops/out.py``)."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassgrad as gg
from tests.opinfo import ALL
from tests.test_ops_sweep import _convert

PREFIXES = ("linalg_", "special_", "fft_")


class _WithOut:
    """``lib`` (or one of its submodules) whose function ``target`` is called with ``out=``: an
    empty tensor (a tuple of them) of the result's dtype, filled and returned by the call."""

    def __init__(self, lib: types.ModuleType, target: str, calls: list, root=None) -> None:
        self.lib, self.target, self.calls, self.root = lib, target, calls, root or lib

    def __getattr__(self, attr: str):
        value = getattr(self.lib, attr)
        if attr in ("linalg", "special", "fft"):
            return _WithOut(value, self.target, self.calls, self.root)
        if attr != self.target or not callable(value):
            return value

        def call(*args, **kwargs):
            plain = value(*args, **kwargs)
            empty = self.root.empty
            if isinstance(plain, tuple):
                out = tuple(empty(0, dtype=p.dtype) for p in plain)
            else:
                out = empty(0, dtype=plain.dtype)
            result = value(*args, out=out, **kwargs)
            self.calls.append((plain, out, result))
            return result

        return call


def _public(name: str) -> str:
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


# ops the sweep calls as ``torch.<name>`` where PyTorch takes out=: these must be compared (not
# returned from early), so the sweep can't pass by comparing nothing
COMPARED = {"add", "exp", "cat", "stack", "sum", "mean", "where", "sort", "topk", "cumsum", "mm"}
COMPARED |= {"bmm", "clamp", "gather", "linalg_vector_norm", "linalg_solve", "special_expit"}
COMPARED |= {"fft_rfft", "kthvalue", "logsumexp"}


def _np(t) -> np.ndarray:
    return t.detach().resolve_conj().numpy() if isinstance(t, torch.Tensor) else t.numpy()


@pytest.mark.parametrize("op", [o for o in ALL if o.check_torch], ids=lambda o: o.name)
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_op_torch_takes_out_for_takes_it_too(op, data) -> None:
    """Each op of the registry that the sweep runs through ``torch.<name>`` (or ``linalg``,
    ``special``, ``fft``), called with ``out=``: where PyTorch takes it, glassgrad writes the same
    values into its ``out`` and returns that tensor (those tensors)."""
    args = op.sample(data.draw)
    theirs_calls: list = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = _convert(torch, args, np.float64, requires_grad=False)
            (op.torch_fn or op.fn)(_WithOut(torch, _public(op.name), theirs_calls), *theirs)
    except Exception:  # PyTorch takes no out= here, or not an empty one
        assert op.name not in COMPARED
        return
    if not theirs_calls:
        assert op.name not in COMPARED
        return  # the sweep calls it as a method or through F
    ours_calls: list = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _convert(gg, args, np.float64, requires_grad=False)
        final = op.fn(_WithOut(gg, _public(op.name), ours_calls), *ours)
    assert len(ours_calls) == len(theirs_calls)
    for plain, out, result in ours_calls:
        if isinstance(out, tuple):
            pairs = list(zip(plain, out, strict=True))
            assert all(r is o for r, o in zip(result, out, strict=True))
            assert type(result) is type(plain)  # values/indices named as without out=
        else:
            pairs = [(plain, out)]
            assert result is out
        for p, o in pairs:
            assert tuple(o.shape) == tuple(p.shape) and o.dtype == p.dtype
            np.testing.assert_array_equal(_np(o), _np(p))
    # what the sweep's function makes of the results: PyTorch's without out= (its own out=
    # has corner cases: ihfftn's stays empty)
    ref = (op.torch_fn or op.fn)(torch, *theirs)
    assert tuple(final.shape) == tuple(ref.shape)
    np.testing.assert_allclose(_np(final), _np(ref), rtol=op.rtol, atol=op.atol)


def test_the_tutorial_lines() -> None:
    """The Tensors tutorial's ``out=`` lines: the same product in all three spellings."""
    t = gg.ones(4, 4)
    t[:, 1] = 0
    y3 = gg.rand_like(t)
    assert gg.matmul(t, t.T, out=y3) is y3
    np.testing.assert_array_equal(y3.numpy(), (t @ t.T).numpy())
    z3 = gg.rand_like(t)
    gg.mul(t, t, out=z3)
    np.testing.assert_array_equal(z3.numpy(), (t * t).numpy())
    result = gg.empty(5, 3)
    x, y = gg.rand(5, 3), gg.rand(5, 3)
    gg.add(x, y, out=result)
    np.testing.assert_array_equal(result.numpy(), (x + y).numpy())


def test_out_is_written_in_place_and_counts_as_a_write() -> None:
    base = gg.zeros(2, 3)
    row = base[0]
    version = row._version
    gg.exp(gg.zeros(3), out=row)
    np.testing.assert_array_equal(base.numpy()[0], [1.0, 1.0, 1.0])
    assert row._version > version
    a = gg.tensor([1.0, 2.0])
    gg.exp(a, out=a)  # aliasing the input: computed first, then written
    np.testing.assert_allclose(a.numpy(), np.exp([1.0, 2.0]).astype(np.float32))


def test_tuple_results_go_into_a_tuple_of_outs() -> None:
    x = gg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, indices = gg.empty(2), gg.empty(2, dtype=gg.int64)
    result = gg.max(x, 1, out=(values, indices))
    assert result.values is values and result.indices is indices
    ref = torch.max(torch.tensor(x.numpy()), 1)
    np.testing.assert_array_equal(values.numpy(), ref.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), ref.indices.numpy())
    s, i = gg.empty(0), gg.empty(0, dtype=gg.int64)
    gg.sort(x, 1, descending=True, out=[s, i])
    np.testing.assert_array_equal(s.numpy(), [[5.0, 2.0, 1.0], [7.0, 3.0, 0.0]])


def test_out_casts_within_a_kind_as_pytorch() -> None:
    ints = np.array([1, 2])
    for lib in (gg, torch):  # int into float and float32 into float64 are fine
        out = lib.empty(2, dtype=lib.float64)
        lib.add(lib.tensor(ints), 1, out=out)
        np.testing.assert_array_equal(out.numpy(), [2.0, 3.0])
        assert out.dtype == lib.float64
        flags = lib.empty(2)
        lib.gt(lib.tensor(ints), 1, out=flags)  # bool into float
        np.testing.assert_array_equal(flags.numpy(), [0.0, 1.0])
    for lib in (gg, torch):  # float into int is refused
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            lib.add(lib.ones(2), 1, out=lib.empty(2, dtype=lib.int64))


def test_out_of_another_shape_is_resized_with_pytorchs_warning() -> None:
    a, b = np.ones((2, 3), np.float32), np.ones((3, 2), np.float32)
    for lib in (gg, torch):
        empty = lib.empty(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an empty out: resized silently
            lib.matmul(lib.tensor(a), lib.tensor(b), out=empty)
        assert tuple(empty.shape) == (2, 2)
        wrong = lib.empty(3)
        with pytest.warns(UserWarning, match="was resized since it had shape \\[3\\]") as w:
            lib.matmul(lib.tensor(a), lib.tensor(b), out=wrong)
        assert tuple(wrong.shape) == (2, 2) and w[0].filename == __file__
        np.testing.assert_array_equal(wrong.numpy(), np.full((2, 2), 3.0))
    with pytest.raises(RuntimeError, match=r"matmul\(\): out= is a view of shape \(2,\)"):
        gg.matmul(gg.tensor(a), gg.tensor(b), out=gg.empty(4)[:2])


def test_out_refuses_gradients_as_pytorch() -> None:
    for lib in (gg, torch):
        w = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.mul(w, 2, out=lib.empty(2))
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.mul(lib.ones(2), 2, out=lib.empty(2, requires_grad=True))
        with lib.no_grad():  # no graph: fine
            out = lib.empty(2)
            lib.mul(w, 2, out=out)
        assert not out.requires_grad
        flags = lib.empty(2, dtype=lib.bool)
        lib.gt(w, 0, out=flags)  # no gradient to lose: fine
        assert flags.numpy().all()


def test_bad_outs_are_named() -> None:
    with pytest.raises(TypeError, match=r"exp\(\): argument 'out' must be Tensor, not int"):
        gg.exp(gg.ones(2), out=3)
    with pytest.raises(TypeError, match=r"max\(\): argument 'out' must be a tuple of 2 tensors"):
        gg.max(gg.ones(2, 2), 1, out=gg.empty(2))
    with pytest.raises(TypeError, match=r"equal\(\) got an unexpected keyword argument 'out'"):
        gg.equal(gg.ones(2), gg.ones(2), out=gg.empty(2))
    with pytest.raises(TypeError, match="unexpected keyword argument 'out'"):
        gg.ones(2).sum(out=gg.empty(()))  # methods take none, as PyTorch's (the hot unary ones,
    # whose function is their method, take it: lenient where PyTorch raises, never different)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, out: lib.arange(3, out=out),  # out's dtype: float values
        lambda lib, out: lib.zeros(2, 2, out=out),
        lambda lib, out: lib.ones((3,), out=out),
        lambda lib, out: lib.full((2,), 7, out=out),
        lambda lib, out: lib.linspace(0, 1, 5, out=out),
        lambda lib, out: lib.logspace(0, 2, 3, out=out),
        lambda lib, out: lib.eye(2, out=out),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_factories_fill_out_in_its_dtype_as_pytorch(make, dtype) -> None:
    results = []
    for lib in (gg, torch):
        out = lib.empty(0, dtype=getattr(lib, dtype))
        assert make(lib, out) is out
        assert str(out.dtype).split(".")[-1] == dtype
        results.append(out.numpy())
    np.testing.assert_allclose(results[0], results[1])


def test_random_factories_fill_out() -> None:
    out = gg.empty(0, dtype=gg.float64)
    assert gg.randn(2, 3, out=out) is out and out.shape == (2, 3) and out.dtype == gg.float64
    ints = gg.empty(4, dtype=gg.int32)
    gg.randperm(4, out=ints)
    assert sorted(ints.tolist()) == [0, 1, 2, 3] and ints.dtype == gg.int32
    with pytest.raises(TypeError, match=r"rand\(\): argument 'out' must be Tensor"):
        gg.rand(2, out=[0.0, 0.0])
