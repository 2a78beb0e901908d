"""glassgrad explain: a whitelist parser, every chain-rule step printed, gradients as torch's."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from glassgrad.explain import ExplainError, explain, main, parse_bindings


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_notes_example_prints_each_chain_rule_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "(x + y) * z", "--at", "x=-2", "y=5", "z=-4")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "f = (x + y) * z   at x = -2, y = 5, z = -4"
    assert "  q = x + y = 3" in lines
    assert "  f = q * z = -12" in lines
    # the multiplication node: the output's local derivatives are z and q
    i = lines.index("step 1  f = q * z  [MulBackward0]")
    assert lines[i + 1 : i + 4] == [
        "  arriving:  df/df = 1",
        "  to q:      df/dq = -4    df/df * df/dq = 1 * (-4) = -4",
        "  to z:      df/dz = 3     df/df * df/dz = 1 * 3 = 3",
    ]
    # the addition node: dq/dx = 1, df/dq = -4, and their product -4
    i = lines.index("step 2  q = x + y  [AddBackward0]")
    assert lines[i + 1 : i + 4] == [
        "  arriving:  df/dq = -4",
        "  to x:      dq/dx = 1    df/dq * dq/dx = -4 * 1 = -4",
        "  to y:      dq/dy = 1    df/dq * dq/dy = -4 * 1 = -4",
    ]
    assert lines[-3:] == [
        "  df/dx = -4    x.grad = -4",
        "  df/dy = -4    y.grad = -4",
        "  df/dz = 3     z.grad = 3",
    ]


def test_paths_meet_and_the_sums_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "x * y + x", "--at", "x=3", "y=4")
    assert code == 0
    assert "  df/dx = 1 + 4 = 5   (2 paths meet)    x.grad = 5" in out.splitlines()
    code, out, _ = _run(capsys, "q = x * x; f = q * q", "--at", "x=0.5")
    lines = out.splitlines()
    assert lines[0] == "q = x * x; f = q * q   at x = 0.5"
    assert (
        "  arriving:           df/dq = 0.25 + 0.25 = 0.5   (2 paths meet: their gradients add)"
        in lines
    )
    assert "  to x (argument 1):  dq/dx = 0.5    df/dq * dq/dx = 0.5 * 0.5 = 0.25" in lines


T = torch
EXPRESSIONS = [  # the expression, its inputs, and the same function written in torch (the oracle)
    ("a * b + c / d", {"a": 2.0, "b": -3.0, "c": 10.0, "d": 4.0}, lambda a, b, c, d: a * b + c / d),
    (
        "sigmoid(w * x + b) ** 2 - log(x) + exp(-b)",
        {"w": 0.7, "x": 1.5, "b": -0.2},
        lambda w, x, b: T.sigmoid(w * x + b) ** 2 - T.log(x) + T.exp(-b),
    ),
    (
        "tanh(x) * sin(y) + cos(x) / sqrt(y) + abs(-x) + relu(y - 3)",
        {"x": 0.3, "y": 4.0},
        lambda x, y: T.tanh(x) * T.sin(y) + T.cos(x) / T.sqrt(y) + T.abs(-x) + T.relu(y - 3),
    ),
    (
        "max(x, y) + min(x, y) * 2",
        {"x": 1.25, "y": -0.5},
        lambda x, y: T.maximum(x, y) + T.minimum(x, y) * 2,
    ),
    (
        "sum(v * v) + mean(exp(v)) + max(v) * w",
        {"v": [1.0, -2.0, 0.5], "w": 3.0},
        lambda v, w: T.sum(v * v) + T.mean(T.exp(v)) + v.max() * w,
    ),
    (
        "dot(u, v) + sum(u) / 2",
        {"u": [1.0, 2.0], "v": [3.0, -1.0]},
        lambda u, v: T.dot(u, v) + T.sum(u) / 2,
    ),
]


@pytest.mark.parametrize("source,at,oracle", EXPRESSIONS)
def test_gradients_match_torch(source: str, at: dict, oracle: Any) -> None:
    w, lines, grads = explain(source, at)
    inputs = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in at.items()}
    value = oracle(**inputs)
    value.backward()
    assert float(np.asarray(w.items[w.output].value)) == pytest.approx(value.item(), rel=1e-12)
    for k, t in inputs.items():
        np.testing.assert_allclose(grads[k], t.grad.numpy(), rtol=1e-12, atol=1e-15)
        idx = next(i for i, it in enumerate(w.items) if it.label == k)
        np.testing.assert_allclose(w.grads[idx], t.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert any(line.startswith("step 1 ") for line in lines)


def test_scalar_steps_are_exact_products() -> None:
    w, _, _ = explain("sigmoid(w * x + b) * x", {"w": 0.7, "x": 1.5, "b": -0.2})
    for v in w.visits:
        for t in v.terms:
            assert t.elementwise
            assert float(t.product) == pytest.approx(float(v.incoming) * float(t.local), rel=1e-14)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["x + w", "--at", "x=1"], "unknown name 'w' (give it a value with --at w=...)"),
        (["foo(x)", "--at", "x=1"], "unknown function 'foo'"),
        (["__import__('os')", "--at", "x=1"], "unknown function '__import__'"),
        (["x.__class__", "--at", "x=1"], "unsupported syntax (Attribute): 'x.__class__'"),
        (["x[0]", "--at", "x=[1,2]"], "unsupported syntax (Subscript)"),
        (["(lambda: x)()", "--at", "x=1"], "only calls of the listed functions are allowed"),
        (["x if x else x", "--at", "x=1"], "unsupported syntax (IfExp)"),
        (["'a' * x", "--at", "x=1"], "only numbers are allowed as constants"),
        (["x +", "--at", "x=1"], "cannot parse the expression"),
        (["exp(x, x)", "--at", "x=1"], "exp() takes 1 argument(s), got 2"),
        (["x * 2", "--at", "x=abc"], "the value must be a number or a list of numbers"),
        (["x * 2", "--at", "x"], "expected NAME=VALUE"),
        (["x * 2", "--at", "x=[1,[2]]"], "ragged"),
        (["2 * 3", "--at", "x=1"], "does not depend on any input"),
        (["x * 2", "--at", "x=[1,2]"], "wrap it in sum(...) or mean(...)"),
        (["import os", "--at", "x=1"], "unsupported statement"),
        (["x = 2", "--at", "x=1"], "cannot assign to 'x'"),
        (["x * 2", "--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("glassgrad explain: error: ")
    assert message in err


def test_no_eval_anywhere() -> None:
    source = (Path(__file__).parent.parent / "glassgrad" / "explain.py").read_text()
    assert "eval(" not in source.replace("self.eval(", "").replace("def eval(", "")
    assert "exec(" not in source


def test_bindings_accept_numbers_and_lists() -> None:
    got = parse_bindings(["a=2", "b=-3", "c=1e-3", "v=[1, -2.5, 3]", "m=[[1,2],[3,4]]"])
    assert got == {"a": 2.0, "b": -3.0, "c": 0.001, "v": [1.0, -2.5, 3.0], "m": [[1, 2], [3, 4]]}
    with pytest.raises(ExplainError, match="given twice"):
        parse_bindings(["a=1", "a=2"])


def test_writes_html_and_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page, picture = tmp_path / "f.html", tmp_path / "f.svg"
    code, out, _ = _run(
        capsys,
        "(x + y) * z",
        "--at",
        "x=-2",
        "y=5",
        "z=-4",
        "--html",
        str(page),
        "--svg",
        str(picture),
    )
    assert code == 0 and f"wrote {page}" in out and f"wrote {picture}" in out
    assert page.read_text().startswith("<!DOCTYPE html>")
    text = picture.read_text()
    assert text.startswith("<?xml") and "<svg" in text and "grad -4" in text
    code, _, err = _run(capsys, "x * 2", "--at", "x=1", "--html", str(tmp_path / "no" / "a.html"))
    assert code == 1 and "cannot write" in err


def test_nan_values_are_shown_not_hidden() -> None:
    _, lines, grads = explain("log(x)", {"x": -1.0})
    assert "  f = log(x) = nan" in lines
    assert math.isnan(float(grads["x"])) is False  # d log(x)/dx = 1/x is finite even here


def test_the_glassgrad_command_runs_explain(capsys) -> None:
    from glassgrad.__main__ import main as cli

    assert cli(["explain", "(x+y)*z", "--at", "x=-2", "y=5", "z=-4"]) == 0
    out = capsys.readouterr().out
    assert "dq/dx = 1    df/dq * dq/dx = -4 * 1 = -4" in out
    assert cli(["explain", "open('x')", "--at", "x=1"]) == 2
