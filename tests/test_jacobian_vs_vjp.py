"""examples/jacobian_vs_vjp.py: both rules agree; the explicit Jacobian's cost grows faster."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import glassgrad as gg

PATH = Path(__file__).resolve().parent.parent / "examples" / "jacobian_vs_vjp.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("example_jacobian_vs_vjp", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_hand_built_jacobians_equal_func_jacobian_and_torch(example) -> None:
    import torch

    example.check_against_func_jacobian(width=8)
    x = np.random.default_rng(1).standard_normal(6)
    tj = torch.autograd.functional.jacobian(torch.relu, torch.tensor(x))
    np.testing.assert_array_equal(example.relu_jacobian(x), tj.numpy())
    w = torch.zeros(5, 6, dtype=torch.float64)
    tj = torch.autograd.functional.jacobian(lambda W: W @ torch.tensor(x), w)
    np.testing.assert_allclose(example.linear_weight_jacobian(x, 5), tj.numpy(), rtol=1e-15)


def test_explicit_chain_rule_equals_the_vjp(example) -> None:
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((3, 12)), rng.standard_normal((3, 12))
    xt = gg.tensor(x, requires_grad=True)
    gg.nn.functional.relu(xt).backward(gg.tensor(g))
    np.testing.assert_allclose(example.relu_explicit(x, g), xt.grad._data, rtol=1e-14)
    np.testing.assert_allclose(example.relu_vjp_setup(x, g)(), xt.grad._data, rtol=1e-14)
    w = rng.standard_normal((12, 12))
    np.testing.assert_allclose(
        example.linear_explicit(x, g), example.linear_vjp_setup(x, g, w)(), rtol=1e-12
    )
    np.testing.assert_allclose(example.linear_explicit(x, g), g.T @ x, rtol=1e-12)


def test_example_runs_and_both_ways_agree(example, tmp_path, capsys) -> None:
    # timings are the benchmark's business (bench/jacobian_vs_vjp.py), never asserted here
    plot = tmp_path / "slopes.png"
    res = example.main(
        ["--widths", "32,64,128", "--batch", "8", "--max-explicit-relu", "128",
         "--max-explicit-linear", "64", "--plot", str(plot)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "slope" in out and plot.read_bytes()[:4] == b"\x89PNG"
    for layer in ("relu", "linear"):
        assert res[layer]["max_abs_difference"] < 1e-10
        assert np.isfinite(res[layer]["explicit"]["slope"]) and np.isfinite(
            res[layer]["vjp"]["slope"]
        )
    assert res["linear"]["explicit"]["widths"] == [32, 64]  # the cap is respected


@pytest.mark.parametrize("d", [4, 16, 64])
def test_explicit_jacobians_grow_a_power_faster_than_the_vjp(example, d) -> None:
    # the reason VJPs win: the explicit chain rule materialises D² (relu) or D³ (linear, dW)
    # numbers per example, where the vector-Jacobian product only ever holds D (or D²)
    x = np.random.default_rng(d).standard_normal(d)
    assert example.relu_jacobian(x).size == d * d
    assert example.linear_weight_jacobian(x, d).size == d**3
    g = np.ones(d)
    assert (g * (x > 0)).size == d and np.outer(g, x).size == d * d


def test_bad_widths_are_an_error(example) -> None:
    with pytest.raises(SystemExit):
        example.main(["--widths", "64,abc"])
