"""glassgrad.save / load: round trips, the no-pickle guarantee, atomic writes, damaged files."""

from __future__ import annotations

import io
import json
import math
import os
from collections import OrderedDict

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import serialization
from glassgrad.serialization import load, save


def assert_same(got, want, where="obj"):
    """Equal values of equal types, recursively (tensors: dtype, shape, values, requires_grad)."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, gg.Tensor):
        assert got.dtype == want.dtype and got.shape == want.shape, where
        assert got.requires_grad == want.requires_grad, where
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy(), err_msg=where)
    elif isinstance(want, (np.ndarray, np.generic)):
        assert got.dtype == want.dtype and np.shape(got) == np.shape(want), where
        np.testing.assert_array_equal(got, want, err_msg=where)
    elif isinstance(want, dict):
        assert list(got) == list(want), where
        for k in want:
            assert type(k) is type(next(g for g in got if g == k)), f"{where}: key {k!r}"
            assert_same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), where
    else:
        assert got == want, where


def checkpoint():
    """What a training loop checkpoints: model and optimizer state, epoch, RNG states."""
    model = OrderedDict(
        [
            ("fc.weight", gg.randn(4, 3)),
            ("fc.bias", gg.zeros(4, dtype=gg.float64)),
            ("bn.num_batches_tracked", gg.tensor(7)),
            ("half", gg.ones(2, dtype=gg.float16)),
            ("mask", gg.tensor([True, False])),
            ("bytes", gg.arange(3, dtype=gg.uint8)),
            ("empty", gg.zeros(0, 3)),
            ("transposed", gg.randn(2, 3).T),
        ]
    )
    optimizer = {
        "state": {0: {"step": gg.tensor(3.0), "exp_avg": gg.randn(4, 3)}, 1: {}},
        "param_groups": [
            {
                "lr": 0.001,
                "betas": (0.9, 0.999),
                "params": [0, 1],
                "foreach": None,
                "amsgrad": False,
            }
        ],
    }
    return {
        "model": model,
        "optimizer": optimizer,
        "epoch": 12,
        "rng": np.random.default_rng(5).bit_generator.state,
        "big": [2**200, -(2**70), 0],
        "floats": [0.1, -0.0, float("inf"), float("nan"), 1e-310],
        "text": 'ünïcode "quoted" \n',
        "nothing": None,
        "empty": ([], {}, ()),
        "numpy": {"array": np.arange(6).reshape(2, 3), "scalar": np.float32(2.5)},
        (0.5): "float key",
        True: "bool key",
        None: "none key",
    }


def test_round_trip_of_a_training_checkpoint(tmp_path):
    obj = checkpoint()
    save(obj, tmp_path / "ckpt.pt")
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pt"]  # the exact name, no temporary left
    assert_same(load(tmp_path / "ckpt.pt"), obj)
    assert_same(load(str(tmp_path / "ckpt.pt"), map_location="cpu", weights_only=True), obj)


def test_top_level_values_and_file_objects():
    for obj in (gg.randn(3, dtype=gg.float64), 3, 2.5, "s", True, None, [gg.ones(1)], (1,)):
        buffer = io.BytesIO()
        save(obj, buffer)
        buffer.seek(0)
        assert_same(load(buffer), obj)


def test_requires_grad_and_shared_tensors_survive():
    w = gg.randn(2, 2, requires_grad=True)
    buffer = io.BytesIO()
    save({"encoder": w, "decoder": w, "x": gg.ones(1)}, buffer)
    buffer.seek(0)
    got = load(buffer)
    assert got["encoder"] is got["decoder"] and got["encoder"].requires_grad
    assert got["encoder"].is_leaf and not got["x"].requires_grad


def test_generator_state_resumes_the_same_draws(tmp_path):
    rng = np.random.default_rng(123)
    rng.random(10)
    save({"rng": rng.bit_generator.state}, tmp_path / "rng")
    expected = rng.random(5)
    fresh = np.random.default_rng()
    fresh.bit_generator.state = load(tmp_path / "rng")["rng"]
    np.testing.assert_array_equal(fresh.random(5), expected)


def test_torch_optimizer_state_round_trips_and_resumes_in_torch(tmp_path):
    """Int keys, param_groups lists and tuples come back as torch's optimizer expects them."""
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(3, 2, dtype=torch.float64))]
    opt = torch.optim.Adam(params, lr=0.1, amsgrad=True)
    for _ in range(2):
        opt.zero_grad()
        (params[0] ** 2).sum().backward()
        opt.step()

    def to_gg(obj):
        if isinstance(obj, torch.Tensor):
            return gg.tensor(obj.detach().numpy())
        if isinstance(obj, dict):
            return {k: to_gg(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(to_gg(v) for v in obj)
        return obj

    def to_torch(obj):
        if isinstance(obj, gg.Tensor):
            return torch.from_numpy(obj.numpy().copy())
        if isinstance(obj, dict):
            return {k: to_torch(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(to_torch(v) for v in obj)
        return obj

    save(to_gg(opt.state_dict()), tmp_path / "opt")
    restored_params = [torch.nn.Parameter(params[0].detach().clone())]
    restored = torch.optim.Adam(restored_params, lr=0.5)
    restored.load_state_dict(to_torch(load(tmp_path / "opt")))
    for p, o in ((params, opt), (restored_params, restored)):
        o.zero_grad()
        (p[0] ** 2).sum().backward()
        o.step()
    torch.testing.assert_close(restored_params[0], params[0], rtol=0, atol=0)


def test_unsupported_objects_are_refused_by_location(tmp_path):
    with pytest.raises(TypeError, match=r"can't store obj\['a'\]\[1\] \(a object\)"):
        save({"a": [1, object()]}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"obj\['a'\] \(a set holding a tuple\)"):
        save({"a": {(1, 2)}}, tmp_path / "x")
    with pytest.raises(TypeError, match="key of type tuple"):
        save({(1, 2): 3}, tmp_path / "x")
    with pytest.raises(TypeError, match="dtype <U1"):
        save(np.array(["a"]), tmp_path / "x")
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="reference cycle"):
        save(loop, tmp_path / "x")
    assert os.listdir(tmp_path) == []  # nothing written, no temporary left
    with pytest.raises(ValueError, match="CPU only"):
        load(tmp_path / "x", map_location="cuda:0")


# ---- atomic writes -----------------------------------------------------------------------------


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_crash_mid_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch, error):
    path = tmp_path / "ckpt.pt"
    save({"epoch": 1, "w": gg.ones(3)}, path)
    before = path.read_bytes()

    def partial_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a zip archive")  # some bytes reach the disk, then it fails
        raise error

    monkeypatch.setattr(np, "savez", partial_savez)
    with pytest.raises(type(error)):
        save({"epoch": 2, "w": gg.zeros(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pt"]
    monkeypatch.undo()
    assert load(path)["epoch"] == 1


def test_crash_before_rename_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save([1], path)

    def failing_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(serialization.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="I/O error"):
        save([2], path)
    monkeypatch.undo()
    assert load(path) == [1] and os.listdir(tmp_path) == ["ckpt.pt"]
    save([3], path)  # an ordinary overwrite replaces it
    assert load(path) == [3]


# ---- refusing pickles and damaged files --------------------------------------------------------

EXECUTED = []


class Payload:
    def __reduce__(self):
        return (EXECUTED.append, ("code ran",))


def test_pickled_entries_are_refused_without_running_them(tmp_path):
    header = {"format": "glassgrad", "version": 1, "root": {"t": "ndarray", "key": "a0"}}
    path = tmp_path / "evil.npz"
    _header_npz(path, header, a0=np.array([Payload()], dtype=object))
    with pytest.raises(
        ValueError, match=r"evil.npz: corrupt glassgrad checkpoint.*pickled Python objects"
    ):
        load(path)
    (tmp_path / "evil.pkl").write_bytes(__import__("pickle").dumps(Payload()))
    with pytest.raises(
        ValueError, match=r"evil.pkl: not a glassgrad checkpoint: it holds pickled Python objects"
    ):
        load(tmp_path / "evil.pkl")
    assert EXECUTED == []


def _npz(path, **arrays):
    with open(path, "wb") as f:  # a file object: np.savez would append .npz to a path
        np.savez(f, **arrays)


def _npy(path, array):
    with open(path, "wb") as f:
        np.save(f, array)


def _header_npz(path, header, **arrays):
    _npz(path, __glassgrad__=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), "not a glassgrad checkpoint"),
        (lambda p: p.write_bytes(os.urandom(64)), "not a glassgrad checkpoint"),
        (lambda p: _npz(p, x=np.ones(2)), r"no '__glassgrad__' entry among \['x'\]"),
        (
            lambda p: torch.save(torch.nn.Linear(2, 2), p),
            r"PyTorch checkpoint pickles torch\.nn\.modules\.linear\.Linear \(a whole pickled "
            r"model\?.*save model\.state_dict\(\) with torch\.save instead",
        ),
        (
            lambda p: torch.save(np.array([1, "a"], dtype=object), p),
            "file.ckpt: the checkpoint holds a NumPy object dtype",
        ),
        (lambda p: _npy(p, np.ones(2)), "a single .npy array"),
        (lambda p: _header_npz(p, {"format": "other", "root": {}}), "not a glassgrad checkpoint"),
        (lambda p: _header_npz(p, {"format": "glassgrad", "version": 9, "root": {}}), "version 9"),
        (
            lambda p: _header_npz(
                p,
                {"format": "glassgrad", "version": 1, "root": {"t": "tensor", "key": "a0"}},
            ),
            "missing array entry 'a0'",
        ),
        (
            lambda p: _header_npz(
                p,
                {
                    "format": "glassgrad",
                    "version": 1,
                    "root": {"t": "tensor", "key": "a0", "dtype": "float32", "shape": [2]},
                },
                a0=np.ones(2, dtype=np.float64),
            ),
            "entry 'a0' is float64 of shape \\[2\\], the header says float32",
        ),
        (
            lambda p: _header_npz(p, {"format": "glassgrad", "version": 1, "root": {"t": "frob"}}),
            "unknown node type 'frob'",
        ),
        (
            lambda p: _header_npz(
                p, {"format": "glassgrad", "version": 1, "root": {"t": "int", "v": "x"}}
            ),
            "malformed 'int' node",
        ),
    ],
)
def test_foreign_or_damaged_files_give_one_clear_error(tmp_path, make, message):
    path = tmp_path / "file.ckpt"
    make(path)
    with pytest.raises(ValueError, match=r"file\.ckpt") as info:
        load(path)
    assert info.match(message)


def test_pytorch_checkpoints_of_tensors_and_containers_load_as_glassgrad_tensors(tmp_path):
    """A program that switched its import resumes from what it saved under PyTorch
    (``torch.load('./checkpoint/ckpt.pth')``): state dicts, optimizer state, numbers, views."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(2, 3, 6, 6)
    net(x).sum().backward()
    opt.step()
    net.eval()
    base = torch.arange(12.0)
    state = {
        "net": net.state_dict(),
        "optimizer": opt.state_dict(),
        "acc": 87.5,
        "epoch": 3,
        "extras": {
            "view": base[2:10:3],  # a strided view of a larger storage: only its elements
            "transposed": base.reshape(3, 4).t(),
            "param": torch.nn.Parameter(torch.ones(2, dtype=torch.float64)),
            "frozen": torch.nn.Parameter(torch.ones(1), requires_grad=False),
            "ints": torch.tensor([1, -2], dtype=torch.int32),
            "half": torch.tensor([0.5], dtype=torch.float16),
            "mask": torch.tensor([True, False]),
            "complex": torch.tensor([1 + 2j]),
            "empty": torch.zeros(0, 3),
            "size": torch.Size([2, 3]),
            "device": torch.device("cpu"),
            "np_scalar": np.float64(0.25),
            "set": {1, 2},
        },
    }
    path = tmp_path / "ckpt.pth"
    torch.save(state, path)
    got = gg.load(path, map_location="cpu")
    assert list(got) == list(state) and got["acc"] == 87.5 and got["epoch"] == 3
    assert isinstance(got["net"], OrderedDict) and list(got["net"]) == list(state["net"])
    for key, value in state["net"].items():
        assert got["net"][key].dtype == getattr(gg, str(value.dtype).split(".")[1])
        np.testing.assert_array_equal(got["net"][key].numpy(), value.numpy())
    extras, theirs = got["extras"], state["extras"]
    for key in ("view", "transposed", "ints", "half", "mask", "complex", "empty"):
        assert type(extras[key]) is gg.Tensor and extras[key].shape == theirs[key].shape, key
        np.testing.assert_array_equal(extras[key].numpy(), theirs[key].numpy(), err_msg=key)
    assert isinstance(extras["param"], gg.nn.Parameter) and extras["param"].requires_grad
    assert extras["param"].dtype == gg.float64 and not extras["frozen"].requires_grad
    assert extras["size"] == (2, 3) and str(extras["device"]) == "cpu"
    assert extras["np_scalar"] == 0.25 and extras["set"] == {1, 2}
    data = np.sin(np.arange(12).reshape(3, 4) / 20.0)  # time_sequence_prediction's traindata.pt
    torch.save({"data": data, "ints": np.arange(6, dtype=np.int32).reshape(2, 3)[:, ::2]}, path)
    arrays = gg.load(path)
    assert type(arrays["data"]) is np.ndarray and arrays["ints"].dtype == np.int32
    np.testing.assert_array_equal(arrays["data"], data)
    np.testing.assert_array_equal(arrays["ints"], [[0, 2], [3, 5]])
    # the model resumes: same outputs as PyTorch's, and the optimizer state loads
    ours = gg.nn.Sequential(gg.nn.Conv2d(3, 4, 3), gg.nn.BatchNorm2d(4), gg.nn.ReLU())
    ours.load_state_dict(got["net"])
    ours.eval()
    np.testing.assert_allclose(
        ours(gg.tensor(x.numpy())).detach().numpy(), net(x).detach().numpy(), rtol=1e-6
    )
    gopt = gg.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    gopt.load_state_dict(got["optimizer"])
    buf = gopt.state_dict()["state"][0]["momentum_buffer"]
    np.testing.assert_array_equal(buf.numpy(), opt.state_dict()["state"][0]["momentum_buffer"])


def test_pytorch_checkpoints_run_no_code_and_name_what_they_refuse(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(2), "x": Payload()}, path)  # EXECUTED.append("code ran")
    with pytest.raises(
        ValueError, match=r"evil\.pth: this PyTorch checkpoint pickles \w+\.getattr"
    ):
        gg.load(path)
    assert EXECUTED == []
    torch.save({"w": torch.ones(2, dtype=torch.bfloat16)}, path)
    with pytest.raises(ValueError, match=r"torch\.BFloat16Storage .*tensor\.float\(\)"):
        gg.load(path)


def test_an_old_format_pytorch_checkpoint_says_so(tmp_path):
    path = tmp_path / "old.pth"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match=r"old\.pth: a PyTorch checkpoint in the pre-1\.6 format"):
        gg.load(path)


def test_a_pytorch_tensor_reaching_outside_its_storage_is_refused():
    """Sizes, strides and offsets come from the file: never a view past the storage's memory."""
    from glassgrad._torch_checkpoint import _rebuild_tensor

    storage = np.arange(10.0)
    np.testing.assert_array_equal(_rebuild_tensor(storage, 2, (3,), (3,)).numpy(), [2, 5, 8])
    for offset, size, stride in [
        (0, (3,), (-1,)),
        (8, (3,), (1,)),
        (0, (2,), (1, 1)),
        (-1, (1,), (1,)),
    ]:
        with pytest.raises(ValueError, match=r"storage|non-negative"):
            _rebuild_tensor(storage, offset, size, stride)


def test_numpy_arrays_saved_to_an_open_file_load_as_arrays(tmp_path):
    """pytorch/examples time_sequence_prediction: ``torch.save(array, open(path, 'wb'))``, the file
    left open, then ``torch.load(path)`` gives the array back, as in PyTorch."""
    data = np.sin(np.arange(12).reshape(3, 4) / 20.0)
    path = tmp_path / "traindata.pt"
    f = open(path, "wb")  # noqa: SIM115 - the program's own pattern
    save(data, f)
    got = load(str(path))
    f.close()
    assert type(got) is np.ndarray and got.dtype == np.float64
    np.testing.assert_array_equal(got, data)
    np.testing.assert_array_equal(gg.from_numpy(got[:, 1:]).numpy(), data[:, 1:])
    for bad in (np.array([1, "a"], dtype=object), np.array([(1, 2.0)], dtype="i4,f8")):
        with pytest.raises(TypeError, match=r"save: .*only numeric arrays"):
            save(bad, tmp_path / "bad.pt")


def test_truncated_or_bit_flipped_checkpoints_are_detected(tmp_path):
    path = tmp_path / "ckpt.pt"
    save(checkpoint(), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 30):
        (tmp_path / "cut.pt").write_bytes(data[:cut])
        with pytest.raises(ValueError, match=r"cut\.pt: (not a glassgrad|corrupt)"):
            load(tmp_path / "cut.pt")
    weights = gg.tensor(np.arange(1000, dtype=np.float64))
    save(weights, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit inside the array's bytes: the CRC catches it
    (tmp_path / "flip.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"flip\.pt: corrupt glassgrad checkpoint.*CRC"):
        load(tmp_path / "flip.pt")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.pt")


# ---- resuming a training run -------------------------------------------------------------------


def _train(path, epochs: int, save_after: int | None = None, resume: bool = False) -> list[float]:
    """A small MLP with dropout, Adam, StepLR and a shuffling loader, all on glassgrad's RNG.

    Returns the loss of every step it runs. With ``save_after`` it checkpoints after that epoch;
    with ``resume`` it restores that checkpoint and trains the remaining epochs.
    """
    import glassgrad.nn.functional as F
    from glassgrad import optim
    from glassgrad.data import DataLoader, TensorDataset

    gg.manual_seed(0)
    X, y = gg.randn(40, 5), gg.randint(0, 3, (40,))
    params = {
        "w1": gg.randn(16, 5, requires_grad=True),
        "b1": gg.zeros(16, requires_grad=True),
        "w2": gg.randn(3, 16, requires_grad=True),
        "b2": gg.zeros(3, requires_grad=True),
    }
    opt = optim.Adam(params.values(), lr=0.05)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True)  # glassgrad's RNG
    start = 0
    if resume:
        ckpt = load(path)
        with gg.no_grad():
            for name, p in params.items():
                p.copy_(ckpt["model"][name])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        loader.load_state_dict(ckpt["loader"])  # also dropout's generator: they share it
        start = ckpt["epoch"]
    losses = []
    for epoch in range(start, epochs):
        for xb, yb in loader:
            hidden = F.dropout(F.relu(F.linear(xb, params["w1"], params["b1"])), p=0.3)
            loss = F.cross_entropy(F.linear(hidden, params["w2"], params["b2"]), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
        if save_after == epoch + 1:
            state = {
                "model": {k: p.detach() for k, p in params.items()},
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "loader": loader.state_dict(),
                "epoch": epoch + 1,
            }
            save(state, path)
    return losses


def test_resumed_training_reproduces_the_uninterrupted_losses_exactly(tmp_path):
    path = tmp_path / "ckpt.pt"
    uninterrupted = _train(path, epochs=5)
    first = _train(path, epochs=3, save_after=3)  # the run "crashes" after epoch 3's checkpoint
    resumed = _train(path, epochs=5, resume=True)
    assert len(first) == 9 and len(resumed) == 6
    # Bit-identical on purpose: resuming must replay the same arithmetic, not an approximation.
    np.testing.assert_array_equal(first + resumed, uninterrupted)


def test_module_state_dict_and_parameters_round_trip(tmp_path):
    from glassgrad import nn

    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2, dtype=gg.float64))
    save(model.state_dict(), tmp_path / "model.pt")
    state = load(tmp_path / "model.pt")
    assert isinstance(state, OrderedDict) and list(state) == list(model.state_dict())
    assert (
        state["2.weight"].dtype == np.float64 and state["1.num_batches_tracked"].dtype == np.int64
    )
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2, dtype=gg.float64))
    fresh.load_state_dict(state)
    for (name, got), want in zip(fresh.state_dict().items(), model.state_dict().values()):
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=name)
    save(
        {"p": nn.Parameter(gg.ones(2)), "frozen": nn.Parameter(gg.ones(1), requires_grad=False)},
        tmp_path / "p",
    )
    got = load(tmp_path / "p")
    assert isinstance(got["p"], nn.Parameter) and got["p"].requires_grad
    assert isinstance(got["frozen"], nn.Parameter) and not got["frozen"].requires_grad


@pytest.mark.parametrize(
    "where",
    [None, "cpu", gg.device("cpu"), {"cuda:0": "cpu"}, lambda storage, location: storage],
)
def test_load_takes_every_map_location_that_means_the_cpu(tmp_path, where) -> None:
    """``torch.load(path, map_location=lambda storage, loc: storage)``: the old way of loading a
    GPU checkpoint on the CPU, in many scripts."""
    path = tmp_path / "ckpt.pt"
    gg.save({"w": gg.ones(2)}, path)
    assert gg.load(path, map_location=where)["w"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("where", ["cuda:0", {"cuda:0": "cuda:1"}])
def test_load_refuses_a_gpu_map_location(tmp_path, where) -> None:
    path = tmp_path / "ckpt.pt"
    gg.save({"w": gg.ones(2)}, path)
    with pytest.raises(ValueError, match="CPU only"):
        gg.load(path, map_location=where)


def test_load_takes_torchs_keywords_mmap_and_pickle_module(tmp_path) -> None:
    """``torch.load(path, mmap=True, weights_only=True)`` (the state-dict loading tips recipe)
    and ``pickle_module=pickle`` (older scripts): the same values; mmap needs a path, as in
    PyTorch."""
    import io
    import pickle

    path = tmp_path / "ckpt.pt"
    gg.save({"w": gg.arange(3.0)}, path)
    assert gg.load(path, mmap=True, weights_only=True)["w"].tolist() == [0.0, 1.0, 2.0]
    assert gg.load(str(path), "cpu", pickle, mmap=False)["w"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="f must be a file path in order to use the mmap"):
        gg.load(io.BytesIO(path.read_bytes()), mmap=True)
    with pytest.raises(TypeError):
        gg.load(path, None, None, True)  # weights_only is keyword-only, as in PyTorch
