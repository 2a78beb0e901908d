"""Every differentiable op the core promises has at least one entry in the swept registry."""

from __future__ import annotations

import pytest

import glassgrad as gg
import glassgrad.nn.functional as F
from tests.opinfo import ALL

PROMISED = {
    gg: """add sub mul div neg pow reciprocal abs sign sqrt rsqrt exp log log1p expm1 log2 log10
        sin cos tan tanh sigmoid relu maximum minimum clamp clip where floor ceil round erf
        sum mean prod amax amin max min var std logsumexp norm cumsum cumprod
        matmul mm bmm mv dot outer einsum tensordot transpose
        reshape flatten unflatten squeeze unsqueeze permute broadcast_to tile flip roll
        cat stack split chunk unbind narrow gather scatter scatter_add index_select
        masked_fill take_along_dim""",
    F: """linear leaky_relu elu gelu silu softplus softmax log_softmax dropout embedding
        layer_norm batch_norm conv1d conv2d max_pool2d avg_pool2d adaptive_avg_pool2d
        scaled_dot_product_attention cross_entropy nll_loss mse_loss l1_loss huber_loss
        binary_cross_entropy binary_cross_entropy_with_logits pad""",
}
TENSOR_METHODS = "view expand expand_as repeat contiguous T mT getitem".split()
NAMES = {op.name for op in ALL}


def _covered(name: str) -> bool:
    return any(n == name or n.startswith(name + "_") for n in NAMES)


@pytest.mark.parametrize(
    "module,name",
    [(m, n) for m, names in PROMISED.items() for n in names.split()],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_op_exists_and_is_in_the_registry(module, name) -> None:
    assert callable(getattr(module, name)), f"{module.__name__}.{name} is missing"
    assert _covered(name), f"{name} has no OpInfo entry in tests/opinfo/"


@pytest.mark.parametrize("name", TENSOR_METHODS)
def test_tensor_method_is_in_the_registry(name) -> None:
    attr = "__getitem__" if name == "getitem" else name
    assert hasattr(gg.Tensor, attr)
    assert _covered(name)
