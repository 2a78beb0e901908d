"""The worked examples of the seed notes, with the notes' own numbers."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from glassgrad.__main__ import WORKED_EXAMPLES
from glassgrad.__main__ import main as cli_main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_chain_rule_example_has_the_notes_numbers() -> None:
    r = load("chain_rule").main()
    assert (r["q"], r["f"]) == (3.0, -12.0)
    assert (r["dx"], r["dy"], r["dz"]) == (-4.0, -4.0, 3.0)
    assert r["dq"] == -4.0
    assert r["xy"] == (-12.0, -3.0, 4.0)
    assert r["max"] == (4.0, 1.0, 0.0)


@pytest.mark.parametrize("a,b,c,d", [(2.0, -3.0, 10.0, 4.0), (1.5, 0.5, -2.0, -0.25)])
def test_division_graph_gradients_are_b_over_d_etc(a, b, c, d) -> None:
    r = load("division_graph").main(a, b, c, d)
    assert r["f"] == pytest.approx((a * b + c) / d)
    assert r["da"] == pytest.approx(b / d)
    assert r["db"] == pytest.approx(a / d)
    assert r["dc"] == pytest.approx(1 / d)
    assert r["dd"] == pytest.approx(-(a * b + c) / d**2)


@pytest.mark.parametrize("a,b,x", [(3.0, 8.0, 2.0), (-1.0, 0.5, -0.7)])
def test_two_paths_accumulate_a_minus_b_over_x_squared(a, b, x) -> None:
    r = load("two_paths").main(a, b, x)
    assert r["dx"] == pytest.approx(a - b / x**2)


def test_gradient_descent_on_x_squared_ends_where_the_notes_say() -> None:
    assert load("gradient_descent").main() == 0.27012904489336725


def test_scalar_network_autograd_equals_the_hand_derived_chain_rule() -> None:
    r = load("scalar_network").main()
    for k, v in r["by_hand"].items():
        assert r["autograd"][k] == pytest.approx(v, rel=1e-12, abs=1e-12), k
    # both relus active at these numbers, so every parameter gets a nonzero gradient
    assert all(r["autograd"][k] != 0 for k in ("w1", "b1", "w2", "b2", "w3", "b3"))


def test_scalar_network_with_a_dead_relu_blocks_the_gradient() -> None:
    mod = load("scalar_network")
    p = {"w1": -1.0, "b1": 0.0, "w2": 1.0, "b2": 0.5, "w3": 1.0, "b3": 0.0}
    hand = mod.by_hand(p, x=2.0, y=0.0)  # a1 = -2 < 0: relu is flat there
    assert hand["w1"] == 0.0 and hand["b1"] == 0.0 and hand["w2"] == 0.0


def test_linear_model_matches_formulas_and_finite_differences() -> None:
    r = load("linear_model_gradcheck").main()
    assert r["formula_error"] < 1e-10
    assert r["numeric_error"] < 1e-7
    assert r["gradcheck"] is True


def test_saturated_sigmoid_vanishes() -> None:
    r = load("vanishing_sigmoid").main()
    small, large = r["small"], r["large"]
    assert large["preactivation_range"] > 400
    assert large["saturated_fraction"] == 1.0 and small["saturated_fraction"] == 0.0
    assert math.isclose(small["max_local_gradient"], 0.25, rel_tol=1e-3)
    assert large["grad_W_norm"] < 1e-4 * small["grad_W_norm"]
    assert large["grad_x_norm"] < 1e-2 * small["grad_x_norm"]


def test_demo_runs_every_worked_example(capsys) -> None:
    assert cli_main(["demo"]) == 0
    out = capsys.readouterr().out
    for name in WORKED_EXAMPLES:
        assert f"examples/{name}.py" in out
    assert "0.27012904489336725" in out


# ---- PyTorch programs written against glassgrad: the same text run on PyTorch ------------------


@contextlib.contextmanager
def glassgrad_is_torch():
    """While active, ``import glassgrad as torch`` (and ``glassgrad.nn``...) in a freshly loaded
    example gives PyTorch; ``glassgrad.data`` stays glassgrad's (NumPy data, no PyTorch twin)."""
    import torch

    import glassgrad.data  # noqa: F401 - stays loaded under its own name

    names = ["glassgrad", "glassgrad.nn", "glassgrad.nn.functional", "glassgrad.optim"]
    saved = {n: sys.modules[n] for n in names}
    sys.modules.update({n: importlib.import_module("torch" + n[len("glassgrad") :]) for n in names})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the 2-core test machine is shared: more threads only contend
    try:
        yield
    finally:
        sys.modules.update(saved)
        torch.set_num_threads(threads)


def run_on_both(name: str, argv: list[str]) -> tuple[dict, dict]:
    """The example on PyTorch, then on glassgrad from PyTorch's initial weights."""
    import torch

    import glassgrad as gg

    with glassgrad_is_torch():
        example = load(name)
        assert example.torch is torch and example.nn is torch.nn
        theirs = example.main(argv)
    example = load(name)
    assert example.torch is gg
    ours = example.main(argv, initial_state=theirs["initial_state"])
    return ours, theirs


@pytest.mark.parametrize("tied", [False, True])
def test_word_lstm_example_matches_torch(tied) -> None:
    argv = ["--steps", "12", "--words", "1200", "--bptt", "8", "--double", "--log-every", "100"]
    ours, theirs = run_on_both("word_lstm", argv + ["--tied"] * tied)
    assert len(ours["losses"]) == 12
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-9)
    assert ours["losses"][-1] < ours["losses"][0]  # it learns


def test_word_lstm_example_matches_torch_in_float32() -> None:
    ours, theirs = run_on_both("word_lstm", ["--steps", "6", "--words", "800", "--log-every", "9"])
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4)


def test_digits_dcgan_example_matches_torch() -> None:
    argv = ["--steps", "8", "--batch", "32", "--double", "--log-every", "100"]
    ours, theirs = run_on_both("digits_dcgan", argv)
    for key in ("loss_D", "loss_G", "D_x", "D_G_z"):
        assert len(ours[key]) == 8
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-8, err_msg=key)


def test_digits_dcgan_example_matches_torch_in_float32() -> None:
    ours, theirs = run_on_both("digits_dcgan", ["--steps", "4", "--batch", "16"])
    for key in ("loss_D", "loss_G"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-4, err_msg=key)


@pytest.mark.parametrize("name", ["word_lstm", "digits_dcgan"])
def test_pytorch_style_examples_run_as_scripts(name, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--steps", "2"])
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    assert "step    1" in capsys.readouterr().out
