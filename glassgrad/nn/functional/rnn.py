"""Recurrent cells: ``rnn_tanh_cell rnn_relu_cell lstm_cell gru_cell`` (``torch.lstm_cell`` & co.).

Each time step of an RNN, LSTM or GRU is one fused node: the hidden-to-hidden product, the
gates and the new state in one forward, and one hand-derived backward. Composed from ops, an
LSTM step is about 17 nodes (matmul, add, four slices, three sigmoids, two tanhs, products) that
keep about twice as many arrays for backward. bench/lstm_step.py times both (``COMPOSED = True``
switches the layers to the composed form): the fused step is 0-10% faster (the most at small
hidden sizes); at the word-LM sizes the time goes to the matrix products and to the per-step
slices of the input projection, whose gradients are full-size arrays.

The nodes take the input projection ``xw = x W_ihᵀ + b_ih`` already computed: the layers
compute it for all time steps in one product, and the cells here with one ``linear``. Their
backward rules keep the gate activations of the forward for a plain backward, and recompute
them from the saved inputs (with NumPy functions, which run as glassgrad ops on Tensors) under
``create_graph``, so second derivatives hold.

>>> import glassgrad as gg
>>> x, h, c = gg.ones(2, 3), gg.zeros(2, 4), gg.zeros(2, 4)
>>> h1, c1 = gg.lstm_cell(x, (h, c), gg.ones(16, 3) * 0.1, gg.ones(16, 4) * 0.1)
>>> h1.shape, c1.shape
(torch.Size([2, 4]), torch.Size([2, 4]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassgrad.ops._common import Node, Tensor, as_tensor
from glassgrad.ops.elementwise import sigmoid_array
from glassgrad.ops.linalg import Addmm, LinearMm
from glassgrad.ops.registry import TORCH, op

COMPOSED = False  # True: run the layers' time steps as composed ops (for the benchmark)


def _hidden_product(h: Any, w: Any, b: Any) -> Any:
    out = h @ w.T
    return out if b is None else out + b


def _bias_grad(g: Any) -> Any:
    return np.sum(g, axis=0)


class RnnTanhCell(Node):
    """h' = tanh(xw + h W_hhᵀ + b_hh); the rule needs only the output."""

    __slots__ = ()
    op_name = "Tanh"  # PyTorch's composite cell ends in tanh

    @staticmethod
    def forward(ctx: Any, xw: Any, h: Any, w: Any, b: Any) -> Any:
        pre = xw + h @ w.T
        if b is not None:
            pre += b
        out = np.tanh(pre)
        ctx.save_for_backward(h, w, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        h, w, y = ctx.saved_tensors
        d = g * (1 - y * y)
        return _step_grads(ctx, d, d, h, w)


class RnnReluCell(Node):
    """h' = relu(xw + h W_hhᵀ + b_hh)."""

    __slots__ = ()
    op_name = "Relu"

    @staticmethod
    def forward(ctx: Any, xw: Any, h: Any, w: Any, b: Any) -> Any:
        pre = xw + h @ w.T
        if b is not None:
            pre += b
        out = np.maximum(pre, 0)
        ctx.save_for_backward(h, w, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        h, w, y = ctx.saved_tensors
        d = g * (y > 0)  # a mask: zero derivative, so fine under create_graph
        return _step_grads(ctx, d, d, h, w)


def _step_grads(ctx: Any, dxw: Any, dgh: Any, h: Any, w: Any, dh_direct: Any = None) -> tuple:
    """Gradients of (xw, h, W_hh, b_hh[, extra]) from those of the pre-activations: ``dxw``
    for the input part and ``dgh`` for the hidden product ``h W_hhᵀ + b_hh``."""
    nxw, nh, nw, nb = ctx.next[:4]
    gh = None
    if nh is not None:
        gh = dgh @ w
        if dh_direct is not None:
            gh = gh + dh_direct
    gw = dgh.T @ h if nw is not None else None
    gb = _bias_grad(dgh) if nb is not None else None
    return (dxw if nxw is not None else None), gh, gw, gb


class LstmCell(Node):
    """One LSTM step; the output stacks (h', c') as (2, B, H) (a node has one output)."""

    __slots__ = ("acts",)

    @staticmethod
    def forward(ctx: Any, xw: Any, h: Any, c: Any, w: Any, b: Any) -> Any:
        gates = xw + h @ w.T
        if b is not None:
            gates += b
        H = c.shape[-1]
        ifo = sigmoid_array(np.concatenate([gates[:, : 2 * H], gates[:, 3 * H :]], axis=1))
        i, f, o = ifo[:, :H], ifo[:, H : 2 * H], ifo[:, 2 * H :]
        gg = np.tanh(gates[:, 2 * H : 3 * H])
        out = np.empty((2, *c.shape), c.dtype)
        c2 = out[1]
        np.multiply(f, c, out=c2)
        c2 += i * gg
        tc = np.tanh(c2)
        np.multiply(o, tc, out=out[0])
        ctx.save_for_backward(xw, h, c, w, b)
        ctx.acts = (i, f, gg, o, tc)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        xw, h, c, w, b = ctx.saved_tensors
        if isinstance(g, Tensor):  # create_graph: recompute the gates as functions of inputs
            gates = xw + _hidden_product(h, w, b)
            H = c.shape[-1]
            i = sigmoid_array(gates[:, :H])
            f = sigmoid_array(gates[:, H : 2 * H])
            gg = np.tanh(gates[:, 2 * H : 3 * H])
            o = sigmoid_array(gates[:, 3 * H :])
            tc = np.tanh(f * c + i * gg)
        else:
            i, f, gg, o, tc = ctx.acts
        gh2, gc2 = g[0], g[1]
        gc = gc2 + gh2 * o * (1 - tc * tc)
        d = np.concatenate(
            [
                gc * gg * i * (1 - i),
                gc * c * f * (1 - f),
                gc * i * (1 - gg * gg),
                gh2 * tc * o * (1 - o),
            ],
            axis=1,
        )
        gxw, gh, gw, gb = _step_grads_lstm(ctx, d, h, w)
        return gxw, gh, (gc * f if ctx.next[2] is not None else None), gw, gb


def _step_grads_lstm(ctx: Any, d: Any, h: Any, w: Any) -> tuple:
    nxw, nh, _, nw, nb = ctx.next
    gh = d @ w if nh is not None else None
    gw = d.T @ h if nw is not None else None
    gb = _bias_grad(d) if nb is not None else None
    return (d if nxw is not None else None), gh, gw, gb


class GruCell(Node):
    """One GRU step: r, z = σ(...), n = tanh(xw_n + r (h W_hnᵀ + b_hn)), h' = n + z (h - n)."""

    __slots__ = ("acts",)
    op_name = "Add"  # PyTorch's composite cell ends in an add

    @staticmethod
    def forward(ctx: Any, xw: Any, h: Any, w: Any, b: Any) -> Any:
        gh = h @ w.T
        if b is not None:
            gh += b
        H = h.shape[-1]
        rz = sigmoid_array(xw[:, : 2 * H] + gh[:, : 2 * H])
        r, z = rz[:, :H], rz[:, H:]
        ghn = gh[:, 2 * H :]
        n = np.tanh(xw[:, 2 * H :] + r * ghn)
        out = h - n
        out *= z
        out += n
        ctx.save_for_backward(xw, h, w, b)
        ctx.acts = (r, z, n, ghn)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        xw, h, w, b = ctx.saved_tensors
        H = h.shape[-1]
        if isinstance(g, Tensor):
            gh = _hidden_product(h, w, b)
            r = sigmoid_array(xw[:, :H] + gh[:, :H])
            z = sigmoid_array(xw[:, H : 2 * H] + gh[:, H : 2 * H])
            ghn = gh[:, 2 * H :]
            n = np.tanh(xw[:, 2 * H :] + r * ghn)
        else:
            r, z, n, ghn = ctx.acts
        dn = g * (1 - z) * (1 - n * n)
        dr = dn * ghn * r * (1 - r)
        dz = g * (h - n) * z * (1 - z)
        dxw = np.concatenate([dr, dz, dn], axis=1)
        dgh = np.concatenate([dr, dz, dn * r], axis=1)
        return _step_grads(ctx, dxw, dgh, h, w, g * z)


def _input_projection(x: Any, w_ih: Any, b_ih: Any) -> Any:
    return (LinearMm if b_ih is None else Addmm).apply(x, w_ih, b_ih)


def _check_cell(name: str, input: Any, hx: Any, w_ih: Any, w_hh: Any, chunks: int) -> None:
    if input.ndim != 2 or hx.ndim != 2:
        raise RuntimeError(
            f"{name}: expected a 2-D input (batch, input_size) and a 2-D hidden state (batch, "
            f"hidden_size), got shapes {tuple(input.shape)} and {tuple(hx.shape)}"
        )
    H = hx.shape[1]
    if tuple(w_ih.shape) != (chunks * H, input.shape[1]) or tuple(w_hh.shape) != (chunks * H, H):
        raise RuntimeError(
            f"{name}: weights of shapes {tuple(w_ih.shape)} and {tuple(w_hh.shape)} do not fit "
            f"an input of shape {tuple(input.shape)} and a hidden state of shape "
            f"{tuple(hx.shape)} (expected {(chunks * H, input.shape[1])} and {(chunks * H, H)})"
        )
    if input.shape[0] != hx.shape[0]:
        raise RuntimeError(
            f"{name}: Input batch size {input.shape[0]} doesn't match hidden batch size "
            f"{hx.shape[0]}"
        )


def rnn_step(kind: str, xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """One RNN_TANH / RNN_RELU / GRU step from the projected input ``xw``."""
    if COMPOSED:
        return _composed_step(kind, xw, h, w_hh, b_hh)
    node = {"RNN_TANH": RnnTanhCell, "RNN_RELU": RnnReluCell, "GRU": GruCell}[kind]
    return node.apply(xw, h, w_hh, b_hh)


def lstm_step(
    xw: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor | None
) -> tuple[Tensor, Tensor]:
    """One LSTM step from the projected input ``xw``: (h', c') before any projection."""
    if COMPOSED:
        return _composed_lstm(xw, h, c, w_hh, b_hh)
    out = LstmCell.apply(xw, h, c, w_hh, b_hh)
    return out[0], out[1]


def _composed_step(kind: str, xw: Tensor, h: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    from glassgrad.ops.linalg import linear

    gh = linear(h, w, b)
    if kind == "RNN_TANH":
        return (xw + gh).tanh()
    if kind == "RNN_RELU":
        return (xw + gh).relu()
    xr, xz, xn = xw.chunk(3, 1)
    hr, hz, hn = gh.chunk(3, 1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)


def _composed_lstm(
    xw: Tensor, h: Tensor, c: Tensor, w: Tensor, b: Tensor | None
) -> tuple[Tensor, Tensor]:
    from glassgrad.ops.linalg import linear

    i, f, g, o = (xw + linear(h, w, b)).chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


@op(method=False, namespaces=(TORCH,))
def rnn_tanh_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One Elman RNN step, h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), on 2-D (batch, size)."""
    x, h = as_tensor(input), as_tensor(hx)
    _check_cell("rnn_tanh_cell", x, h, w_ih, w_hh, 1)
    return rnn_step("RNN_TANH", _input_projection(x, w_ih, b_ih), h, w_hh, b_hh)


@op(method=False, namespaces=(TORCH,))
def rnn_relu_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One Elman RNN step with ReLU, h' = relu(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)."""
    x, h = as_tensor(input), as_tensor(hx)
    _check_cell("rnn_relu_cell", x, h, w_ih, w_hh, 1)
    return rnn_step("RNN_RELU", _input_projection(x, w_ih, b_ih), h, w_hh, b_hh)


@op(method=False, namespaces=(TORCH,))
def gru_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One GRU step (gates r, z, n stacked in that order in the weights, as in PyTorch)."""
    x, h = as_tensor(input), as_tensor(hx)
    _check_cell("gru_cell", x, h, w_ih, w_hh, 3)
    return rnn_step("GRU", _input_projection(x, w_ih, b_ih), h, w_hh, b_hh)


@op(method=False, namespaces=(TORCH,))
def lstm_cell(
    input: Tensor,
    hx: Any,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step: ``(h', c')`` from ``hx = (h, c)`` (gates i, f, g, o in the weights)."""
    x = as_tensor(input)
    h, c = (as_tensor(t) for t in hx)
    _check_cell("lstm_cell", x, h, w_ih, w_hh, 4)
    if tuple(c.shape) != tuple(h.shape):
        raise RuntimeError(
            f"lstm_cell: h and c must have the same shape, got {tuple(h.shape)} and "
            f"{tuple(c.shape)}"
        )
    return lstm_step(_input_projection(x, w_ih, b_ih), h, c, w_hh, b_hh)
