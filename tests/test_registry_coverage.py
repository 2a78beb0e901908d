"""Every differentiable op the package declares has at least one entry in the swept registry.

The list of ops comes from the declarations themselves (``glassgrad/ops/registry.py``): declaring
an op and forgetting its ``tests/opinfo/`` entry fails here, so one op is one declaration plus one
sample entry. Ops declared ``differentiable=False`` (comparisons, argmax, int casts) need none.
"""

from __future__ import annotations

import pytest

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.ops.registry import OPS
from tests.opinfo import ALL

NAMES = {op.name for op in ALL}
DIFFERENTIABLE = sorted(name for name, decl in OPS.items() if decl.differentiable)
# The core promise of the first release; still checked by name so none can be undeclared.
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


def _covered(name: str) -> bool:
    return any(n == name or n.startswith(name + "_") for n in NAMES)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_declared_op_is_in_the_registry(name) -> None:
    decl = OPS[name]
    assert _covered(name) or any(_covered(a) for a in decl.aliases), (
        f"{name} (declared in {decl.module}) has no OpInfo entry in tests/opinfo/"
    )


@pytest.mark.parametrize(
    "module,name",
    [(m, n) for m, names in PROMISED.items() for n in names.split()],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_promised_op_is_declared(module, name) -> None:
    assert callable(getattr(module, name)), f"{module.__name__}.{name} is missing"
    assert name in OPS or any(name in d.aliases for d in OPS.values()), f"{name} is not declared"
