"""``MultiheadAttention`` with PyTorch's parameters, masks and outputs.

Parameters are laid out as in PyTorch (``in_proj_weight`` (3E, E) and ``in_proj_bias``, or
``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when kdim/vdim differ from E, and an
``out_proj`` Linear), so a PyTorch state dict loads unchanged.

>>> import glassgrad as gg
>>> mha = MultiheadAttention(8, 2, batch_first=True)
>>> x = gg.randn(3, 5, 8)
>>> out, weights = mha(x, x, x)
>>> out.shape, weights.shape
(torch.Size([3, 5, 8]), torch.Size([3, 5, 5]))
"""

from __future__ import annotations

import contextlib
import enum
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from glassgrad._errors import ArgumentAssertionError
from glassgrad.nn import functional as F
from glassgrad.nn import init
from glassgrad.nn.linear import Linear, empty_parameter
from glassgrad.nn.module import Module
from glassgrad.ops.joining import cat
from glassgrad.tensor import Tensor

__all__ = [
    "MultiheadAttention",
    "NonDynamicallyQuantizableLinear",
]  # (and ``SDPBackend``, ``sdpa_kernel``: ``torch.nn.attention``'s own, not ``torch.nn``'s)


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` under the name PyTorch gives MultiheadAttention's ``out_proj``."""


def _float_mask(name: str, mask: Any, dtype: np.dtype) -> np.ndarray | None:
    """A bool mask (True = may NOT attend) as an additive 0 / -inf array; a float one as is."""
    if mask is None:
        return None
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype == np.bool_:
        return np.where(m, -np.inf, 0.0).astype(dtype)
    if m.dtype.kind != "f":
        raise ArgumentAssertionError(
            f"only bool and floating types of {name} are supported, got {m.dtype}"
        )
    return m.astype(dtype, copy=False)


def _attend(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    num_heads: int,
    weights_qkv: tuple[Any, Any, Any],
    biases_qkv: tuple[Any, Any, Any],
    bias_kv: tuple[Any, Any],
    add_zero_attn: bool,
    p: float,
    out_proj: tuple[Any, Any] | None,
    key_padding_mask: Any,
    need_weights: bool,
    attn_mask: Any,
    average_attn_weights: bool,
) -> tuple[Tensor, Tensor | None]:
    """Attention of batch-first (N, L, E) queries over (N, S, E) keys and values: the
    projections, the masks (additive, of shape (N, H, L, S) or broadcastable), the heads and the
    output projection (``out_proj`` None: the heads merged, unprojected); returns (N, L, E) and
    the weights (None unless ``need_weights``)."""
    N, L, E = query.shape
    H = num_heads
    D = E // H
    dt = query._data.dtype
    (wq, wk, wv), (bq, bk, bv) = weights_qkv, biases_qkv
    q, k, v = F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)
    bias_k, bias_v = bias_kv
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.expand(N, 1, E)], 1)
        v = cat([v, bias_v.expand(N, 1, E)], 1)
    S0 = key.shape[1]
    extra = k.shape[1] - S0 + int(add_zero_attn)

    # one additive mask of shape (N, H, L, S) (or broadcastable to it)
    mask = _float_mask("attn_mask", attn_mask, dt)
    if mask is not None:
        if mask.ndim == 2:
            if mask.shape != (L, S0):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {mask.shape}, but should be {(L, S0)}."
                )
            mask = mask[None, None]
        elif mask.ndim == 3:
            if mask.shape != (N * H, L, S0):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {mask.shape}, but should be "
                    f"{(N * H, L, S0)}."
                )
            mask = mask.reshape(N, H, L, S0)
        else:
            raise RuntimeError(f"attn_mask's dimension {mask.ndim} is not supported")
    kpm = _float_mask("key_padding_mask", key_padding_mask, dt)
    if kpm is not None:
        if kpm.shape != (N, S0):
            raise ArgumentAssertionError(
                f"expecting key_padding_mask shape of {(N, S0)}, but got {kpm.shape}"
            )
        kpm = kpm[:, None, None, :]
        mask = kpm if mask is None else mask + kpm
    if mask is not None and extra:
        pad = [(0, 0)] * (mask.ndim - 1) + [(0, extra)]
        mask = np.pad(mask, pad)

    q = q.reshape(N, L, H, D).transpose(1, 2)
    k = k.reshape(N, -1, H, D).transpose(1, 2)
    v = v.reshape(N, -1, H, D).transpose(1, 2)
    if add_zero_attn:
        zeros = Tensor._make(np.zeros((N, H, 1, D), dt))
        k, v = cat([k, zeros], 2), cat([v, zeros], 2)
    weights = None
    if need_weights:  # PyTorch's explicit path (fully masked rows give NaN there too)
        scores = (q * math.sqrt(1.0 / D)) @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores + mask
        attn = F.softmax(scores, -1)
        if p > 0.0:
            attn = F.dropout(attn, p)
        out = attn @ v
        weights = attn.mean(1) if average_attn_weights else attn
    else:
        m = None if mask is None else Tensor._make(mask)
        out = F.scaled_dot_product_attention(q, k, v, m, p)
    merged = out.transpose(1, 2).reshape(N, L, E)
    return (merged if out_proj is None else F.linear(merged, *out_proj)), weights


class MultiheadAttention(Module):
    """Attention of queries over keys/values with ``num_heads`` heads of size E / num_heads.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``; inputs are
    (L, N, E), or (N, L, E) with ``batch_first=True``, or unbatched (L, E). In ``attn_mask`` and
    ``key_padding_mask`` a True entry marks a position that may NOT be attended to.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                f"num_heads={num_heads} instead"
            )
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise ArgumentAssertionError(
                f"embed_dim must be divisible by num_heads (embed_dim={embed_dim}, "
                f"num_heads={num_heads})"
            )
        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty_parameter((3 * embed_dim, embed_dim), dtype, device)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = empty_parameter((embed_dim, embed_dim), dtype, device)
            self.k_proj_weight = empty_parameter((embed_dim, self.kdim), dtype, device)
            self.v_proj_weight = empty_parameter((embed_dim, self.vdim), dtype, device)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty_parameter((3 * embed_dim,), dtype, device)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(
            embed_dim, embed_dim, bias=bias, device=device, dtype=dtype
        )
        if add_bias_kv:
            self.bias_k = empty_parameter((1, 1, embed_dim), dtype, device)
            self.bias_v = empty_parameter((1, 1, embed_dim), dtype, device)
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ArgumentAssertionError(
                f"MultiheadAttention: query, key and value must all be 2-D (unbatched) or 3-D "
                f"(batched), got shapes {tuple(query.shape)}, {tuple(key.shape)}, "
                f"{tuple(value.shape)}"
            )
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "Need attn_mask if specifying the is_causal hint (is_causal only says that "
                "attn_mask is causal)"
            )
        batched = query.ndim == 3
        if not batched:  # work on (N=1, L, E)
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.reshape(1, -1)
        elif not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if self.embed_dim != query.shape[-1]:
            raise ArgumentAssertionError(
                f"was expecting embedding dimension of {self.embed_dim}, but got {query.shape[-1]}"
            )
        E, b = self.embed_dim, self.in_proj_bias
        biases = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights_qkv = (w[:E], w[E : 2 * E], w[2 * E :])
        else:
            weights_qkv = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        out, weights = _attend(
            query,
            key,
            value,
            self.num_heads,
            weights_qkv,
            biases,
            (self.bias_k, self.bias_v),
            self.add_zero_attn,
            self.dropout if self.training else 0.0,
            (self.out_proj.weight, self.out_proj.bias),
            key_padding_mask,
            need_weights,
            attn_mask,
            average_attn_weights,
        )
        if not batched:
            out = out.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights


class SDPBackend(enum.IntEnum):
    """The kernels PyTorch's ``scaled_dot_product_attention`` can pick; glassgrad has one, the
    plain ``MATH`` formula (softmax(QK^T / sqrt(d)) V), which every choice computes."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


@contextlib.contextmanager
def sdpa_kernel(backends: Any, set_priority: bool = False) -> Iterator[None]:
    """``with sdpa_kernel(SDPBackend.FLASH_ATTENTION):``: restrict the attention kernels in the
    block. Every backend gives the same numbers as ``MATH``, the one glassgrad runs, so the
    block runs as it is; the argument is checked as PyTorch checks it."""
    chosen = backends if isinstance(backends, (list, tuple)) else [backends]
    for b in chosen:
        if not isinstance(b, SDPBackend):
            raise AssertionError(
                f"sdpa_kernel: backend must be an instance of SDPBackend, got {type(b).__name__}"
            )
    yield
