"""Every bad input gets a clear error in the user's terms (issue 10): the reported examples,
the converter, hook results, the ``explain`` command line and damaged checkpoints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import _convert, _errors, serialization
from glassgrad.serialization import load, save
from tests.test_bad_input_fuzz import check_error

ROOT = Path(__file__).resolve().parents[1]


# ---- the reported examples -------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, name, kind, words",
    [
        (lambda: F.mse_loss(gg.ones(3), gg.ones(4)), "mse_loss", RuntimeError, "(3,)"),
        (
            lambda: gg.matmul(gg.ones(2, 2, 3), gg.ones(3, 3, 4)),
            "matmul",
            RuntimeError,
            "(2, 2, 3)",
        ),
        (
            lambda: gg.tensor([True]) - gg.tensor([False]),
            "sub",
            RuntimeError,
            "Subtraction, the `-` operator, with two bool tensors is not supported",
        ),
        (lambda: -gg.tensor([True]), "neg", RuntimeError, "Negation"),
        (lambda: gg.ones(2) * [1, "x"], "mul", TypeError, "data[1] is the string 'x'"),
        (lambda: gg.exp("abc"), "exp", TypeError, "the string 'abc'"),
        (lambda: gg.reshape(gg.ones(6), (2.0, 3)), "reshape", TypeError, "integers"),
        (lambda: gg.ones(6).reshape(2.0, 3), "reshape", TypeError, "the float 2.0"),
    ],
)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_reported_examples(call, name, kind, words) -> None:
    with pytest.raises(kind) as info:
        call()
    check_error(info.value, (name,), name)
    assert words in str(info.value)


@pytest.mark.parametrize(
    "data, kind, words",
    [
        ("abc", TypeError, "the string 'abc'"),
        ([[1, 2], [3]], ValueError, "expected a sequence of length 2 at dim 1"),
        ([1, None], TypeError, "data[1] is None"),
        ([1, "x"], TypeError, "data[1] is the string 'x'"),
        ([[1.0], [2.0, [3.0]]], ValueError, "length"),
        (2**70, ValueError, "does not fit in int64"),
        ({"a": 1}, TypeError, "a dict"),
        (np.array(["a", "b"]), TypeError, "str"),
    ],
)
def test_the_converter_says_what_and_where(data, kind, words) -> None:
    with pytest.raises(kind) as info:
        _convert.as_array(data)
    check_error(info.value, ("tensor()",), "tensor()")
    assert words in str(info.value)


def test_the_converter_refuses_deep_nesting_without_recursion() -> None:
    deep: list = [1.0]
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValueError, match="nested more than 64 deep"):
        _convert.as_array(deep)


def test_the_converter_keeps_pytorchs_dtypes() -> None:
    assert _convert.as_array([1.5, 2]).dtype == np.float32
    assert _convert.as_array([1, 2]).dtype == np.int64
    assert _convert.as_array([True]).dtype == np.bool_
    assert _convert.as_array(np.ones(2)).dtype == np.float64
    assert _convert.as_array([1], dtype=gg.float64).dtype == np.float64
    assert _convert.as_array([1, 2j]).dtype == np.complex64  # torch.tensor([1, 2j]): complex64
    assert _convert.as_array(np.array([2j])).dtype == np.complex128


def test_tensor_uses_the_validating_converter() -> None:
    with pytest.raises(ValueError, match="expected a sequence of length 2 at dim 1"):
        gg.tensor([[1, 2], [3]])


# ---- hooks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("result", ["a string", [1.0, 2.0], 3])
def test_a_hook_returning_a_non_tensor_is_named(result) -> None:
    def bad_hook(g):
        return result

    with pytest.raises(TypeError, match=r"hook '.*bad_hook' on a leaf tensor returned") as info:
        _errors.check_hook_result(bad_hook, result, "a leaf tensor", (2,))
    assert "must return None or a tensor of shape (2,)" in str(info.value)


def test_a_hook_result_of_another_shape_is_refused() -> None:
    with pytest.raises(RuntimeError, match=r"returned a gradient of shape \(3,\), expected"):
        _errors.check_hook_result(lambda g: g, gg.ones(3), "MulBackward0", (2,))
    _errors.check_hook_result(lambda g: g, gg.ones(2), "MulBackward0", (2,))  # fine
    _errors.check_hook_result(lambda g: None, None, "MulBackward0", (2,))


# ---- layers ----------------------------------------------------------------------------------


def test_layers_name_themselves_and_keep_pytorchs_assertion_errors() -> None:
    with pytest.raises(RuntimeError, match=r"^Linear: linear: input of shape"):
        gg.nn.Linear(3, 2)(gg.ones(4))
    with pytest.raises(AssertionError, match="embed_dim must be divisible") as info:
        gg.nn.MultiheadAttention(3, 2)
    assert isinstance(info.value, ValueError)


# ---- explain, through the command line ----------------------------------------------------------


def _explain(*argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "glassgrad", "explain", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(
    "argv, words",
    [
        (["+".join(["x"] * 50_000), "--at", "x=1"], "characters long"),
        (["0" + "-x" * 4000, "--at", "x=1"], "nested too deeply"),
        (["(" * 2000 + "x" + ")" * 2000, "--at", "x=1"], "too many nested parentheses"),
        (["x * 1" + "0" * 5000, "--at", "x=1"], "a number literal is too long"),
        (["x", "--at", "x=" + "[" * 5000 + "1" + "]" * 5000], "nested at most"),
        (["x", "--at", "x=[[1, 2], [3]]"], "ragged"),
        (["x", "--at", "x=1" + "0" * 5000], "must be a number"),
        (["x +"], "cannot parse"),
    ],
    ids=[
        "long-sum",
        "deep-minus",
        "parens",
        "huge-int",
        "deep-list",
        "ragged",
        "huge-at",
        "syntax",
    ],
)
def test_explain_answers_or_says_why_in_one_line(argv, words) -> None:
    r = _explain(*argv)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassgrad explain: error:"), r.stderr[-500:]
    assert len(lines[0]) < 400 and words in lines[0]


def test_explain_still_explains_a_long_but_reasonable_sum() -> None:
    r = _explain("+".join(["x"] * 90), "--at", "x=2")
    assert r.returncode == 0 and "x.grad = 90" in r.stdout, r.stderr


# ---- load and save ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, words",
    [
        (b"hello, this is a text file\n", "not a glassgrad checkpoint: it is not a ZIP archive"),
        (bytes(range(7, 200)), "not a glassgrad checkpoint: it is not a ZIP archive"),
        (b"PK\x03\x04 truncated", "not a glassgrad checkpoint: cannot read it as a ZIP archive"),
        (b"", "the file is empty"),
    ],
    ids=["text", "random", "truncated-zip", "empty"],
)
def test_load_says_the_right_reason(tmp_path, content, words) -> None:
    path = tmp_path / "f.ckpt"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        load(path)
    assert words in str(info.value) and "pickled" not in str(info.value)
    with open(path, "rb") as f, pytest.raises(ValueError, match="not a glassgrad checkpoint"):
        load(f)


def _header_file(path: Path, text: str) -> None:
    with open(path, "wb") as f:
        np.savez(f, __glassgrad__=np.frombuffer(text.encode(), dtype=np.uint8))


def test_deeply_nested_headers_are_refused_clearly(tmp_path) -> None:
    path = tmp_path / "deep.ckpt"
    _header_file(path, '{"format": "glassgrad", "version": 1, "root": ' + "[" * 100_000)
    with pytest.raises(ValueError, match="corrupt glassgrad checkpoint") as info:
        load(path)
    assert "recursion" not in str(info.value)
    node = '{"t": "none"}'
    for _ in range(5000):
        node = '{"t": "list", "items": [' + node + "]}"
    _header_file(path, '{"format": "glassgrad", "version": 1, "root": ' + node + "}")
    with pytest.raises(ValueError, match="corrupt glassgrad checkpoint") as info:
        load(path)
    assert "recursion" not in str(info.value)


def test_save_of_a_5000_deep_list_is_refused_clearly(tmp_path) -> None:
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValueError, match="nests containers more than 100 deep") as info:
        save(deep, tmp_path / "x")
    assert len(str(info.value)) < 300 and os.listdir(tmp_path) == []
    shallow: list = []
    for _ in range(50):
        shallow = [shallow]
    save(shallow, tmp_path / "x")
    assert load(tmp_path / "x") == shallow


def test_huge_ints_round_trip(tmp_path) -> None:
    big = {"n": 7**20_000, "m": -(3**9000), "small": 12}
    save(big, tmp_path / "x")
    assert load(tmp_path / "x") == big


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_next_save_removes_temporaries_of_dead_saves(tmp_path) -> None:
    path = tmp_path / "ckpt.pt"
    stale = tmp_path / f".ckpt.pt.{_dead_pid()}.0a1b2c3d4e5f.tmp"
    live = tmp_path / f".ckpt.pt.{os.getppid()}.0a1b2c3d4e5f.tmp"  # a running process
    other = tmp_path / f".other.pt.{_dead_pid()}.0a1b2c3d4e5f.tmp"  # another checkpoint's
    for p in (stale, live, other):
        p.write_bytes(b"PK\x03\x04 half written")
    save({"step": 1}, path)
    assert not stale.exists()
    assert live.exists() and other.exists()
    assert load(path) == {"step": 1}
    assert "removes such leftovers" in (serialization.save.__doc__ or "")


def test_factory_helpers_for_creation() -> None:
    assert _convert.as_shape("zeros", (2, 3)) == (2, 3) == _convert.as_shape("zeros", ((2, 3),))
    with pytest.raises(TypeError, match=r"zeros: sizes must be ints, got the float 2.0"):
        _convert.as_shape("zeros", (2.0, 3))
    with pytest.raises(ValueError, match="zeros: sizes must be non-negative, got -1"):
        _convert.as_shape("zeros", (-1,))
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        _convert.check_arange(0, 10, 0)
    with pytest.raises(ValueError, match="inconsistent with step sign"):
        _convert.check_arange(0, 10, -1)
    with pytest.raises(TypeError, match="arange: end must be a number"):
        _convert.check_arange(0, "10", 1)
    _convert.check_arange(0, 10, 2)


def test_switched_off_profiler_contexts_record_nothing_and_nvtx_is_refused():
    import glassgrad.profiler as profiler

    with pytest.raises(NotImplementedError, match="NVTX/ITT"):
        profiler.emit_itt  # noqa: B018
    with profiler.record_function("block"):
        y = gg.ones(2) * 3

    @gg.autograd.profiler.record_function("step")
    def step(x):
        return x + 1

    assert step(y).tolist() == [4.0, 4.0]
    # "turn the debugging tools off" (a tuning-guide habit): switched-off contexts
    with gg.autograd.profiler.profile(False), gg.autograd.profiler.emit_nvtx(enabled=False):
        pass
    with pytest.raises(NotImplementedError, match="emit_nvtx: glassgrad has no NVTX"):
        gg.autograd.profiler.emit_nvtx()
