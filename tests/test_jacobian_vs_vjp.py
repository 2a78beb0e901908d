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
    np.testing.assert_allclose(example.relu_explicit(x, g), xt.grad.data, rtol=1e-14)
    np.testing.assert_allclose(example.relu_vjp_setup(x, g)(), xt.grad.data, rtol=1e-14)
    w = rng.standard_normal((12, 12))
    np.testing.assert_allclose(
        example.linear_explicit(x, g), example.linear_vjp_setup(x, g, w)(), rtol=1e-12
    )
    np.testing.assert_allclose(example.linear_explicit(x, g), g.T @ x, rtol=1e-12)


def test_slopes_are_ordered_at_small_sizes(example, tmp_path, capsys) -> None:
    plot = tmp_path / "slopes.png"
    res = example.main(
        ["--widths", "32,64,128,256,512", "--batch", "32", "--max-explicit-relu", "512",
         "--max-explicit-linear", "64", "--plot", str(plot)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "slope" in out and plot.read_bytes()[:4] == b"\x89PNG"
    for layer in ("relu", "linear"):
        r = res[layer]
        assert r["max_abs_difference"] < 1e-10
        assert r["explicit"]["slope"] > r["vjp"]["slope"] + 0.5, (layer, r)
    assert res["linear"]["explicit"]["widths"] == [32, 64]  # the cap is respected
    assert res["relu"]["explicit"]["slope"] > 1.0  # a D×D matrix per example: superlinear


def test_bad_widths_are_an_error(example) -> None:
    with pytest.raises(SystemExit):
        example.main(["--widths", "64,abc"])
