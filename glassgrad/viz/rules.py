"""Each op's forward expression and local derivative rule, in words and symbols, for the page.

One entry per op family, keyed by the node's name without ``Backward0``: the names of its inputs
(in the node's argument order), the forward expression in those names, the rule in words, and
the rule as formulas in terms of ``g`` (the gradient arriving at the output, dL/dout). Ops not
in the table get a generic description: every backward rule computes a vector-Jacobian product.

>>> rule("TanhBackward0").symbols
'dL/dx = g · (1 − tanh²(x))'
>>> rule("SomeCustomBackward").generic
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Rule", "rule"]


@dataclass(frozen=True)
class Rule:
    """How one op computes forward and sends gradients back."""

    args: tuple[str, ...]  # names of the inputs in the formulas, in argument order
    forward: str  # the output in terms of ``args``
    words: str
    symbols: str
    generic: bool = False  # True: the op is not in the table


def _r(args: str, forward: str, words: str, symbols: str) -> Rule:
    return Rule(tuple(args.split()), forward, words, symbols)


_PASS = "The gradient passes through unchanged, only reshaped back to the input's shape."
_AFFINE = _r(
    "x W b",
    "x · Wᵀ + b",
    "A linear layer: the input's gradient goes back through the weights, the weight's gradient "
    "is the outer product of gradient and input summed over the batch, the bias's the gradient "
    "summed over the batch.",
    "dL/dx = g · W,   dL/dW = gᵀ · x,   dL/db = Σ_batch g",
)
_MATMUL = _r(
    "A B",
    "A · B",
    "A matrix product: each factor's gradient is the incoming gradient times the other factor, "
    "transposed.",
    "dL/dA = g · Bᵀ,   dL/dB = Aᵀ · g",
)

# ---- elementwise arithmetic ---------------------------------------------------------------------
_TABLE: dict[str, Rule] = {
    "Add": _r(
        "x y",
        "x + y",
        "An addition passes the gradient to both inputs unchanged (summed over any broadcast "
        "dimensions): where paths meet in the forward pass, gradients add in the backward pass.",
        "dL/dx = g,   dL/dy = g",
    ),
    "Sub": _r(
        "x y", "x − y", "A subtraction passes g to x and −g to y.", "dL/dx = g,   dL/dy = −g"
    ),
    "Mul": _r(
        "x y",
        "x · y",
        "A product sends each input the incoming gradient times the other input.",
        "dL/dx = g · y,   dL/dy = g · x",
    ),
    "Div": _r(
        "x y",
        "x / y",
        "A quotient: g / y to the numerator, −g · x / y² to the denominator.",
        "dL/dx = g / y,   dL/dy = −g · x / y²",
    ),
    "Neg": _r("x", "−x", "Negation flips the gradient's sign.", "dL/dx = −g"),
    "Pow": _r("x", "xᵖ", "The power rule.", "dL/dx = g · p · xᵖ⁻¹"),
    "Exp": _r("x", "exp(x)", "exp is its own derivative.", "dL/dx = g · exp(x)"),
    "Log": _r("x", "log(x)", "The derivative of log x is 1 / x.", "dL/dx = g / x"),
    "Sqrt": _r("x", "√x", "The derivative of √x is 1 / (2√x).", "dL/dx = g / (2√x)"),
    "Rsqrt": _r("x", "1/√x", "The derivative of x^(−1/2).", "dL/dx = −g / (2 x^(3/2))"),
    "Abs": _r("x", "|x|", "The gradient times the sign of x.", "dL/dx = g · sign(x)"),
    "Clamp": _r(
        "x",
        "clamp(x, lo, hi)",
        "The gradient passes where x was inside the bounds and is blocked where it was clipped.",
        "dL/dx = g · [lo ≤ x ≤ hi]",
    ),
    # ---- activations ----------------------------------------------------------------------------
    "Tanh": _r(
        "x",
        "tanh(x)",
        "The slope of tanh is 1 − tanh²(x): near 1 around 0, near 0 where tanh saturates at ±1, "
        "so saturated units pass almost no gradient.",
        "dL/dx = g · (1 − tanh²(x))",
    ),
    "Sigmoid": _r(
        "x",
        "σ(x)",
        "The slope of the sigmoid is σ(1 − σ), at most 1/4, and near 0 where it saturates.",
        "dL/dx = g · σ(x) · (1 − σ(x))",
    ),
    "Relu": _r(
        "x",
        "max(x, 0)",
        "ReLU passes the gradient where its input was positive and blocks it elsewhere; a unit "
        "that is never positive gets no gradient at all (a dead unit).",
        "dL/dx = g · [x > 0]",
    ),
    "Gelu": _r(
        "x",
        "x · Φ(x)",
        "GELU weighs x by the normal CDF Φ; its slope is Φ(x) + x · φ(x).",
        "dL/dx = g · (Φ(x) + x · φ(x))",
    ),
    "Softmax": _r(
        "x",
        "y = softmax(x)",
        "Softmax couples its inputs: each gets y times its gradient minus the y-weighted mean.",
        "dL/dx = y ⊙ (g − Σ g ⊙ y)",
    ),
    "LogSoftmax": _r(
        "x",
        "log softmax(x)",
        "The gradient minus the softmax probabilities times its sum over the classes.",
        "dL/dx = g − softmax(x) · Σ g",
    ),
    "NllLoss": _r(
        "x",
        "−mean_i x[i, target_i]",
        "The negative log-likelihood picks each row's target log-probability: −g/N goes to "
        "that entry, zero to all the others.",
        "dL/dx[i, target_i] = −g / N,   0 elsewhere",
    ),
    "NativeDropout": _r(
        "x",
        "x · mask / (1 − p)",
        "The same units that were kept pass the gradient, scaled like the forward.",
        "dL/dx = g · mask / (1 − p)",
    ),
    "NativeLayerNorm": _r(
        "x γ β",
        "γ · (x − μ) / σ + β",
        "Layer norm: β gets the summed gradient, γ the gradient times the normalised input x̂; "
        "x gets the gradient with its mean and its projection on x̂ removed, scaled by γ/σ.",
        "dL/dβ = Σ g,   dL/dγ = Σ g · x̂,   dL/dx = γ/σ · (g − mean(g) − x̂ · mean(g · x̂))",
    ),
    "Embedding": _r(
        "W",
        "W[idx]",
        "An embedding looks rows up: each row of the table gets the sum of the gradients of the "
        "positions that looked it up; rows never used get zero.",
        "dL/dW[k] = Σ_{i: idx_i = k} g_i",
    ),
    # ---- linear algebra -------------------------------------------------------------------------
    "Addmm": _AFFINE,
    "Linear": _AFFINE,
    "Mm": _MATMUL,
    "Matmul": _MATMUL,
    "Bmm": _MATMUL,
    # ---- reductions -----------------------------------------------------------------------------
    "Sum": _r("x", "Σ x", "A sum copies the gradient to every element it added.", "dL/dx = g"),
    "Mean": _r("x", "mean(x)", "A mean shares the gradient equally: g / n each.", "dL/dx = g / n"),
    "Max": _r(
        "x", "max(x)", "Only the largest element gets the gradient.", "dL/dx = g · [x = max]"
    ),
    "Amax": _r(
        "x", "max(x)", "Only the largest elements get the gradient.", "dL/dx = g · [x = max]"
    ),
    # ---- moving numbers around ------------------------------------------------------------------
    "View": _r("x", "x.view(shape)", _PASS, "dL/dx = g.view(x.shape)"),
    "Reshape": _r("x", "x.reshape(shape)", _PASS, "dL/dx = g.reshape(x.shape)"),
    "UnsafeView": _r("x", "x.view(shape)", _PASS, "dL/dx = g.view(x.shape)"),
    "Squeeze": _r("x", "x.squeeze()", _PASS, "dL/dx = g.reshape(x.shape)"),
    "Unsqueeze": _r("x", "x.unsqueeze(d)", _PASS, "dL/dx = g.squeeze(d)"),
    "Expand": _r(
        "x",
        "x.expand(shape)",
        "An expanded (repeated) input gets the gradients of all its copies, summed.",
        "dL/dx = Σ over the expanded dimensions of g",
    ),
    "T": _r("x", "xᵀ", "The gradient is transposed back.", "dL/dx = gᵀ"),
    "Transpose": _r("x", "x.transpose(i, j)", "The gradient is transposed back.", "dL/dx = gᵀ"),
    "Permute": _r(
        "x",
        "x.permute(dims)",
        "The gradient's dimensions are put back.",
        "dL/dx = g.permute(dims⁻¹)",
    ),
    "Clone": _r("x", "x.clone()", "A copy passes the gradient unchanged.", "dL/dx = g"),
    "GetItem": _r(
        "x",
        "x[index]",
        "Indexing sends the gradient back to the positions it read; zeros elsewhere.",
        "dL/dx = zeros with g placed at [index]",
    ),
    "Slice": _r(
        "x", "x[a:b]", "The gradient goes back to the slice; zeros elsewhere.", "dL/dx[a:b] = g"
    ),
    "Select": _r(
        "x", "x[i]", "The gradient goes back to the selected row; zeros elsewhere.", "dL/dx[i] = g"
    ),
    "Cat": _r(
        "x y",
        "cat(x, y)",
        "The gradient is cut back into the pieces that were joined.",
        "dL/dx, dL/dy = split(g)",
    ),
    "Split": _r(
        "x", "split(x)", "The pieces' gradients are joined back together.", "dL/dx = cat(g₀, g₁, …)"
    ),
    "MaskedFill": _r(
        "x",
        "x with masked entries set to v",
        "Entries that were overwritten get no gradient; the others pass it unchanged.",
        "dL/dx = g · [not mask]",
    ),
}

_GENERIC_WORDS = (
    "Not in glassgrad's table of explanations: its backward rule turns the gradient of its "
    "output, g, into one gradient per input, the vector-Jacobian product of g with the op's "
    "local derivative."
)


def rule(node_name: str) -> Rule:
    """The explanation for a node named ``node_name`` (``TanhBackward0``), generic if unknown."""
    key = re.sub(r"Backward\d*$", "", node_name)
    found = _TABLE.get(key)
    if found is not None:
        return found
    return Rule(
        ("x",), f"{key.lower() or 'op'}(x, …)", _GENERIC_WORDS, "dL/dx = gᵀ · ∂out/∂x", True
    )
