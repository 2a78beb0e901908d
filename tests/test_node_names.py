"""Every recorded node is named as PyTorch names it for the same expression.

``grad_fn.name()`` is what ``explain``, the DOT/SVG graph and the HTML page show, so for every
entry of the op registry (tests/opinfo) the result's node name must equal PyTorch's. The only
exceptions are listed in ``DECOMPOSED``: ops whose last PyTorch node is an artifact of how its
C++ code decomposes them into internal kernels (a reshape after a batched mm, an in-place copy
into a slice...), which a NumPy library has no reason to copy.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import glassgrad as gg
import glassgrad.nn.functional as F
from tests.opinfo import ALL, OpInfo
from tests.test_ops_sweep import _convert

_BATCHED_MM = "batched products: PyTorch folds the batch into an mm and unfolds it with a view"
_ONE_D_POOL = "PyTorch runs 1-d pooling as 2-d pooling between unsqueeze and squeeze"
_TENSORDOT = "PyTorch computes it as permute/reshape around an mm, ending in a view"
_EINSUM = "PyTorch's einsum ends in whatever reshape/permute/mul/sum its contraction plan needs"
_COPY_SLICES = "PyTorch writes into a slice in place (CopySlices)"
_QUANTILE = "PyTorch sorts, gathers, lerps and squeezes in place (SqueezeBackward4); here one node"
_SCALAR_OVERLOAD = "PyTorch's C++ composite ends in the Scalar overload (MulBackward1/DivBackward1)"

_LU = "LU here is partial pivoting's row order, then Doolittle's recurrences in Tensor ops (Cat)"
_LU_SOLVE = "two triangular solves on the LU factors here, one LinalgLuSolveBackward0 in PyTorch"

DECOMPOSED: dict[str, str] = {
    "linalg_lu_factor": _LU,
    "linalg_lu_factor_ex": _LU,
    "linalg_lu_solve": _LU_SOLVE,
    "lu_solve": _LU_SOLVE,
    "cholesky_inverse": "cholesky_solve against the identity here (CholeskySolveBackward0)",
    "cholesky_inverse_upper": "cholesky_solve against the identity here (CholeskySolveBackward0)",
    "linalg_tensorinv": "PyTorch's reshape of the inverse is a ReshapeAlias; here a view",
    "linalg_householder_product": "the reflections applied one by one in Tensor ops (Sub last)",
    "orgqr": "the reflections applied one by one in Tensor ops (Sub last)",
    # matmul of batches or of a vector and a batch: UnsafeView/Squeeze(4)/Transpose/Clone last
    "matmul_1d_2d": "1-d @ 2-d: PyTorch unsqueezes, runs mm and squeezes (SqueezeBackward4)",
    "matmul_1d_4d": _BATCHED_MM,
    "matmul_1d_batched": _BATCHED_MM,
    "matmul_2d_batched": _BATCHED_MM + " (or transposes the result of a folded mm)",
    "matmul_batched_1d": _BATCHED_MM,
    "matmul_batched_2d": _BATCHED_MM,
    "matmul_batched_batched": _BATCHED_MM,
    "matmul_broadcast_batch": _BATCHED_MM,
    "matmul_operator": _BATCHED_MM,
    "matmul_random_batches": _BATCHED_MM,
    "linear_1d": "a vector input: PyTorch unsqueezes, runs mm and squeezes (SqueezeBackward4)",
    "linear_1d_bias": "a vector input: PyTorch's addmm result is viewed back as a vector",
    "linear_3d": _BATCHED_MM,
    "linear_3d_bias": _BATCHED_MM,
    "scaled_dot_product_attention": "PyTorch's fused attention kernel, or its matmul decomposition",
    "inner": _TENSORDOT,
    "tensordot_int0": _TENSORDOT,
    "tensordot_int1": _TENSORDOT,
    "tensordot_int2": _TENSORDOT,
    "tensordot_lists": _TENSORDOT,
    "tensordot_lists_unsorted": _TENSORDOT,
    "tensordot_negative": _TENSORDOT,
    # 1-d pools and unbatched conv go through their 2-d kernels
    "avg_pool1d": _ONE_D_POOL,
    "max_pool1d": _ONE_D_POOL,
    "max_pool1d_with_indices": _ONE_D_POOL,
    "max_unpool1d": "PyTorch runs 1-d max-unpooling as 2-d between unsqueeze and squeeze",
    "adaptive_avg_pool1d": _ONE_D_POOL,
    "conv2d_unbatched": "PyTorch unsqueezes an unbatched input and squeezes the result",
    # composites whose last step is an internal kernel
    "cross_entropy_probs": "the last step is the internal Scalar overload DivBackward1",
    "cross_entropy_probs_smoothing": "the last step is the internal Scalar overload DivBackward1",
    "cross_entropy_spatial": (
        "nll_loss of (N, C, L) with reduction='none' runs nll_loss2d and views its result back "
        "(the other cases are NllLoss2DBackward0 here too: test_spatial_and_padding_names)"
    ),
    "pad_modes": (
        "circular padding is CopySlices (reflect/replicate match: test_spatial_and_padding_names)"
    ),
    "chain_matmul": "PyTorch runs linalg.multi_dot, which views its last mm's result back",
    "special_ndtr": "PyTorch's C++ composite (1 + erf(x / sqrt 2)) * 0.5 ends in MulBackward1",
    "quantile": _QUANTILE,
    "nanquantile": _QUANTILE,
    "nanquantile_finite": _QUANTILE,
    "quantile_ties": _QUANTILE,
    "aminmax_min": "PyTorch's one two-output AminmaxBackward0; here amin and amax nodes",
    "aminmax_max": "PyTorch's one two-output AminmaxBackward0; here amin and amax nodes",
    "trapezoid": _SCALAR_OVERLOAD,
    "trapezoid_dx": _SCALAR_OVERLOAD,
    "trapz_alias": _SCALAR_OVERLOAD,
    "trapezoid_x": _SCALAR_OVERLOAD,
    "cumulative_trapezoid_x": _SCALAR_OVERLOAD,
    "setitem_basic": _COPY_SLICES,
    "setitem_int_array": _COPY_SLICES,
}
DECOMPOSED.update({op.name: _EINSUM for op in ALL if op.name.startswith("einsum_")})


def _name(t) -> str | None:
    return t.grad_fn.name() if t.grad_fn is not None else None


def test_decomposed_lists_only_registry_entries() -> None:
    names = {op.name for op in ALL if op.check_torch}
    assert set(DECOMPOSED) <= names, sorted(set(DECOMPOSED) - names)


@pytest.mark.parametrize(
    "op", [o for o in ALL if o.check_torch and o.name not in DECOMPOSED], ids=lambda o: o.name
)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_node_name_matches_torch(op: OpInfo, data) -> None:
    args = op.sample(data.draw)
    out = op.fn(gg, *_convert(gg, args, np.float64))
    ref = (op.torch_fn or op.fn)(torch, *_convert(torch, args, np.float64))
    assert _name(out) == _name(ref), f"{op.name}: {_name(out)} vs PyTorch's {_name(ref)}"


def _same(expr) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    ours = expr(gg, F, gg.tensor(x, requires_grad=True))
    theirs = expr(torch, torch.nn.functional, torch.tensor(x, requires_grad=True))
    assert _name(ours) == _name(theirs)


@pytest.mark.parametrize(
    "expr",
    [
        lambda lib, f, x: f.cross_entropy(x, lib.tensor(np.zeros((2, 4, 5), np.int64))),
        lambda lib, f, x: f.nll_loss(
            x, lib.tensor(np.zeros((2, 4, 5), np.int64)), reduction="none"
        ),
        lambda lib, f, x: f.nll_loss(x[0], lib.tensor(np.zeros((3, 5), np.int64)), reduction="sum"),
        lambda lib, f, x: f.pad(x[0], (1, 2), mode="reflect"),
        lambda lib, f, x: f.pad(x, (1, 2, 0, 1), mode="reflect"),
        lambda lib, f, x: f.pad(x, (1, 2, 0, 1), mode="replicate"),
        lambda lib, f, x: f.pad(x, (1, 2, 0, 1, 1, 0), mode="replicate"),
        lambda lib, f, x: f.pad(x[0], (0, 0), mode="replicate"),
        lambda lib, f, x: f.pad(x, (1, 2)),
        lambda lib, f, x: f.adaptive_avg_pool2d(x, 1),
        lambda lib, f, x: f.adaptive_avg_pool2d(x, (3, 2)),
        lambda lib, f, x: f.adaptive_avg_pool2d(x, (2, 5)),
        lambda lib, f, x: x.sum(),
        lambda lib, f, x: x.sum(dim=None),
        lambda lib, f, x: x.mean((0, 1)),
    ],
)
def test_spatial_and_padding_names(expr) -> None:
    _same(expr)


@pytest.mark.parametrize(
    "expr",
    [
        lambda x: x.reshape(6, 20),
        lambda x: x.transpose(0, 1).reshape(3, 2, 20),  # a view of strided memory
        lambda x: x.transpose(0, 1).reshape(-1),  # a copy
        lambda x: x.flatten(),
        lambda x: x.flatten(1, 1),
        lambda x: x.ravel(),
        lambda x: x[0, 0].t(),
        lambda x: x[0, 0, 0].t(),
        lambda x: x.mT,
        lambda x: x.expand(2, 3, 4, 5),
        lambda x: x[:, :],
        lambda x: x[:],
        lambda x: x[0, 1:],
        lambda x: x[1:, 0],
        lambda x: x[None, 0],
        lambda x: x[0, None],
        lambda x: x[..., ::2],
        lambda x: x[0, True],
        lambda x: x.narrow(0, 0, 2),
        lambda x: x.squeeze(),
        lambda x: x[:, :1].squeeze(1),
        lambda x: x[:, :1].squeeze((1,)),
        lambda x: x[0, 0].unsqueeze(0),
        lambda x: x.sum(0).max(),
        lambda x: x[0, 0, 0].outer(x[0, 0, 0]),
        lambda x: x[0, 0] @ x[0, 0, 0],
        lambda x: x[0, 0, 0] @ x[0, 0, 0],
        lambda x: x[0, 0, 0].vdot(x[0, 0, 0]),
        lambda x: x[0, 0, 0].cumsum(0),
    ],
)
def test_shape_and_indexing_names(expr) -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    ours = expr(gg.tensor(x, requires_grad=True))
    theirs = expr(torch.tensor(x, requires_grad=True))
    assert _name(ours) == _name(theirs)


def test_saved_values_by_pytorchs_names_as_the_autograd_notes_show_them():
    import torch

    def saved(lib):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=lib.float64, requires_grad=True)
        y = x.exp()
        m = x.unsqueeze(0).mm(w)
        p = x.pow(2)
        return {
            "pow_self_is_x": p.grad_fn._saved_self is x,
            "exponent": p.grad_fn._saved_exponent,
            "result_equal": bool(y.grad_fn._saved_result.equal(y)),
            "result_is_y": y.grad_fn._saved_result is y,
            "result_node": y.grad_fn._saved_result.grad_fn.name(),
            "mul": [t is x for t in ((x * w[:, 0]).grad_fn._saved_self,)],
            "mat2_is_w": m.grad_fn._saved_mat2 is w,
            "tanh": x.tanh().grad_fn._saved_result.tolist(),
        }

    assert saved(gg) == saved(torch)
    x = gg.ones(2, requires_grad=True)
    with pytest.raises(AttributeError, match="ExpBackward0 saved no 'self': it has _saved_result"):
        x.exp().grad_fn._saved_self  # noqa: B018
    y = x.exp()
    y.sum().backward()
    with pytest.raises(RuntimeError, match=r"_saved_result after .* freed .* retain_graph=True"):
        y.grad_fn._saved_result  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        y.grad_fn.missing  # noqa: B018
