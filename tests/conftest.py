"""Seal global state around every test: grad mode, default dtype, anomaly mode and the RNG."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import glassgrad as gg
from glassgrad.autograd.state import state

settings.register_profile(
    "default",
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("GLASSGRAD_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _sealed_state():
    prev = (state.grad_enabled, state.create_graph, state.anomaly, state.anomaly_check_nan)
    state.backward_observer = None
    dtype = gg.get_default_dtype()
    gg.manual_seed(0)
    np.random.seed(0)
    yield
    state.grad_enabled, state.create_graph, state.anomaly, state.anomaly_check_nan = prev
    gg.set_default_dtype(dtype)


@pytest.fixture(scope="module")
def every_buffer_reused():
    """``glassgrad.compile``'s replays compute every temporary they can into a reused buffer,
    whatever its size: the strictest test of buffer reuse (none may change a bit)."""
    import glassgrad.compiler.program as program

    saved, program.REUSE_BYTES = program.REUSE_BYTES, 0
    yield
    program.REUSE_BYTES = saved
