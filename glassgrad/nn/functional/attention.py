"""Scaled dot-product attention, composed from matmul, softmax and dropout (PyTorch's math path)."""

from __future__ import annotations

import math

import numpy as np

from glassgrad import dtypes
from glassgrad._errors import ArgumentAssertionError
from glassgrad.nn.functional.activation import softmax
from glassgrad.nn.functional.norm import dropout
from glassgrad.ops._common import Tensor, as_tensor
from glassgrad.ops.linalg import linear
from glassgrad.ops.registry import functional


def _repeat_heads(t: Tensor, r: int) -> Tensor:
    """(..., H, S, D) -> (..., H * r, S, D), each head repeated r times (repeat_interleave)."""
    shape = tuple(t.shape)
    e = t.unsqueeze(-3).expand(*shape[:-2], r, *shape[-2:])
    return e.reshape(*shape[:-3], shape[-3] * r, *shape[-2:])


@functional
def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(q kᵀ * scale + mask) v over the last two dims, batch dims broadcast.

    A bool ``attn_mask`` says which positions take part (True) and a float one is added to the
    scores; ``is_causal`` lets query i see keys 0..i. Rows where every key is masked give zeros
    (not NaN), as in PyTorch. ``scale`` defaults to 1 / sqrt(embedding dim).

    >>> import glassgrad as gg
    >>> import glassgrad.nn.functional as F
    >>> q = k = v = gg.ones(1, 2, 4)
    >>> F.scaled_dot_product_attention(q, k, v).shape
    torch.Size([1, 2, 4])
    """
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError(
            "scaled_dot_product_attention: Expected query, key, and value to all be at least 2 "
            f"dimensional, but got query.dim: {q.ndim} key.dim: {k.ndim} and value.dim: "
            f"{v.ndim} instead."
        )
    if not q._data.dtype == k._data.dtype == v._data.dtype or q._data.dtype.kind != "f":
        raise RuntimeError(
            "scaled_dot_product_attention: Expected query, key, and value to have the same "
            f"floating-point dtype, but got query.dtype: {dtypes.name(q.dtype)} key.dtype: "
            f"{dtypes.name(k.dtype)} and value.dtype: {dtypes.name(v.dtype)} instead."
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(
            "scaled_dot_product_attention: shapes don't fit: query (..., L, E) "
            f"{tuple(q.shape)}, key (..., S, E) {tuple(k.shape)}, value (..., S, Ev) "
            f"{tuple(v.shape)}"
        )
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"
        )
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        hq, hk = q.shape[-3], k.shape[-3]
        if hq % hk or hq % v.shape[-3]:
            raise RuntimeError(
                f"scaled_dot_product_attention: with enable_gqa the number of query heads "
                f"({hq}) must be a multiple of the key/value heads ({hk}, {v.shape[-3]})"
            )
        k, v = _repeat_heads(k, hq // hk), _repeat_heads(v, hq // v.shape[-3])
    L, S = q.shape[-2], k.shape[-2]
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q @ k.transpose(-2, -1)) * factor

    # masks become an additive bias of the scores' dtype: 0 where a key takes part, -inf elsewhere
    dt = scores._data.dtype
    if is_causal:
        scores = scores + np.where(np.tri(L, S, dtype=bool), 0.0, -np.inf).astype(dt)
    elif attn_mask is not None:
        m = attn_mask._data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if m.dtype == np.bool_:
            scores = scores + np.where(m, 0.0, -np.inf).astype(dt)
        elif m.dtype == dt:
            scores = scores + attn_mask
        else:
            raise RuntimeError(
                "scaled_dot_product_attention: Expected attn_mask dtype to be bool or float or "
                f"to match query dtype, but got attn_mask.dtype: {dtypes.name(m.dtype)} and "
                f"query.dtype: {dtypes.name(q.dtype)} instead."
            )

    # Rows with no key left would be NaN; PyTorch returns zeros there (its "safe softmax").
    dead = np.all(scores._data == -np.inf, axis=-1, keepdims=True)
    if dead.any():
        from glassgrad.ops.comparison import where

        scores = where(dead, np.zeros((), dt), scores)
        attn = softmax(scores, -1) * (~dead).astype(dt)
    else:
        attn = softmax(scores, -1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return attn @ v


# ---- multi-head attention: nn.MultiheadAttention's computation, and F's function of it ---------


@functional
def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """``nn.MultiheadAttention``'s computation with its weights passed in (CLIP's attention
    pooling calls it with separate q/k/v projections): query (L, N, E), key and value (S, N, E),
    or unbatched (L, E); returns the (L, N, E) output and the head-averaged weights."""
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ArgumentAssertionError(
            "multi_head_attention_forward: query, key and value must all be 2-D (unbatched) or "
            f"3-D (batched), got shapes {tuple(query.shape)}, {tuple(key.shape)}, "
            f"{tuple(value.shape)}"
        )
    E = query.shape[-1]
    if embed_dim_to_check != E:
        raise ArgumentAssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {E}"
        )
    if num_heads <= 0 or E % num_heads:
        raise ArgumentAssertionError(
            f"multi_head_attention_forward: embed_dim {E} not divisible by num_heads {num_heads}"
        )
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint (is_causal only says that "
            "attn_mask is causal)"
        )
    if static_k is not None or static_v is not None:
        raise NotImplementedError(
            "multi_head_attention_forward: static_k and static_v are not supported"
        )
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ArgumentAssertionError(
                "use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                "v_proj_weight is None"
            )
        weights_qkv = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if in_proj_weight is None:
            raise ArgumentAssertionError(
                "use_separate_proj_weight is False but in_proj_weight is None"
            )
        weights_qkv = (in_proj_weight[:E], in_proj_weight[E : 2 * E], in_proj_weight[2 * E :])
    b = in_proj_bias
    biases = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
    batched = query.ndim == 3
    if batched:  # (L, N, E) -> (N, L, E)
        query, key, value = (t.transpose(0, 1) for t in (query, key, value))
    else:
        query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.reshape(1, -1)
    from glassgrad.nn.attention import _attend  # (the module's computation; nn imports F)

    out, weights = _attend(
        query,
        key,
        value,
        num_heads,
        weights_qkv,
        biases,
        (bias_k, bias_v),
        add_zero_attn,
        dropout_p if training else 0.0,
        None,
        key_padding_mask,
        need_weights,
        attn_mask,
        average_attn_weights,
    )
    # PyTorch projects the (L * N, E) rows and views them as (L, N, E): the same last node
    L, N = out.shape[1], out.shape[0]
    out = linear(out.transpose(0, 1).reshape(L * N, E), out_proj_weight, out_proj_bias)
    out = out.view(L, N, out.shape[-1])
    if batched:
        return out, weights
    return out.squeeze(1), None if weights is None else weights.squeeze(0)
