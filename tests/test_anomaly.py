"""Anomaly mode: the first NaN/Inf gradient raises, naming the op and the line that created it."""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad.autograd.anomaly import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from glassgrad.autograd.state import state

HERE = os.path.basename(__file__)


# NumPy warns about the 0/0 and 1/0 these tests provoke on purpose; pytest turns such warnings
# from glassgrad modules into errors, so silence them where the anomaly is the point.
def quiet() -> np.errstate:
    return np.errstate(divide="ignore", invalid="ignore")


@pytest.fixture(autouse=True)
def _no_anomaly_warning():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Anomaly Detection has been enabled")
        warnings.filterwarnings("ignore", "Error detected in", module="torch")
        yield


def _line() -> int:
    """The caller's line number."""
    return inspect.currentframe().f_back.f_lineno


def test_sqrt_at_zero_names_the_op_and_the_source_line():
    x = gg.tensor([0.0, 4.0], dtype=gg.float64, requires_grad=True)
    with detect_anomaly(), quiet():
        y, line = gg.sqrt(x), _line()
        z = (y * 0).sum()
        with pytest.raises(RuntimeError, match="SqrtBackward0") as info:
            z.backward()
    msg = str(info.value)
    assert "nan" in msg
    assert f"{HERE}:{line}" in msg
    assert "gg.sqrt(x)" in msg  # the source text of that line


def test_torch_names_the_same_op():
    x = torch.tensor([0.0, 4.0], dtype=torch.float64, requires_grad=True)
    with torch.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="SqrtBackward0"):
        (torch.sqrt(x) * 0).sum().backward()


def test_log_at_zero_gives_inf_in_log_backward():
    x = gg.tensor([0.0, 1.0], dtype=gg.float64, requires_grad=True)
    with detect_anomaly(), quiet():
        y, line = gg.log(x), _line()
        with pytest.raises(RuntimeError, match="LogBackward0") as info:
            y.sum().backward()
    assert "inf" in str(info.value)
    assert f"{HERE}:{line}" in str(info.value)


def test_first_bad_gradient_wins():
    # sqrt's NaN flows on into the Mul before it; the error must name sqrt, not that Mul.
    x = gg.tensor(0.0, dtype=gg.float64, requires_grad=True)
    with detect_anomaly(), quiet():
        a = x * 2
        b = gg.sqrt(a)
        c = gg.exp(b * 0)
        with pytest.raises(RuntimeError, match="SqrtBackward0"):
            c.backward()


def test_off_records_nothing_and_lets_nan_through():
    x = gg.tensor(0.0, dtype=gg.float64, requires_grad=True)
    y = gg.sqrt(x)
    assert getattr(y.grad_fn, "_trace", None) is None  # unset or None
    assert not is_anomaly_enabled()
    with quiet():
        (y * 0).backward()
    assert np.isnan(x.grad.item())


def test_on_records_the_creation_site():
    x = gg.tensor(1.0, requires_grad=True)
    with detect_anomaly():
        y, line = x * 3, _line()
    site = y.grad_fn._trace
    assert os.path.basename(site.filename) == HERE
    assert site.lineno == line


def test_state_is_restored_and_nests():
    assert state.anomaly is False
    with detect_anomaly():
        assert is_anomaly_enabled() and state.anomaly
        with set_detect_anomaly(False):
            assert not is_anomaly_enabled()
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()


def test_restored_after_an_error():
    with pytest.raises(ValueError), detect_anomaly():
        raise ValueError("boom")
    assert not is_anomaly_enabled()


def test_set_detect_anomaly_acts_immediately():
    set_detect_anomaly(True)
    assert is_anomaly_enabled() and is_anomaly_check_nan_enabled()
    set_detect_anomaly(False)
    assert not is_anomaly_enabled()


def test_detect_anomaly_as_decorator():
    @detect_anomaly()
    def step(x):
        assert is_anomaly_enabled()
        return (gg.sqrt(x) * 0).sum().backward()

    x = gg.tensor([0.0], dtype=gg.float64, requires_grad=True)
    with quiet(), pytest.raises(RuntimeError, match="SqrtBackward0"):
        step(x)
    assert not is_anomaly_enabled()


def test_warns_like_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        detect_anomaly()
    assert any("Anomaly Detection has been enabled" in str(w.message) for w in caught)


def test_finite_gradients_pass_and_match_torch():
    a = np.array([0.5, 1.5, 2.0])
    x = gg.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    with detect_anomaly():
        (gg.sqrt(x) * gg.log(x)).sum().backward()
    (torch.sqrt(t) * torch.log(t)).sum().backward()
    np.testing.assert_allclose(x.grad._data, t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_create_graph_under_anomaly():
    x = gg.tensor(0.0, dtype=gg.float64, requires_grad=True)
    with detect_anomaly(), quiet():
        (g,) = gg.autograd.grad(gg.sqrt(x + 1.0) * 2, x, create_graph=True)
        assert abs(g.item() - 1.0) < 1e-12
        y = gg.sqrt(x)
        with pytest.raises(RuntimeError, match="SqrtBackward0"):
            gg.autograd.grad(y * 0, x, create_graph=True)


def test_check_nan_false_records_sites_but_does_not_raise():
    x = gg.tensor(0.0, dtype=gg.float64, requires_grad=True)
    with detect_anomaly(check_nan=False), quiet():
        assert not is_anomaly_check_nan_enabled()
        y = gg.sqrt(x)
        assert getattr(y.grad_fn, "_trace", None) is not None
        (y * 0).backward()
    assert np.isnan(x.grad.item())


def test_anomaly_on_for_backward_only_still_checks():
    x = gg.tensor(0.0, dtype=gg.float64, requires_grad=True)
    z = gg.sqrt(x) * 0
    with detect_anomaly(), quiet(), pytest.raises(RuntimeError, match="SqrtBackward0"):
        z.backward()
