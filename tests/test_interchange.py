"""glassgrad.save_file / load_file: state dicts to and from PyTorch through safetensors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import glassgrad as gg
from glassgrad import nn, optim


def gg_model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))


def torch_model() -> torch.nn.Module:
    tnn = torch.nn
    return tnn.Sequential(tnn.Linear(4, 8), tnn.BatchNorm1d(8), tnn.Tanh(), tnn.Linear(8, 3))


def data(step: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(step)
    return rng.normal(size=(16, 4)).astype(np.float32), rng.integers(0, 3, size=16)


def test_glassgrad_to_torch_and_back(tmp_path):
    gg.manual_seed(0)
    model = gg_model()
    opt = optim.Adam(model.parameters(), lr=0.05)
    for step in range(5):  # a few steps: weights and BatchNorm statistics move
        x, y = data(step)
        opt.zero_grad()
        gg.nn.functional.cross_entropy(model(gg.tensor(x)), gg.tensor(y)).backward()
        opt.step()
    path = tmp_path / "model.safetensors"
    gg.save_file(model.state_dict(), path, metadata={"library": "glassgrad"})

    tmodel = torch_model()
    tmodel.load_state_dict(safetensors.torch.load_file(path))
    model.eval()
    tmodel.eval()
    x, _ = data(99)
    with torch.no_grad():
        expected = tmodel(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(gg.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert int(tmodel[1].num_batches_tracked) == 5
    with open(path, "rb") as f:  # the metadata is in the header
        assert b'"library":"glassgrad"' in f.read(200)

    # and back: torch trains on, glassgrad loads torch's file
    tmodel.train()
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    for step in range(5, 8):
        x, y = data(step)
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y)).backward()
        topt.step()
    safetensors.torch.save_file(tmodel.state_dict(), path)
    loaded = gg.load_file(path)
    assert list(loaded) == sorted(tmodel.state_dict())
    assert all(isinstance(v, gg.Tensor) for v in loaded.values())
    assert loaded["1.num_batches_tracked"].dtype == gg.int64
    model2 = gg_model()
    model2.load_state_dict(loaded)
    model2.eval()
    tmodel.eval()
    x, _ = data(100)
    with torch.no_grad():
        expected = tmodel(torch.tensor(x)).numpy()
    np.testing.assert_allclose(
        model2(gg.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6
    )


def test_dtypes_arrays_and_errors(tmp_path):
    path = tmp_path / "mixed.safetensors"
    values = {
        "f64": gg.tensor([1.5, -2.0], dtype=gg.float64),
        "f16": gg.ones(3, dtype=gg.float16),
        "i32": gg.arange(4, dtype=gg.int32),
        "flag": gg.tensor([True, False]),
        "view": gg.arange(12.0).reshape(3, 4).t(),  # not contiguous
        "array": np.zeros((2, 0)),
    }
    gg.save_file(values, path)
    loaded = gg.load_file(path)
    raw = safetensors.numpy.load_file(str(path))
    for name, value in values.items():
        arr = value._data if isinstance(value, gg.Tensor) else value
        np.testing.assert_array_equal(loaded[name]._data, arr)
        assert loaded[name]._data.dtype == arr.dtype == raw[name].dtype
    assert loaded["view"]._data.flags.writeable
    with pytest.raises(TypeError, match="safetensors stores tensors only"):
        gg.save_file({"step": 3}, path)
    with pytest.raises(TypeError, match="keys must be strings"):
        gg.save_file({0: gg.ones(1)}, path)
    gg.save_file({"t": torch.ones(2)}, path)  # torch tensors are accepted too
    assert gg.load_file(path, device="cpu")["t"].tolist() == [1.0, 1.0]


def test_import_glassgrad_does_not_import_safetensors():
    code = "import sys, glassgrad; print('safetensors' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dlpack_shares_memory_with_pytorch_and_numpy_both_ways():
    import torch

    theirs = torch.arange(6.0).reshape(2, 3)
    ours = gg.from_dlpack(theirs)
    ours[0, 0] = 100.0  # one memory: a write shows on the other side
    assert theirs[0, 0].item() == 100.0 and ours.shape == (2, 3) and ours.dtype == gg.float32
    back = torch.from_dlpack(gg.arange(4.0))
    assert back.tolist() == [0.0, 1.0, 2.0, 3.0]
    mine = gg.arange(4.0)
    np.from_dlpack(mine)[1] = 7.0
    assert mine.tolist() == [0.0, 7.0, 2.0, 3.0]
    # capsules, the older protocol, both ways; a transposed tensor keeps its strides
    assert gg.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(theirs)).tolist() == (
        theirs.tolist()
    )
    assert torch.utils.dlpack.from_dlpack(gg.to_dlpack(mine)).tolist() == mine.tolist()
    t = gg.from_dlpack(torch.arange(6.0).reshape(2, 3).t())
    assert t.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]] and not t.is_contiguous()


def test_dlpack_refuses_a_tensor_that_requires_grad_and_names_the_fix():
    with pytest.raises(RuntimeError, match=r"require gradient through DLPack, use tensor.detach"):
        gg.to_dlpack(gg.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="to_dlpack: expected a Tensor, got list"):
        gg.to_dlpack([1.0])
