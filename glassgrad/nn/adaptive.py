"""``AdaptiveLogSoftmaxWithLoss``: the softmax of many classes split into a frequent head and
rarer tail clusters (Grave et al., "Efficient softmax approximation for GPUs").

The head scores the ``cutoffs[0]`` most frequent classes and one logit per cluster; a class in
cluster i has log-probability ``head[shortlist + i] + log_softmax(tail_i(x))[class - cutoff]``.
Each tail is a projection to ``in_features // div_value**(i + 1)`` features and then to the
cluster's size, as in PyTorch, so state dicts move between the two unchanged.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from glassgrad.creation import tensor, zeros
from glassgrad.nn import functional as F
from glassgrad.nn.container import ModuleList, Sequential
from glassgrad.nn.linear import Linear
from glassgrad.nn.module import Module
from glassgrad.ops.joining import cat
from glassgrad.tensor import Tensor

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax: ``forward(input, target)`` gives (target log-probabilities, mean NLL)."""

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs: Sequence[int],
        div_value: float = 4.0,
        head_bias: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (
            (cutoffs != sorted(cutoffs))
            or (min(cutoffs) <= 0)
            or (max(cutoffs) > (n_classes - 1))
            or (len(set(cutoffs)) != len(cutoffs))
            or any(int(c) != c for c in cutoffs)
        ):
            raise ValueError(
                "cutoffs should be a sequence of unique, positive integers sorted in an "
                "increasing order, where each value is between 1 and n_classes-1"
            )
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(self.in_features, self.head_size, bias=self.head_bias, **factory_kwargs)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(self.in_features // (self.div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(
                Sequential(
                    Linear(self.in_features, hsz, bias=False, **factory_kwargs),
                    Linear(hsz, osz, bias=False, **factory_kwargs),
                )
            )

    def reset_parameters(self) -> None:
        """Re-initialise the head and every tail projection as at construction."""
        self.head.reset_parameters()
        for projection in self.tail.children():
            for layer in projection.children():
                layer.reset_parameters()  # type: ignore[operator]

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        """(log-probability of each target (N,) or (), mean negative log-likelihood)."""
        targ_dim = target_.dim()
        if targ_dim == 1:
            if input_.size(0) != target_.size(0):
                raise RuntimeError(
                    "Input and target should have the same size in the batch dimension."
                )
            if input_.dim() != 2:
                raise RuntimeError(
                    "1D target tensor expects 2D input tensors, but found inputs with size "
                    f"{input_.size()}"
                )
        elif targ_dim == 0:
            if input_.dim() != 1:
                raise RuntimeError(
                    f"0D target tensor expects 1D input tensors, but found inputs with size "
                    f"{input_.size()}"
                )
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = targ_dim > 0
        input = input_ if batched else input_.unsqueeze(0)
        tg = np.asarray(target_._data).reshape(-1).astype(np.int64)
        if tg.size and (tg.min() < 0 or tg.max() >= self.n_classes):
            raise RuntimeError(
                f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                f"[{tg.min()}, {tg.max()}] were found. "
            )
        gather_inds = tg.copy()
        output = zeros(tg.shape[0], dtype=input.dtype)
        bounds = [0, *self.cutoffs]
        for i in range(1, len(bounds) - 1):
            rows = np.nonzero((tg >= bounds[i]) & (tg < bounds[i + 1]))[0]
            if rows.size == 0:
                continue
            gather_inds[rows] = self.shortlist_size + i - 1
            cluster = F.log_softmax(self.tail[i - 1](input[tensor(rows)]), dim=1)
            local = cluster.gather(1, tensor(tg[rows] - bounds[i]).unsqueeze(1)).squeeze(1)
            output = output.index_copy(0, tensor(rows), local)
        head_logprob = F.log_softmax(self.head(input), dim=1)
        output = output + head_logprob.gather(1, tensor(gather_inds).unsqueeze(1)).squeeze(1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """log-probabilities of all n_classes from the input and the head's output."""
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, dim=1)

    def log_prob(self, input: Tensor) -> Tensor:
        """Log-probabilities (N, n_classes) of every class."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most probable class of each row (N,): ``log_prob(input).argmax(1)``, cheaper."""
        head_output = self.head(input)
        output = head_output.argmax(dim=1)
        outside = np.asarray(output._data) >= self.shortlist_size
        if not outside.any():
            return output
        rows = tensor(np.nonzero(outside)[0])
        log_prob = self._get_full_log_prob(input[rows], head_output[rows])
        out = output._data.copy()
        out[outside] = np.asarray(log_prob.argmax(dim=1)._data)
        return tensor(out)
