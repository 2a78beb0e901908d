"""glassgrad.manual: hand-written layers agree with autograd; compare() finds a wrong rule."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import manual, nn

RNG = np.random.default_rng(0)


def network(kind: str = "relu") -> list[manual.Step]:
    rng = np.random.default_rng(1)
    return [
        manual.Step("fc1", "linear", {"weight": rng.standard_normal((6, 4)), "bias": np.zeros(6)}),
        manual.Step("h1", kind),
        manual.Step("fc2", "linear", {"weight": rng.standard_normal((3, 6)), "bias": np.zeros(3)}),
        manual.Step("loss", "softmax_cross_entropy"),
    ]


def batch() -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(2).standard_normal((5, 4))
    x[2] = 0.0  # with zero biases, fc1's output is exactly 0 there: relu's kink
    return x, np.array([0, 2, 1, 2, 0])


@pytest.mark.parametrize("kind", ["relu", "sigmoid", "tanh"])
def test_the_hand_written_network_agrees_with_autograd_everywhere(kind) -> None:
    result = manual.compare(network(kind), *batch())
    assert result.ok, str(result)
    assert all(c["ok"] for c in result.checks)
    # 4 forwards, then loss; fc2 weight, bias, input; h1 input; fc1 weight, bias, input
    assert len(result.checks) == 4 + 8
    assert "every value agrees" in str(result)


def test_each_rule_matches_torch() -> None:
    x = RNG.standard_normal((3, 4))
    tx = torch.tensor(x, requires_grad=True)
    g = RNG.standard_normal((3, 4))
    for fwd, bwd, tfn in [
        (manual.relu_forward, manual.relu_backward, torch.relu),
        (manual.sigmoid_forward, manual.sigmoid_backward, torch.sigmoid),
        (manual.tanh_forward, manual.tanh_backward, torch.tanh),
    ]:
        out, cache = fwd(x)
        (tg,) = torch.autograd.grad(tfn(tx), tx, torch.tensor(g))
        np.testing.assert_allclose(out, tfn(tx).detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(bwd(g, cache), tg.numpy(), rtol=1e-12, atol=1e-15)
    target = np.array([1, 0, 3])
    loss, cache = manual.softmax_cross_entropy_forward(x, target)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(target))
    (tg,) = torch.autograd.grad(tloss, tx)
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(manual.softmax_cross_entropy_backward(1.0, cache), tg.numpy(),
                               rtol=1e-10, atol=1e-15)  # fmt: skip
    t = RNG.standard_normal((3, 4))
    loss, cache = manual.mse_forward(x, t)
    tloss = torch.nn.functional.mse_loss(tx, torch.tensor(t))
    (tg,) = torch.autograd.grad(tloss, tx)
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(manual.mse_backward(1.0, cache), tg.numpy(), rtol=1e-12)


def test_relu_backward_with_ge_is_caught_at_the_relu() -> None:
    def relu_backward_ge(dout, cache):
        return dout * (cache >= 0)  # wrong at exactly 0: PyTorch's derivative there is 0

    result = manual.compare(network("relu"), *batch(), backward={"h1": relu_backward_ge})
    m = result.first_mismatch
    assert not result.ok and (m.step, m.kind, m.what) == ("h1", "relu", "input")
    assert m.worst_index[0] == 2  # the example whose pre-activations are exactly 0
    assert m.expected[m.worst_index] == 0 and m.got[m.worst_index] != 0
    # every gradient before it in backward order agreed
    first_bad = next(i for i, c in enumerate(result.checks) if not c["ok"])
    assert result.checks[first_bad]["step"] == "h1"
    assert "step 'h1' (relu)" in str(result)


def test_sigmoid_backward_missing_one_minus_h_is_caught_at_the_sigmoid() -> None:
    steps = network("sigmoid")
    steps[1].backward = lambda dout, h: dout * h  # forgot (1 - h)
    m = manual.compare(steps, *batch()).first_mismatch
    assert (m.step, m.what) == ("h1", "input")
    assert m.max_abs_error > 1e-3 and m.max_rel_error > 1e-3


def test_a_wrong_weight_gradient_is_named_as_such() -> None:
    def linear_backward_no_transpose(dout, cache):
        grads = manual.linear_backward(dout, cache)
        grads["weight"] = grads["weight"] * 2.0
        return grads

    result = manual.compare(network(), *batch(), backward={"fc2": linear_backward_no_transpose})
    m = result.first_mismatch
    assert (m.step, m.what) == ("fc2", "weight")
    data = json.loads(result.to_json())
    assert data["ok"] is False and data["first_mismatch"]["step"] == "fc2"


def test_a_wrong_forward_is_reported_before_any_gradient() -> None:
    result = manual.compare(network("tanh"), *batch(), forward={"h1": lambda x: (x, x)})
    assert (result.first_mismatch.step, result.first_mismatch.what) == ("h1", "forward")


def test_compare_takes_a_sequential_and_mse() -> None:
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    x, y = batch()
    assert manual.compare(model, x, y % 2).ok
    steps = manual.from_sequential(model, loss="mse")
    assert [s.name for s in steps] == ["0", "1", "2", "loss"]
    assert manual.compare(steps, x, RNG.standard_normal((5, 2))).ok


def test_bad_descriptions_name_the_culprit() -> None:
    with pytest.raises(ValueError, match="unknown kind 'softplus'"):
        manual.Step("s", "softplus")
    with pytest.raises(ValueError, match="unknown parameter"):
        manual.Step("r", "relu", {"weight": np.eye(2)})
    with pytest.raises(ValueError, match="last step must be a loss"):
        manual.compare(network()[:-1], *batch())
    with pytest.raises(ValueError, match=r"unknown step\(s\) \['h9'\]"):
        manual.compare(network(), *batch(), backward={"h9": manual.relu_backward})
    with pytest.raises(TypeError, match="Dropout"):
        manual.from_sequential(nn.Sequential(nn.Linear(2, 2), nn.Dropout()))
    with pytest.raises(ValueError, match="must return a dict"):
        manual.compare(network(), *batch(), backward={"fc1": lambda d, c: d})
