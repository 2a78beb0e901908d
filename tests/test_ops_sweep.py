"""One sweep over the op registry: every op against PyTorch, numerically, at first and second order.

Each test draws arguments with hypothesis (shapes with broadcasting, 0-d, size-0 and size-1
dimensions), so adding an op means adding its OpInfo entry in tests/opinfo/ and nothing else.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import glassgrad as gg
from glassgrad.autograd.graph import topological_order
from tests.opinfo import ALL, OpInfo

torch.set_num_threads(1)


def _convert(lib, args, dtype, requires_grad=True):
    out = []
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            if lib is torch:
                t = torch.tensor(a, dtype=getattr(torch, np.dtype(dtype).name))
            else:
                t = gg.tensor(a, dtype=dtype)
            out.append(t.requires_grad_(requires_grad))
        elif isinstance(a, np.ndarray):
            out.append(torch.from_numpy(a.copy()) if lib is torch else gg.tensor(a))
        else:
            out.append(a)
    return out


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach()._data


def _float_inputs(args):
    return [t for t in args if hasattr(t, "requires_grad") and t.requires_grad]


# ops whose result is random (dropout) are compared with torch by their own statistical tests
@pytest.mark.parametrize("op", [o for o in ALL if o.check_torch], ids=lambda o: o.name)
@given(data=st.data())
def test_forward_and_backward_match_torch(op: OpInfo, data) -> None:
    args = op.sample(data.draw)
    ours = _convert(gg, args, np.float64)
    theirs = _convert(torch, args, np.float64)
    out = op.fn(gg, *ours)
    ref = (op.torch_fn or op.fn)(torch, *theirs)
    assert tuple(out.shape) == tuple(ref.shape), f"{op.name}: shape {out.shape} vs {ref.shape}"
    np.testing.assert_allclose(_np(out), _np(ref), rtol=op.rtol, atol=op.atol, err_msg=op.name)
    if not ref.requires_grad:
        return
    v = np.random.default_rng(0).standard_normal(tuple(ref.shape))
    out.backward(gg.tensor(v, dtype=np.float64))
    ref.backward(torch.tensor(v))
    for i, (a, b) in enumerate(zip(_float_inputs(ours), _float_inputs(theirs))):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad._data), f"{op.name}: input {i}"
            continue
        assert a.grad is not None, f"{op.name}: no gradient for input {i}"
        np.testing.assert_allclose(
            a.grad._data,
            b.grad.numpy(),
            rtol=op.rtol,
            atol=op.atol,
            err_msg=f"{op.name}: gradient of input {i}",
        )


@pytest.mark.parametrize("op", ALL, ids=lambda o: o.name)
@settings(max_examples=4)
@given(data=st.data())
def test_gradcheck(op: OpInfo, data) -> None:
    if "nondiff" in op.tags:
        return  # evaluated exactly at a kink on purpose; the torch comparison covers it
    args = op.sample(data.draw)
    ours = _convert(gg, args, np.float64)
    before = [a._data.copy() for a in _float_inputs(ours)]
    assert gg.autograd.gradcheck(lambda *xs: op.fn(gg, *xs), ours, atol=1e-5, rtol=1e-4)
    if op.gradgrad:
        assert gg.autograd.gradgradcheck(lambda *xs: op.fn(gg, *xs), ours, atol=1e-5, rtol=1e-4)
    for a, b in zip(_float_inputs(ours), before):
        np.testing.assert_array_equal(a._data, b, err_msg=f"{op.name} mutated an input")


@pytest.mark.parametrize("op", ALL, ids=lambda o: o.name)
@settings(max_examples=3)
@given(data=st.data())
def test_float32_in_float32_out(op: OpInfo, data) -> None:
    args = op.sample(data.draw)
    ours = _convert(gg, args, np.float32)
    out = op.fn(gg, *ours)
    if not out.dtype.is_floating_point:
        return
    if "cast" not in op.tags:  # a cast picks its own output dtype; its gradients stay float32
        assert out.dtype == np.float32, f"{op.name} returned {out.dtype} for float32 inputs"
    if out.requires_grad:
        out.backward(gg.ones_like(out))
        for i, a in enumerate(_float_inputs(ours)):
            assert a.grad is None or a.grad.dtype == np.float32, f"{op.name}: grad {i} dtype"


def _rerun_graph(out):
    """``out``'s value rebuilt from its leaves by running every node's forward again
    (``Node.rerun``, what the backward-pass page shows values with), inputs first."""
    values = {}
    for node in topological_order([out.grad_fn]):
        inputs = [
            e._data if isinstance(e, gg.Tensor) else values[id(e)]
            for e in node.edges
            if e is not None
        ]
        values[id(node)] = node.rerun(inputs)
        assert values[id(node)] is not None, f"{node.name()} cannot run again"
    return values[id(out.grad_fn)]


@pytest.mark.parametrize("op", [o for o in ALL if o.check_torch], ids=lambda o: o.name)
@settings(max_examples=3)
@given(data=st.data())
def test_every_node_runs_its_forward_again(op: OpInfo, data) -> None:
    args = op.sample(data.draw)
    out = op.fn(gg, *_convert(gg, args, np.float64))
    if out.grad_fn is None:
        return
    np.testing.assert_array_equal(_rerun_graph(out), _np(out), err_msg=op.name)
