"""torch.testing, torch.random, torch.jit, torch.hub and torch.nn.modules.utils, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.modules.utils as torch_utils

import glassgrad as gg
import glassgrad.nn.modules.utils as gg_utils

CLOSE_CASES = [
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0 + 1e-6], "float32", {}),
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.1], "float32", {}),
    ([1.0, 2.0], [1.0, 2.0 + 1e-8], "float64", {}),
    ([1.0, 2.0], [1.0, 2.0 + 1e-6], "float64", {}),
    ([1.0, float("nan")], [1.0, float("nan")], "float64", {}),
    ([1.0, float("nan")], [1.0, float("nan")], "float64", {"equal_nan": True}),
    ([1.0, float("inf")], [1.0, float("inf")], "float32", {}),
    ([1.0, 2.0], [1.1, 2.0], "float32", {"rtol": 0.2, "atol": 0.0}),
    ([[1, 2], [3, 4]], [[1, 2], [3, 5]], "int64", {}),
    (5.0, 5.0 + 1e-3, "float32", {}),
    (5, 6, "int64", {}),
    ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 5.0]], "float32", {"rtol": 0, "atol": 0}),
]


@pytest.mark.parametrize("a,e,dtype,kw", CLOSE_CASES)
def test_assert_close_agrees_with_torch(a, e, dtype, kw) -> None:
    def outcome(lib):
        try:
            dt = getattr(lib, dtype)
            lib.testing.assert_close(lib.tensor(a, dtype=dt), lib.tensor(e, dtype=dt), **kw)
        except AssertionError as err:
            return str(err).splitlines()
        return None

    theirs, ours = outcome(torch), outcome(gg)
    assert (ours is None) == (theirs is None), (ours, theirs)
    assert ours == theirs  # the same message, line for line


def test_assert_close_checks_shape_dtype_and_nesting() -> None:
    with pytest.raises(AssertionError, match="dtype"):
        gg.testing.assert_close(gg.ones(2), gg.ones(2, dtype=gg.float64))
    gg.testing.assert_close(gg.ones(2), gg.ones(2, dtype=gg.float64), check_dtype=False)
    with pytest.raises(AssertionError, match="shape"):
        gg.testing.assert_close(gg.ones(2), gg.ones(3))
    gg.testing.assert_close({"a": [gg.ones(2), 1.0]}, {"a": [gg.ones(2), 1.0]})
    with pytest.raises(AssertionError):
        gg.testing.assert_close({"a": [gg.ones(2), 1.0]}, {"a": [gg.ones(2), 2.0]})
    with pytest.raises(ValueError, match="rtol"):
        gg.testing.assert_close(gg.ones(2), gg.ones(2), rtol=1e-3)
    with pytest.raises(AssertionError, match="custom"):
        gg.testing.assert_close(gg.ones(2), gg.zeros(2), msg="custom")


def test_make_tensor_shape_dtype_and_range() -> None:
    t = gg.testing.make_tensor(3, 4, dtype=gg.float64, low=-2, high=2, requires_grad=True)
    assert t.shape == (3, 4) and t.dtype == gg.float64 and t.requires_grad
    assert (t.detach() >= -2).all() and (t.detach() < 2).all()
    i = gg.testing.make_tensor((50,), dtype=gg.int64, low=0, high=5, exclude_zero=True)
    assert i.dtype == gg.int64 and set(i.tolist()) <= {1, 2, 3, 4}


def test_fork_rng_leaves_the_generator_where_it_was() -> None:
    for lib in (torch, gg):
        lib.manual_seed(0)
        with lib.random.fork_rng():
            lib.rand(5)
        after_fork = lib.rand(3)
        lib.manual_seed(0)
        plain = lib.rand(3)
        assert lib.equal(after_fork, plain)
    assert gg.random.initial_seed() == 0


def test_jit_script_and_trace_run_eagerly_with_the_same_numbers(tmp_path) -> None:
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh()).double()
    gm = gg.nn.Sequential(gg.nn.Linear(3, 4), gg.nn.Tanh()).double()
    gm.load_state_dict({k: gg.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3))
    scripted = gg.jit.script(gm)
    traced = gg.jit.trace(gm, gg.tensor(x))
    want = torch.jit.script(tm)(torch.tensor(x)).detach().numpy()
    for m in (scripted, traced):
        np.testing.assert_allclose(m(gg.tensor(x)).detach().numpy(), want, rtol=1e-12)
    path = tmp_path / "m.pt"
    gg.jit.save(scripted, path)
    loaded = gg.jit.load(path)
    np.testing.assert_allclose(loaded(gg.tensor(x)).detach().numpy(), want, rtol=1e-12)


def test_jit_decorators_and_queries() -> None:
    @gg.jit.script
    def f(x):
        return x * 2

    @gg.jit.ignore
    def g(x):
        return x + 1

    @gg.jit.ignore(drop=True)
    def h(x):
        return x - 1

    x = gg.ones(2)
    assert f(x).tolist() == [2.0, 2.0] and g(x).tolist() == [2.0, 2.0] and h(x).tolist() == [0, 0]
    assert gg.jit.is_scripting() is torch.jit.is_scripting() is False
    assert gg.jit.wait(gg.jit.fork(f, x)).tolist() == [2.0, 2.0]
    assert gg.jit.annotate(list, [1]) == [1]


@pytest.mark.parametrize("name", ["_single", "_pair", "_triple", "_quadruple"])
@pytest.mark.parametrize("value", [3, (1, 2), [4, 5, 6]])
def test_nn_modules_utils_tuples(name, value) -> None:
    assert getattr(gg_utils, name)(value) == getattr(torch_utils, name)(value)
    assert gg_utils._reverse_repeat_tuple((1, 2), 2) == torch_utils._reverse_repeat_tuple((1, 2), 2)


def test_submodules_torch_loads_are_reachable_after_import_alone() -> None:
    import subprocess
    import sys

    code = (
        "import glassgrad as torch\n"
        "print(torch.profiler.profile.__name__, torch.compiler.reset.__name__,"
        " torch.cpu.is_available(), torch.mps.is_available(), torch.xpu.device_count(),"
        " torch.mtia.is_available())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["profile", "reset", "True", "False", "0", "False"]


@pytest.mark.parametrize("name", ["cpu", "xpu", "mps", "mtia"])
def test_device_modules_answer_as_pytorchs_on_this_machine(name) -> None:
    ours, theirs = getattr(gg, name), getattr(torch, name)
    for fn in ("is_available", "device_count"):
        assert getattr(ours, fn)() == getattr(theirs, fn)(), fn
    assert ours.synchronize() is None  # (PyTorch raises for an absent device: harmless here)
    missing = [n for n in ours.__all__ if n != "amp" and not hasattr(theirs, n)]
    assert missing == []  # (nothing of our own under PyTorch's module names)
    if name == "cpu":
        assert ours.current_device() == theirs.current_device() == "cpu"
        with ours.stream(ours.current_stream()):
            ours.set_device("cpu")


def test_cpu_amp_autocast_is_autocast_on_the_cpu_and_warns_at_the_callers_line() -> None:
    from glassgrad.amp import autocast_mode

    autocast_mode._WARNED.clear()  # (it warns once per dtype)
    with pytest.warns(UserWarning, match="no lower-precision casting") as caught:
        ctx = gg.cpu.amp.autocast()
    assert caught[0].filename == __file__
    assert isinstance(ctx, gg.amp.autocast) and ctx.device == "cpu"
    with ctx:
        y = gg.ones(2, 2) @ gg.ones(2, 2)
    assert y.dtype == gg.float32 and y.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert gg.cpu.amp.GradScaler().is_enabled() is torch.amp.GradScaler("cpu").is_enabled()


def test_hub_load_state_dict_from_url_downloads_once_and_reads_pytorch_weights(
    tmp_path, monkeypatch
) -> None:
    """``model.load_state_dict(torch.hub.load_state_dict_from_url(url))``, the pretrained-weights
    line of many training scripts: a PyTorch state dict fetched into the hub cache, then reused."""
    import hashlib

    torch.manual_seed(0)
    theirs = torch.nn.Linear(3, 2)
    source = tmp_path / "weights.pth"
    torch.save(theirs.state_dict(), source)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    named = tmp_path / f"linear-{digest[:8]}.pth"
    named.write_bytes(source.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    assert gg.hub.get_dir() == str(tmp_path / "home" / "hub") == torch.hub.get_dir()
    ours = gg.nn.Linear(3, 2)
    state = gg.hub.load_state_dict_from_url(named.as_uri(), check_hash=True, progress=False)
    ours.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ours(gg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6
    )
    cached = tmp_path / "home" / "hub" / "checkpoints" / named.name
    assert cached.exists()
    named.unlink()  # the second call reads the cache
    assert list(gg.hub.load_state_dict_from_url(named.as_uri())) == ["weight", "bias"]
    bad = tmp_path / "linear-0000.pth"
    bad.write_bytes(source.read_bytes())
    with pytest.raises(RuntimeError, match='invalid hash value \\(expected "0000"'):
        gg.hub.load_state_dict_from_url(
            bad.as_uri(), model_dir=str(tmp_path / "m"), check_hash=True
        )
    assert not (tmp_path / "m" / bad.name).exists()  # no half-checked file left behind
    gg.hub.set_dir(tmp_path / "elsewhere")
    try:
        assert gg.hub.get_dir() == str(tmp_path / "elsewhere")
    finally:
        gg.hub._hub_dir = None
    with pytest.raises(
        RuntimeError, match=r"hub\.load: glassgrad does not run a repository's hubconf"
    ):
        gg.hub.load("pytorch/vision", "resnet18")
