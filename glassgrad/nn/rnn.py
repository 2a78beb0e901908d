"""Recurrent layers: ``RNN LSTM GRU`` and the single-step ``RNNCell LSTMCell GRUCell``.

Parameters, their names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ``weight_hr_l0``), shapes,
order and initialisation (U(-1/√hidden_size, 1/√hidden_size)) are PyTorch's, so state dicts
move between the two libraries. The layers take (L, N, H_in) input (or (N, L, H_in) with
``batch_first``, or unbatched (L, H_in)) or a ``PackedSequence``.

Each layer and direction computes its input projection for all time steps in one product; the
recurrence then runs one fused node per time step (``glassgrad/nn/functional/rnn.py``).

>>> import glassgrad as gg
>>> lstm = LSTM(4, 8, num_layers=2)
>>> out, (h, c) = lstm(gg.randn(5, 3, 4))
>>> out.shape, h.shape, c.shape
(torch.Size([5, 3, 8]), torch.Size([2, 3, 8]), torch.Size([2, 3, 8]))
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from glassgrad import dtypes
from glassgrad.nn import functional as F
from glassgrad.nn import init
from glassgrad.nn.functional.rnn import _input_projection, lstm_step, rnn_step
from glassgrad.nn.linear import empty_parameter
from glassgrad.nn.module import Module, Parameter
from glassgrad.nn.utils.rnn import PackedSequence
from glassgrad.ops.joining import cat, stack
from glassgrad.tensor import Tensor

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _zeros(shape: tuple[int, ...], dtype: np.dtype) -> Tensor:
    return Tensor._make(np.zeros(shape, dtype))


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and direction, the checks,
    and the loop over layers, directions and time steps."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1  # type: ignore[operator]
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                "element being zeroed"
            )
        if dropout > 0 and num_layers == 1:  # type: ignore[operator]
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                stacklevel=2,
            )
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(
                f"batch_first should be of type bool, got: {type(batch_first).__name__}"
            )
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size

        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes: list[tuple[str, tuple[int, ...]]] = [
                    ("weight_ih_l{}{}", (gate_size, layer_input_size)),
                    ("weight_hh_l{}{}", (gate_size, real_hidden_size)),
                ]
                if bias:
                    shapes += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr_l{}{}", (proj_size, hidden_size))]
                names = []
                for fmt, shape in shapes:
                    name = fmt.format(layer, suffix)
                    setattr(self, name, empty_parameter(shape, dtype, device))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op (PyTorch packs the weights for cuDNN here)."""

    @property
    def _flat_weights(self) -> list[Parameter | None]:
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- forward --------------------------------------------------------------------------------

    def _state_sizes(self) -> tuple[int, int]:
        """(size of h, size of c): the projection size for h when there is one."""
        return (self.proj_size or self.hidden_size), self.hidden_size

    def forward(self, input: Any, hx: Any = None) -> Any:
        is_lstm = self.mode == "LSTM"
        name = "LSTM" if is_lstm else type(self).__name__
        D = 2 if self.bidirectional else 1
        packed = isinstance(input, PackedSequence)
        w0 = getattr(self, self._flat_weights_names[0])
        if packed:
            data, bs_t, sorted_indices, unsorted_indices = input
            batch_sizes = [int(b) for b in bs_t._data]
            x = data
            batch = batch_sizes[0]
            if x.ndim != 2:
                raise RuntimeError(f"input must have 2 dimensions, got {x.ndim}")
            batched = True
        else:
            if not isinstance(input, Tensor):
                raise TypeError(
                    f"{name}: expected a Tensor or a PackedSequence as input, got "
                    f"{type(input).__name__}"
                )
            if input.ndim not in (2, 3):
                raise ValueError(
                    f"{name}: Expected input to be 2D or 3D, got {input.ndim}D "
                    + ("instead" if is_lstm else "tensor instead")
                )
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = x.transpose(0, 1)
            sorted_indices = unsorted_indices = None
            T, batch = x.shape[0], x.shape[1]
            batch_sizes = [batch] * T
        if x._data.dtype != w0._data.dtype:
            raise ValueError(
                f"RNN input dtype ({dtypes.name(x.dtype)}) does not match weight dtype "
                f"({dtypes.name(w0.dtype)}). Convert input: input.to({dtypes.name(w0.dtype)}), "
                f"or convert model: model.to({dtypes.name(x.dtype)})"
            )
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{x.shape[-1]}"
            )
        hs, cs = self._state_sizes()
        h0, c0 = self._initial_states(hx, batched, packed, batch, D, hs, cs, x._data.dtype)
        if sorted_indices is not None:
            h0 = h0.index_select(1, sorted_indices)
            c0 = None if c0 is None else c0.index_select(1, sorted_indices)

        # run the layers over the packed rows (time-major; padded input: all B rows each step)
        layer_in = x if packed else x.reshape(-1, x.shape[-1])
        p = self.dropout if self.training else 0.0
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                names = self._all_weights[k]
                out, hl, cl = self._direction(
                    layer_in, names, batch_sizes, h0[k], None if c0 is None else c0[k], d == 1
                )
                outs.append(out)
                h_n.append(hl)
                if cl is not None:
                    c_n.append(cl)
            layer_in = outs[0] if D == 1 else cat(outs, 1)
            if p > 0 and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, p, True)

        h = stack(h_n)
        c = stack(c_n) if is_lstm else None
        if unsorted_indices is not None:
            h = h.index_select(1, unsorted_indices)
            c = None if c is None else c.index_select(1, unsorted_indices)
        if packed:
            output: Any = PackedSequence(layer_in, bs_t, sorted_indices, unsorted_indices)
        else:
            output = layer_in.reshape(x.shape[0], batch, -1)
            if not batched:
                output = output.squeeze(1)
                h = h.squeeze(1)
                c = None if c is None else c.squeeze(1)
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, ((h, c) if is_lstm else h)

    def _initial_states(
        self,
        hx: Any,
        batched: bool,
        packed: bool,
        batch: int,
        D: int,
        hs: int,
        cs: int,
        dtype: np.dtype,
    ) -> tuple[Tensor, Tensor | None]:
        is_lstm = self.mode == "LSTM"
        L = self.num_layers * D
        if hx is None:
            return _zeros((L, batch, hs), dtype), (
                _zeros((L, batch, cs), dtype) if is_lstm else None
            )
        if is_lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0)")
            h0, c0 = hx
            if not packed:
                dims = 3 if batched else 2
                if h0.ndim != dims or c0.ndim != dims:
                    kind = "batched 3-D" if batched else "unbatched 2-D"
                    raise RuntimeError(
                        f"For {kind} input, hx and cx should also be {dims}-D but got "
                        f"({h0.ndim}-D, {c0.ndim}-D) tensors"
                    )
            if not batched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            self._check_hidden(h0, (L, batch, hs), "Expected hidden[0] size {}, got {}")
            self._check_hidden(c0, (L, batch, cs), "Expected hidden[1] size {}, got {}")
            return h0, c0
        if not isinstance(hx, Tensor):
            raise TypeError(f"{type(self).__name__}: hx must be a Tensor, got {type(hx).__name__}")
        if not packed:
            if batched and hx.ndim != 3:
                raise RuntimeError(
                    f"For batched 3-D input, hx should also be 3-D but got {hx.ndim}-D tensor"
                )
            if not batched and hx.ndim != 2:
                raise RuntimeError(
                    f"For unbatched 2-D input, hx should also be 2-D but got {hx.ndim}-D tensor"
                )
        if not batched:
            hx = hx.unsqueeze(1)
        self._check_hidden(hx, (L, batch, hs), "Expected hidden size {}, got {}")
        return hx, None

    @staticmethod
    def _check_hidden(h: Tensor, expected: tuple[int, int, int], msg: str) -> None:
        if tuple(h.shape) != expected:
            raise RuntimeError(msg.format(expected, list(h.shape)))

    def _direction(
        self,
        x: Tensor,
        names: list[str],
        batch_sizes: list[int],
        h: Tensor,
        c: Tensor | None,
        reverse: bool,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """One layer in one direction over packed rows ``x`` (sum(batch_sizes), features):
        returns (output rows, h at each sequence's last step, c likewise or None)."""
        w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
        b_ih = getattr(self, names[2]) if self.bias else None
        b_hh = getattr(self, names[3]) if self.bias else None
        w_hr = getattr(self, names[-1]) if self.proj_size > 0 else None
        xw = _input_projection(x, w_ih, b_ih)
        offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).tolist()
        T = len(batch_sizes)
        uniform = batch_sizes[0] == batch_sizes[-1]
        steps = range(T - 1, -1, -1) if reverse else range(T)
        outs: list[Tensor | None] = [None] * T
        finished_h: list[Tensor] = []  # forward: rows whose sequence ended, largest index first
        finished_c: list[Tensor] = []
        h_all, c_all = h, c
        if not uniform:
            n = batch_sizes[-1] if reverse else batch_sizes[0]
            h = h[:n]
            c = None if c is None else c[:n]
        for t in steps:
            bs = batch_sizes[t]
            if not uniform:
                rows = h.shape[0]
                if bs < rows:  # forward: sequences ending before step t keep their state
                    finished_h.append(h[bs:])
                    h = h[:bs]
                    if c is not None:
                        finished_c.append(c[bs:])
                        c = c[:bs]
                elif bs > rows:  # reverse: sequences starting at step t join with h0
                    h = cat([h, h_all[rows:bs]])
                    if c is not None and c_all is not None:
                        c = cat([c, c_all[rows:bs]])
            xt = xw[offsets[t] : offsets[t + 1]]
            if c is not None:
                h, c = lstm_step(xt, h, c, w_hh, b_hh)
                if w_hr is not None:
                    h = F.linear(h, w_hr)
            else:
                h = rnn_step(self.mode, xt, h, w_hh, b_hh)
            outs[t] = h
        out = cat(outs)  # type: ignore[arg-type]
        if finished_h:
            h = cat([h, *finished_h[::-1]])
            if c is not None:
                c = cat([c, *finished_c[::-1]])
        return out, h, c


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) (or relu), stacked
    ``num_layers`` deep; returns ``(output, h_n)``.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o; c_t = f c_{t-1} + i g, h_t = o tanh(c_t)
    (times ``weight_hr`` when ``proj_size > 0``); returns ``(output, (h_n, c_n))``.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0)``
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = σ(...), n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)),
    h_t = (1 - z) n + z h_{t-1}; returns ``(output, h_n)``.

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---- cells --------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """Parameters of one cell: ``weight_ih`` (chunks·H, H_in), ``weight_hh`` (chunks·H, H) and
    the two biases, all U(-1/√H, 1/√H)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = empty_parameter((num_chunks * hidden_size, input_size), dtype, device)
        self.weight_hh = empty_parameter((num_chunks * hidden_size, hidden_size), dtype, device)
        if bias:
            self.bias_ih = empty_parameter((num_chunks * hidden_size,), dtype, device)
            self.bias_hh = empty_parameter((num_chunks * hidden_size,), dtype, device)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = self.__dict__.get("nonlinearity")
        if nl is not None and nl != "tanh":
            s += f", nonlinearity={nl}"
        return s

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input: Tensor, hx: Any, name: str) -> tuple[Tensor, bool]:
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        return (input if input.ndim == 2 else input.unsqueeze(0)), input.ndim == 2


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, batched = self._prepare(input, hx, "RNNCell")
        if hx is not None and hx.ndim not in (1, 2):
            raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {hx.ndim}D instead")
        if hx is None:
            h = _zeros((x.shape[0], self.hidden_size), x._data.dtype)
        else:
            h = hx if batched else hx.unsqueeze(0)
        args = (x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        out = _cell("RNNCell", "RNN_" + self.nonlinearity.upper(), *args)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: ``(h', c')`` from ``(h, c)`` (zeros when ``hx`` is None)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:
        x, batched = self._prepare(input, hx, "LSTMCell")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.ndim not in (1, 2):
                    raise ValueError(
                        f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got {value.ndim}D instead"
                    )
        if hx is None:
            zeros = _zeros((x.shape[0], self.hidden_size), x._data.dtype)
            h, c = zeros, zeros
        else:
            h, c = hx if batched else (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        _check_batch("LSTMCell", x, h)
        xw = _input_projection(x, self.weight_ih, self.bias_ih)
        h, c = lstm_step(xw, h, c, self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: h' = (1 - z) n + z h."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, batched = self._prepare(input, hx, "GRUCell")
        if hx is not None and hx.ndim not in (1, 2):
            raise ValueError(f"GRUCell: Expected hidden to be 1D or 2D, got {hx.ndim}D instead")
        if hx is None:
            h = _zeros((x.shape[0], self.hidden_size), x._data.dtype)
        else:
            h = hx if batched else hx.unsqueeze(0)
        out = _cell(
            "GRUCell", "GRU", x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        )
        return out if batched else out.squeeze(0)


def _check_batch(name: str, x: Tensor, h: Tensor) -> None:
    if x.shape[0] != h.shape[0]:
        raise RuntimeError(
            f"{name}: Input batch size {x.shape[0]} doesn't match hidden batch size {h.shape[0]}"
        )
    if x.dtype != h.dtype:
        raise RuntimeError(
            f"{name}: input dtype {dtypes.name(x.dtype)} and hidden dtype "
            f"{dtypes.name(h.dtype)} differ"
        )


def _cell(
    name: str,
    kind: str,
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
) -> Tensor:
    _check_batch(name, x, h)
    return rnn_step(kind, _input_projection(x, w_ih, b_ih), h, w_hh, b_hh)
