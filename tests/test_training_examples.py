"""The generality examples: digits MLP and CNN, a character transformer, a physical model fit."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import glassgrad as gg

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_digits_mlp_example_learns(capsys) -> None:
    r = load("digits_mlp").main(epochs=3)
    assert r["test_accuracy"] > 0.9
    assert "epoch  3" in capsys.readouterr().out


def test_digits_cnn_example_learns() -> None:
    r = load("digits_cnn").main(epochs=2)
    assert r["test_accuracy"] > 0.85


# ---- the character transformer -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ct():
    return load("char_transformer")


def test_corpus_round_trips_and_its_baseline_is_the_unigram_entropy(ct) -> None:
    corpus = ct.Corpus(ct.TEXT.read_text(encoding="utf-8"))
    assert corpus.decode(corpus.encode("Tyger Tyger")) == "Tyger Tyger"
    counts = np.bincount(corpus.train, minlength=corpus.vocab) + 1.0
    p = counts / counts.sum()
    entropy = float(-(p * np.log(p)).sum())
    # validation text is drawn from (nearly) the same distribution: cross-entropy ~ entropy
    assert abs(corpus.unigram_baseline() - entropy) < 0.15
    assert 2.5 < corpus.unigram_baseline() < math.log(corpus.vocab)


def test_attention_is_causal(ct) -> None:
    """Changing the last character changes no earlier position's prediction."""
    model = ct.CharTransformer(vocab=20, context=12, dim=16, heads=2, layers=2)
    idx = gg.randint(0, 20, (2, 12))
    changed = idx.clone()
    changed[:, -1] = (idx[:, -1] + 1) % 20
    with gg.no_grad():
        a, b = model(idx).numpy(), model(changed).numpy()
    np.testing.assert_allclose(a[:, :-1], b[:, :-1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[:, -1], b[:, -1])


def _torch_forward(state: dict, idx: np.ndarray, heads: int, layers: int) -> np.ndarray:
    """The same transformer written directly with torch's functional ops, from the state dict."""
    F = torch.nn.functional
    w = {k: torch.tensor(np.asarray(v)) for k, v in state.items()}
    t = torch.tensor(idx)
    T = t.shape[1]
    x = w["tok.weight"][t] + w["pos.weight"][:T]
    B, _, C = x.shape
    for i in range(layers):
        p = f"blocks.{i}."
        h = F.layer_norm(x, (C,), w[p + "ln1.weight"], w[p + "ln1.bias"])
        q, k, v = F.linear(h, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"]).split(C, dim=2)
        q, k, v = (z.view(B, T, heads, C // heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)
        x = x + F.linear(y, w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])
        h = F.layer_norm(x, (C,), w[p + "ln2.weight"], w[p + "ln2.bias"])
        h = F.gelu(F.linear(h, w[p + "mlp.0.weight"], w[p + "mlp.0.bias"]))
        x = x + F.linear(h, w[p + "mlp.2.weight"], w[p + "mlp.2.bias"])
    x = F.layer_norm(x, (C,), w["ln.weight"], w["ln.bias"])
    return F.linear(x, w["head.weight"], w["head.bias"]).numpy()


def test_transformer_matches_the_same_model_in_pytorch(ct) -> None:
    model = ct.CharTransformer(vocab=30, context=10, dim=24, heads=3, layers=2).to(gg.float64)
    idx = np.random.default_rng(0).integers(0, 30, (3, 10))
    with gg.no_grad():
        ours = model(gg.tensor(idx)).numpy()
    theirs = _torch_forward(model.state_dict(), idx, heads=3, layers=2)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_transformer_smoke_run_learns_and_samples(ct, capsys) -> None:
    r = ct.train(
        steps=12,
        batch=8,
        context=24,
        dim=24,
        heads=2,
        layers=1,
        lr=1e-2,
        log_every=6,
        sample_chars=40,
    )
    losses = r["losses"]
    vocab = len(set(ct.TEXT.read_text(encoding="utf-8")))
    assert abs(losses[0] - math.log(vocab)) < 0.5  # starts near uniform guessing
    assert np.mean(losses[-3:]) < losses[0] - 0.5  # and learns fast (character frequencies)
    assert r["sample"].startswith("The ") and len(r["sample"]) == 4 + 40
    assert "unigram baseline" in capsys.readouterr().out


# ---- the physical model --------------------------------------------------------------------------


def test_damped_oscillator_fit_recovers_the_parameters() -> None:
    mod = load("fit_physical_model")
    r = mod.main(steps=1500)
    for name, true in mod.TRUE.items():
        est, err = r["estimate"][name], r["stderr"][name]
        assert 0 < err < 0.05, name
        assert abs(est - true) < 5 * err, (name, est, true, err)
    assert r["losses"][-1] < 0.05 * r["losses"][0]
    assert abs(r["noise_std"] - 0.1) < 0.02  # the residuals are the noise we added


def test_the_hessian_standard_errors_agree_with_the_jacobian_formula() -> None:
    """cov = sigma^2 (J^T J)^-1, with J the residuals' Jacobian from PyTorch."""
    mod = load("fit_physical_model")
    t, x = mod.make_data()
    r = mod.fit(t, x, steps=1500)
    theta = torch.tensor([r["estimate"][n] for n in mod.NAMES], dtype=torch.float64)
    tt, xx = torch.tensor(t), torch.tensor(x)

    def residuals(p):
        return p[0] * torch.exp(-p[1] * tt) * torch.cos(p[2] * tt + p[3]) - xx

    J = torch.autograd.functional.jacobian(residuals, theta).numpy()
    res = residuals(theta).numpy()
    sigma2 = float(res @ res) / (len(t) - 4)
    stderr = np.sqrt(np.diag(sigma2 * np.linalg.inv(J.T @ J)))
    ours = np.array([r["stderr"][n] for n in mod.NAMES])
    np.testing.assert_allclose(ours, stderr, rtol=0.05)  # Hessian ~ 2 J^T J / n near the optimum
