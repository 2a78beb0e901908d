"""Old and new PyTorch spellings real programs use: typed constructors, torch.nn.modules paths,
torch.accelerator, torch.serialization.safe_globals, torch.multiprocessing."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

import glassgrad as gg


@pytest.mark.parametrize(
    "name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor"]
)
def test_typed_constructors_match_torch(name) -> None:
    ours, theirs = getattr(gg, name), getattr(torch, name)
    for args in (([1, 0, 2],), ([[1.5, 2.0]],), (2, 3), ()):
        a, b = ours(*args), theirs(*args)
        assert tuple(a.shape) == tuple(b.shape) and a.type() == b.type()
        if args and not isinstance(args[0], int):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert isinstance(ours([1]), ours) and not isinstance(gg.tensor([1.0], dtype=gg.float16), ours)
    assert gg.ones(2, dtype=gg.float64).type(ours).type() == torch.ones(2).type(theirs).type()
    with pytest.raises(TypeError, match=name):
        ours(2, "x")


def test_tensor_class_called_is_the_legacy_float_constructor() -> None:
    """``torch.Tensor([0])`` is float32 (``loss = torch.Tensor([0]); loss += l``), not int64."""
    for args in (([0],), ([[1, 2], [3, 4]],), (np.arange(3),), (2, 3), (4,), ()):
        a, b = gg.Tensor(*args), torch.Tensor(*args)
        assert tuple(a.shape) == tuple(b.shape) and a.type() == b.type() == "torch.FloatTensor"
        if args and not isinstance(args[0], int):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    loss = gg.Tensor([0])
    loss += gg.tensor(1.5, requires_grad=True)
    assert loss.requires_grad and loss.item() == 1.5
    assert gg.tensor([1, 2]).dtype == gg.int64 and gg.as_tensor([1, 2]).dtype == gg.int64
    with pytest.raises(TypeError, match="Tensor"):
        gg.Tensor(2, "x")


def test_a_size_given_to_the_legacy_constructors_is_a_shape() -> None:
    """``torch.Tensor(x.size())`` and ``torch.LongTensor(x.size())`` make a tensor of that shape
    (a plain tuple is data): a ``Size`` read as data gave a 1-d tensor of its numbers."""
    for lib in (gg, torch):
        x = lib.ones(2, 3)
        assert tuple(lib.Tensor(x.size()).shape) == (2, 3)
        assert lib.LongTensor(x.size()).dtype == lib.int64
        assert tuple(lib.LongTensor(x.size()).shape) == (2, 3)
        assert tuple(lib.FloatTensor(lib.Size([4])).shape) == (4,)
        np.testing.assert_array_equal(lib.Tensor((2, 3)).numpy(), [2.0, 3.0])


@pytest.mark.parametrize(
    "path,name",
    [
        ("nn.modules.rnn", "LSTM"),
        ("nn.modules.linear", "Linear"),
        ("nn.modules.linear", "NonDynamicallyQuantizableLinear"),
        ("nn.modules.transformer", "TransformerEncoderLayer"),
        ("nn.modules.activation", "MultiheadAttention"),
        ("nn.modules.dropout", "Dropout"),
        ("nn.modules.sparse", "Embedding"),
        ("nn.modules.container", "ModuleList"),
        ("nn.modules.normalization", "LayerNorm"),
        ("nn.modules.conv", "Conv2d"),
        ("nn.modules", "Module"),
    ],
)
def test_torch_nn_modules_paths(path, name) -> None:
    ours = getattr(importlib.import_module(f"glassgrad.{path}"), name)
    theirs = getattr(importlib.import_module(f"torch.{path}"), name)
    assert ours.__name__ in (theirs.__name__, "Linear")
    with pytest.raises(AttributeError, match="NoSuchLayer"):
        _ = importlib.import_module(f"glassgrad.{path}").NoSuchLayer


def test_accelerator_picks_the_cpu() -> None:
    use_accel = gg.accelerator.is_available()
    device = gg.accelerator.current_accelerator() if use_accel else gg.device("cpu")
    assert not use_accel and device.type == "cpu" and gg.accelerator.device_count() == 0
    with pytest.raises(RuntimeError, match="CPU"):
        gg.accelerator.set_device_index(0)


def test_safe_globals_and_multiprocessing(tmp_path) -> None:
    path = tmp_path / "m.pt"
    gg.save({"w": gg.ones(2)}, path)
    with gg.serialization.safe_globals([dict]):
        assert gg.load(path, weights_only=True)["w"].tolist() == [1.0, 1.0]
    gg.serialization.add_safe_globals([dict])
    import glassgrad.multiprocessing as mp

    assert mp.cpu_count() >= 1 and callable(mp.spawn) and mp.Process is not None


def test_new_factories_take_the_dtype_of_their_tensor() -> None:
    for lib in (gg, torch):
        w = lib.ones(2, dtype=lib.float64)
        cases = [
            (w.new_zeros(2, 3), lib.zeros(2, 3, dtype=lib.float64)),
            (w.new_ones((1, 2)), lib.ones(1, 2, dtype=lib.float64)),
            (w.new_full((2,), 3.5), lib.full((2,), 3.5, dtype=lib.float64)),
            (w.new_tensor([1, 2]), lib.tensor([1.0, 2.0], dtype=lib.float64)),
            (w.new_zeros(2, dtype=lib.int64), lib.zeros(2, dtype=lib.int64)),
        ]
        for got, want in cases:
            assert got.dtype == want.dtype and got.tolist() == want.tolist()
        assert w.new_empty(3).shape == (3,) and w.new_zeros(2, requires_grad=True).requires_grad


def test_default_device_is_the_cpu() -> None:
    """``set_default_device('cpu')`` (the tutorials' ``cuda if available else cpu``) is accepted
    and ``get_default_device`` answers as PyTorch's does on a CPU-only machine; an accelerator
    raises ``CPUOnlyError`` naming the function."""
    gg.set_default_device("cpu")
    gg.set_default_device(None)
    assert gg.get_default_device() == gg.device("cpu")
    assert str(gg.get_default_device()) == str(torch.get_default_device())
    with pytest.raises(gg.CPUOnlyError, match="set_default_device"):
        gg.set_default_device("cuda")


def test_tensor_constructor_keeps_a_tensors_dtype_as_pytorch() -> None:
    import numpy as np
    import torch

    import glassgrad as gg

    for lib in (torch, gg):
        t = lib.ones(2, dtype=lib.float64)
        assert str(lib.Tensor(t).dtype).endswith("float64")
        assert str(lib.Tensor(np.ones(2)).dtype).endswith("float32")
    shared = gg.ones(2, dtype=gg.float64)
    gg.Tensor(shared)[0] = 5.0  # the same data, as PyTorch's alias
    assert shared[0].item() == 5.0
